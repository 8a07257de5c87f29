#pragma once
// Test clients for lib/http, independent of Beast: POSIX sockets, OpenSSL directly for TLS, and
// a minimal response reader. Every blocking call is bounded by a timeout.

#include "http/message.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace stsauth::test {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

/// An io_context run by `threads` threads until destruction (then stopped and joined).
class io_runner {
public:
    explicit io_runner(int threads = 2);
    ~io_runner();
    boost::asio::io_context& ioc();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

struct tls_client_options {
    std::string trusted_ca_pem;       ///< empty: no verification (tests of the transport only)
    std::string client_cert_pem;      ///< optional client certificate (mTLS)
    std::string client_key_pem;
    int min_version = 0;              ///< e.g. TLS1_2_VERSION; 0: library default
    int max_version = 0;
    std::string cipher_list;          ///< TLS 1.2 cipher list; empty: default
    std::string alpn;                 ///< wire-format ALPN list; empty: none
    int security_level = -1;          ///< OpenSSL security level; -1: library default
};

struct reply {
    unsigned status = 0;
    std::string version;
    std::multimap<std::string, std::string> headers;  ///< lower-case names
    std::string body;
    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
};

enum class read_end { closed, reset, timeout, error };

/// One client connection, plain or TLS, with bounded I/O.
class conn {
public:
    conn(std::uint16_t port, const tls_client_options* tls = nullptr, ms timeout = 3000ms);
    ~conn();
    conn(const conn&) = delete;
    conn& operator=(const conn&) = delete;

    bool connected() const { return connected_; }
    const std::string& error() const { return error_; }  ///< why connect/handshake failed
    std::string negotiated_alpn() const;
    std::string peer_cert_pem() const;
    std::string tls_version() const;

    bool send(std::string_view bytes, ms timeout = 3000ms);
    /// Reads one response (Content-Length framed, or until close); nullopt on close/timeout
    /// before a complete response.
    std::optional<reply> read_response(ms timeout = 3000ms, bool head = false);
    /// Reads and discards until the peer closes; how it ended.
    read_end read_until_close(ms timeout, std::string* data = nullptr);
    /// Half-closes our sending side.
    void shutdown_send();

private:
    /// Reads more bytes into buf_; >0 bytes read, 0 closed, -1 reset/error, -2 timeout.
    int fill(std::chrono::steady_clock::time_point deadline);
    int fd_ = -1;
    void* ssl_ = nullptr;  // SSL*
    void* ctx_ = nullptr;  // SSL_CTX*
    bool connected_ = false;
    std::string error_;
    std::string buf_;
};

/// One request over a fresh connection; nullopt when no complete response came.
std::optional<reply> request_once(std::uint16_t port, const std::string& raw, const tls_client_options* tls = nullptr,
                                  ms timeout = 3000ms);

/// "GET /path HTTP/1.1\r\nHost: t\r\n...\r\n\r\n" helpers.
std::string get(std::string_view target, std::string_view extra_headers = {});
std::string post(std::string_view target, std::string_view body, std::string_view extra_headers = {});

/// A CA and a client certificate it signed (clientAuth), for mTLS tests.
struct client_pki {
    std::string ca_cert_pem;
    std::string client_cert_pem;
    std::string client_key_pem;
};
client_pki make_client_pki(const std::string& cn = "kube-apiserver");

/// Wall time of f().
template <class F>
ms timed(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - t0);
}

}  // namespace stsauth::test
