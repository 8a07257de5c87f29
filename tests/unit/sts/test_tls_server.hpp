#pragma once
// A small HTTPS server for the sts client tests: Beast over Asio SSL on 127.0.0.1, port 0, its
// own io_context and thread. It records every request (with the TLS SNI and the connection it
// came on) and answers as the test's handler says: a response, a reset, a hang, raw bytes...
// Plus a throw-away PKI (CA + leaf) generated with OpenSSL for it.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace stsauth::sts::testing {

struct test_pki {
    std::string ca_pem;    ///< trust anchor the client loads through ca_file
    std::string cert_pem;  ///< leaf for the server, signed by the CA
    std::string key_pem;
};

/// A fresh CA and a leaf certificate (P-256) for `dns_names`, valid for a day.
test_pki make_test_pki(const std::vector<std::string>& dns_names);

struct received_request {
    std::size_t connection = 0;      ///< 0-based index of the TCP connection, in accept order
    std::size_t on_connection = 0;   ///< 0-based index of the request on its connection
    std::string sni;
    std::string method;
    std::string target;
    std::string version;             ///< "1.1"
    std::vector<std::pair<std::string, std::string>> headers;  ///< in wire order
    std::string header(std::string_view name) const;           ///< first value, case-insensitive; "" if none
    std::size_t header_count(std::string_view name) const;
};

struct reply {
    enum class action {
        respond,  ///< status/body/headers; closes after it when keep_alive is false
        reset,    ///< TCP RST without answering
        hang,     ///< never answer, keep the connection open
        raw,      ///< write raw_bytes as is, then close (no TLS close_notify) or reset
    };
    action act = action::respond;
    unsigned status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool keep_alive = true;
    std::chrono::milliseconds delay{0};
    std::string raw_bytes;
    bool reset_after_raw = false;
    /// raw: write raw_bytes in pieces of this many bytes (each its own TLS record), `delay` apart;
    /// 0 writes them at once.
    std::size_t raw_piece = 0;
};

class test_tls_server {
public:
    using handler = std::function<reply(const received_request&)>;
    enum class mode {
        tls,               ///< normal
        stall_handshake,   ///< accept TCP and never speak
    };

    test_tls_server(const test_pki& pki, handler h, mode m = mode::tls);
    ~test_tls_server();
    test_tls_server(const test_tls_server&) = delete;
    test_tls_server& operator=(const test_tls_server&) = delete;

    unsigned short port() const;
    std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

    std::size_t accepted() const;
    std::size_t max_concurrent_connections() const;
    std::vector<received_request> requests() const;

    struct state;

private:
    std::shared_ptr<state> state_;
};

/// A loopback port on which nothing listens (bound, then closed).
unsigned short unused_port();

}  // namespace stsauth::sts::testing
