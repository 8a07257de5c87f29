#include "http/certs.hpp"

#include "http/openssl_handles.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

namespace stsauth::http {

namespace {

/// An IP literal in its binary form: 4 bytes for IPv4 (including IPv4-mapped IPv6, as Go's
/// net.IP.To4 does), 16 for IPv6.
struct ip_bytes {
    std::array<unsigned char, 16> bytes{};
    int size = 0;
    friend bool operator==(const ip_bytes& a, const ip_bytes& b) {
        return a.size == b.size && std::memcmp(a.bytes.data(), b.bytes.data(), static_cast<std::size_t>(a.size)) == 0;
    }
};

std::optional<ip_bytes> parse_ip(std::string_view text) {
    std::string s(text);
    ip_bytes ip;
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
        ip.size = 4;
        return ip;
    }
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
        static constexpr std::array<unsigned char, 12> v4_mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(ip.bytes.data(), v4_mapped.data(), v4_mapped.size()) == 0) {
            std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
            ip.size = 4;
        } else {
            ip.size = 16;
        }
        return ip;
    }
    return std::nullopt;
}

bool is_unspecified(const ip_bytes& ip) {
    for (int i = 0; i < ip.size; ++i) {
        if (ip.bytes[static_cast<std::size_t>(i)] != 0) return false;
    }
    return true;
}

std::string ip_to_string(const ip_bytes& ip) {
    std::array<char, INET6_ADDRSTRLEN> buf{};
    inet_ntop(ip.size == 4 ? AF_INET : AF_INET6, ip.bytes.data(), buf.data(), buf.size());
    return buf.data();
}

bool valid_dns_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    for (unsigned char c : name) {
        if (c <= 0x20 || c >= 0x7f) return false;  // IA5String, and no spaces or controls
    }
    return true;
}

/// The OpenSSL error queue must be left empty: Asio's SSL engine reads it after SSL calls, so a
/// stale entry from here could surface as a spurious handshake error later.
error openssl_error(std::string code, std::string what) {
    unsigned long e = ERR_get_error();
    if (e != 0) {
        std::array<char, 256> buf{};
        ERR_error_string_n(e, buf.data(), buf.size());
        what += ": ";
        what += buf.data();
    }
    ERR_clear_error();
    return make_error(std::move(code), std::move(what));
}

result<std::string> bio_contents(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n < 0 || (n > 0 && data == nullptr)) return openssl_error("crypto_error", "reading PEM buffer");
    return std::string(data, static_cast<std::size_t>(n));
}

result<evp_pkey_ptr> generate_key(key_type type) {
    evp_pkey_ptr key(type == key_type::rsa2048 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"));
    if (!key) return openssl_error("crypto_error", "generating the private key");
    return key;
}

status add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    x509_extension_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
        return openssl_error("crypto_error", std::string("adding extension ") + OBJ_nid2sn(nid));
    }
    return ok_status();
}

/// SANs are built as GENERAL_NAMEs rather than through a configuration string, so that no
/// character of a name can be read as configuration syntax.
status add_subject_alt_names(X509* cert, const std::vector<std::string>& dns_names, const std::vector<ip_bytes>& ips) {
    if (dns_names.empty() && ips.empty()) return ok_status();  // Go omits an empty SAN extension
    general_names_ptr names(sk_GENERAL_NAME_new_null());
    if (!names) return openssl_error("crypto_error", "allocating SANs");
    for (const auto& dns : dns_names) {
        asn1_ia5string_ptr s(ASN1_IA5STRING_new());
        if (!s || ASN1_STRING_set(s.get(), dns.data(), static_cast<int>(dns.size())) != 1) {
            return openssl_error("crypto_error", "encoding a DNS SAN");
        }
        general_name_ptr gn(GENERAL_NAME_new());
        if (!gn) return openssl_error("crypto_error", "allocating a SAN");
        GENERAL_NAME_set0_value(gn.get(), GEN_DNS, s.release());
        if (sk_GENERAL_NAME_push(names.get(), gn.get()) == 0) return openssl_error("crypto_error", "adding a SAN");
        gn.release();
    }
    for (const auto& ip : ips) {
        asn1_octet_string_ptr s(ASN1_OCTET_STRING_new());
        if (!s || ASN1_OCTET_STRING_set(s.get(), ip.bytes.data(), ip.size) != 1) {
            return openssl_error("crypto_error", "encoding an IP SAN");
        }
        general_name_ptr gn(GENERAL_NAME_new());
        if (!gn) return openssl_error("crypto_error", "allocating a SAN");
        GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, s.release());
        if (sk_GENERAL_NAME_push(names.get(), gn.get()) == 0) return openssl_error("crypto_error", "adding a SAN");
        gn.release();
    }
    if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
        return openssl_error("crypto_error", "adding the SAN extension");
    }
    return ok_status();
}

