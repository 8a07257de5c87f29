# The reuse test compares against OpenSSL's one-shot calls (EVP_Digest, EVP_Q_mac) directly.
set(UNIT_LIBS OpenSSL::Crypto Threads::Threads)
