#pragma once
/// \file
/// Server-side TLS: a hardened `ssl::context` from PEM material (A7, A11, STYLE "Outbound TLS"
/// mirrored for inbound), and a holder that reloads it when the files change.
///
/// Policy: TLS 1.2 and 1.3 only; for 1.2 only ECDHE with AES-GCM or ChaCha20-Poly1305 (forward
/// secrecy and AEAD); OpenSSL's default 1.3 suites; no renegotiation, no compression; ALPN
/// selects "http/1.1" when offered (this server does not speak h2). With a client CA bundle
/// (A1 `clientCAFile`) the handshake requires and verifies a client certificate from it.

#include "common/result.hpp"
#include "common/secret.hpp"

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace stsauth::http {

/// PEM inputs of a server TLS context.
struct tls_material {
    std::string cert_pem;              ///< leaf certificate, optionally followed by its chain
    secret<std::string> key_pem;       ///< private key (PKCS#1, SEC 1 or PKCS#8; not encrypted)
    std::string client_ca_pem;         ///< empty: no client certificates requested
};

/// Where the holder reads tls_material from.
struct tls_files {
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
    std::filesystem::path client_ca_file;  ///< empty: no mTLS
};

/// Builds a server context. Error codes: "bad_certificate", "bad_private_key", "key_mismatch",
/// "bad_client_ca", "tls_error". Messages never contain key material.
result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls_context(const tls_material& material);

/// Reads the files of `files` (client CA only when named). Error code: "io_error".
result<tls_material> load_tls_material(const tls_files& files);

/// Holds the context new connections use, and swaps in a new one when the files change.
/// Thread-safe. A broken or mismatched cert/key is refused: the previous context keeps serving
/// (connections already established keep theirs in any case).
class tls_context_holder {
public:
    /// Loads `files` once; fails as make_server_tls_context / load_tls_material.
    static result<std::shared_ptr<tls_context_holder>> load(tls_files files);
    /// A holder over a fixed context (PEM strings, tests); reload_if_changed() never swaps.
    static std::shared_ptr<tls_context_holder> fixed(std::shared_ptr<boost::asio::ssl::context> ctx);

    /// The context for a new connection.
    std::shared_ptr<boost::asio::ssl::context> current() const;

    /// Rebuilds the context when any file's identity (device, inode, size, mtime) changed since
    /// the last successful load or the last failed attempt (so a broken file is reported once,
    /// not at every poll). Returns true when a new context was swapped in, false when nothing
    /// changed, an error when the new files are unusable (the old context stays).
    /// Call it from a timer or a directory watcher (Kubernetes swaps mounted Secrets through a
    /// `..data` symlink; stat() follows it, so the swap changes the identity).
    result<bool> reload_if_changed();

    /// Unconditional rebuild from the files (error: old context kept).
    status reload();

    tls_context_holder(const tls_context_holder&) = delete;
    tls_context_holder& operator=(const tls_context_holder&) = delete;
    ~tls_context_holder();

private:
    struct file_stamp {
        dev_t dev = 0;
        ino_t ino = 0;
        off_t size = 0;
        long long mtime_ns = 0;
        bool exists = false;
        friend bool operator==(const file_stamp&, const file_stamp&) = default;
    };
    using stamps = std::vector<file_stamp>;

    tls_context_holder() = default;
    stamps stamp_files() const;
    status rebuild(stamps seen);

    tls_files files_;
    bool fixed_ = false;
    mutable std::mutex mu_;
    std::shared_ptr<boost::asio::ssl::context> current_;
    stamps loaded_;
    stamps failed_;
};

}  // namespace stsauth::http