status set_random_serial(X509* cert) {
    bignum_ptr serial(BN_new());
    if (!serial) return openssl_error("crypto_error", "allocating the serial");
    // Go: rand.Int(rand.Reader, 2^128). A serial must be positive (RFC 5280 §4.1.2.2): retry zero.
    do {
        if (BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
            return openssl_error("crypto_error", "drawing the serial");
        }
    } while (BN_is_zero(serial.get()));
    if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
        return openssl_error("crypto_error", "setting the serial");
    }
    return ok_status();
}

result<std::string> key_to_pem(EVP_PKEY* key) {
    // Secure-heap memory BIO: the key's PEM text does not linger in freed heap memory.
    bio_ptr bio(BIO_new(BIO_s_secmem()));
    if (!bio) return openssl_error("crypto_error", "allocating a BIO");
    // "Traditional" = PKCS#1 `RSA PRIVATE KEY` / SEC 1 `EC PRIVATE KEY`, as the reference writes.
    if (PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        return openssl_error("crypto_error", "encoding the private key");
    }
    return bio_contents(bio.get());
}

result<std::string> cert_to_pem(X509* cert) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return openssl_error("crypto_error", "encoding the certificate");
    return bio_contents(bio.get());
}

int refuse_password(char*, int, int, void*) { return -1; }  // never prompt on a terminal

std::string errno_text(int e) { return std::error_code(e, std::generic_category()).message(); }

/// Writes `content` to a temporary file beside `target` with exactly `mode`, flushed to disk.
result<std::filesystem::path> write_temp(const std::filesystem::path& target, std::string_view content, mode_t mode) {
    std::filesystem::path tmp = target;
    tmp += ".tmp." + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) return make_error("io_error", "creating " + tmp.string() + ": " + errno_text(errno));
    auto fail = [&](const char* what) {
        int e = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return make_error("io_error", std::string(what) + " " + tmp.string() + ": " + errno_text(e));
    };
    if (::fchmod(fd, mode) != 0) return fail("chmod");  // exact mode, whatever the umask
    std::size_t off = 0;
    while (off < content.size()) {
        ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail("writing");
        }
        off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) return fail("syncing");
    if (::close(fd) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return make_error("io_error", "closing " + tmp.string() + ": " + errno_text(e));
    }
    return tmp;
}

}  // namespace

cert_request cert_request_for(std::string_view address, std::string_view hostname, key_type key) {
    cert_request req;
    req.key = key;
    std::optional<ip_bytes> address_ip = parse_ip(address);
    if (address_ip && !is_unspecified(*address_ip)) {
        req.ip_addresses.push_back(ip_to_string(*address_ip));
    } else {
        address_ip.reset();
    }
    if (!hostname.empty()) {
        if (auto host_ip = parse_ip(hostname)) {
            if (!address_ip || !(*host_ip == *address_ip)) req.ip_addresses.push_back(ip_to_string(*host_ip));
        } else {
            req.dns_names.emplace_back(hostname);
        }
    }
    return req;
}

result<pem_pair> generate_self_signed(const cert_request& request) {
    // Phase 1: validate the names before any key work.
    std::vector<ip_bytes> ips;
    for (const auto& text : request.ip_addresses) {
        auto ip = parse_ip(text);
        if (!ip) return make_error("bad_ip_address", "not an IP address: " + text);
        ips.push_back(*ip);
    }
    for (const auto& dns : request.dns_names) {
        if (!valid_dns_name(dns)) return make_error("bad_dns_name", "not a valid DNS name for a SAN");
    }
    if (request.validity.count() <= 0) return make_error("crypto_error", "validity must be positive");

    // Phase 2: key and certificate body.
    auto key = generate_key(request.key);
    if (!key) return key.err();
    x509_ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return openssl_error("crypto_error", "allocating the certificate");
    if (auto s = set_random_serial(cert.get()); !s) return s.err();

    const long hours = static_cast<long>(request.validity.count());
    if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
        X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(hours / 24), (hours % 24) * 3600, nullptr) == nullptr) {
        return openssl_error("crypto_error", "setting the validity");
    }

    X509_NAME* name = X509_get_subject_name(cert.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(request.common_name.data()),
                                   static_cast<int>(request.common_name.size()), -1, 0) != 1 ||
        X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key->get()) != 1) {
        return openssl_error("crypto_error", "setting subject and key");
    }

    // Phase 3: extensions, as Go's x509.CreateCertificate encodes the reference's template
    // (BasicConstraints and KeyUsage critical; a SubjectKeyId because IsCA).
    for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                              std::pair{NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign"},
                              std::pair{NID_ext_key_usage, "serverAuth"}, std::pair{NID_subject_key_identifier, "hash"}}) {
        if (auto s = add_extension(cert.get(), nid, value); !s) return s.err();
    }
    if (auto s = add_subject_alt_names(cert.get(), request.dns_names, ips); !s) return s.err();

    // Phase 4: sign (SHA256WithRSA or ECDSAWithSHA256, as Go picks) and encode.
    if (X509_sign(cert.get(), key->get(), EVP_sha256()) <= 0) return openssl_error("crypto_error", "signing the certificate");
    auto cert_pem = cert_to_pem(cert.get());
    if (!cert_pem) return cert_pem.err();
    auto key_pem = key_to_pem(key->get());
    if (!key_pem) return key_pem.err();
    return pem_pair{std::move(*cert_pem), secret<std::string>(std::move(*key_pem))};
}

status check_pem_pair(const pem_pair& pair) {
    bio_ptr cert_bio(BIO_new_mem_buf(pair.cert_pem.data(), static_cast<int>(pair.cert_pem.size())));
    x509_ptr cert(cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, refuse_password, nullptr) : nullptr);
    if (!cert) return openssl_error("bad_certificate", "certificate PEM does not parse");
    const auto& key_text = pair.key_pem.reveal();
    bio_ptr key_bio(BIO_new_mem_buf(key_text.data(), static_cast<int>(key_text.size())));
    evp_pkey_ptr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, refuse_password, nullptr) : nullptr);
    if (!key) return openssl_error("bad_private_key", "private key PEM does not parse");
    if (EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()) != 1) {
        ERR_clear_error();
        return make_error("key_mismatch", "private key does not match the certificate");
    }
    return ok_status();
}

result<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("io_error", "cannot open " + path.string());
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad()) return make_error("io_error", "cannot read " + path.string());
    return std::move(out).str();
}

result<pem_pair> load_or_create(const std::filesystem::path& state_dir, const cert_request& request) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(state_dir, ec);
    if (ec) return make_error("io_error", "creating " + state_dir.string() + ": " + ec.message());
    const fs::path cert_path = state_dir / "cert.pem";
    const fs::path key_path = state_dir / "key.pem";

    // As the reference: only "does not exist" leads to generation; any other stat failure
    // (permissions...) surfaces as a load error rather than overwriting files.
    const bool cert_missing = fs::symlink_status(cert_path, ec).type() == fs::file_type::not_found;
    const bool key_missing = fs::symlink_status(key_path, ec).type() == fs::file_type::not_found;
    if (!cert_missing && !key_missing) {
        auto cert = read_file(cert_path);
        if (!cert) return cert.err();
        auto key = read_file(key_path);
        if (!key) return key.err();
        pem_pair pair{std::move(*cert), secret<std::string>(std::move(*key))};
        if (auto s = check_pem_pair(pair); !s) {
            return make_error(s.code(), s.err().message + " (" + cert_path.string() + ", " + key_path.string() + ")");
        }
        return pair;
    }

    auto pair = generate_self_signed(request);
    if (!pair) return pair.err();
    // Both temporaries are complete on disk before either rename, so a failure while writing
    // leaves the old files untouched; the key is renamed first so that a cert.pem on disk never
    // names a key that was not yet written.
    auto key_tmp = write_temp(key_path, pair->key_pem.reveal(), 0600);
    if (!key_tmp) return key_tmp.err();
    auto cert_tmp = write_temp(cert_path, pair->cert_pem, 0644);
    if (!cert_tmp) {
        fs::remove(*key_tmp, ec);
        return cert_tmp.err();
    }
    for (auto [from, to] : {std::pair{*key_tmp, key_path}, std::pair{*cert_tmp, cert_path}}) {
        fs::rename(from, to, ec);
        if (ec) {
            std::string why = "renaming into " + to.string() + ": " + ec.message();
            fs::remove(*key_tmp, ec);
            fs::remove(*cert_tmp, ec);
            return make_error("io_error", std::move(why));
        }
    }
    if (int dfd = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);  // make the renames durable; best effort
        ::close(dfd);
    }
    return pair;
}

}  // namespace stsauth::http
