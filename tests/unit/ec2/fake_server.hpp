#pragma once
// A small HTTP/1.1 server for the ec2 tests (fake EC2 over TLS, fake IMDS over plain HTTP):
// Beast on 127.0.0.1, port 0, its own io_context and thread. Records every request and answers
// as the test's handler says, after an optional delay, or never (hang).

#include "http/certs.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stsauth::ec2::testing {

struct seen_request {
    std::string method;
    std::string target;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::steady_clock::time_point at;
    /// First value of a header (case-insensitive), or nullopt.
    std::optional<std::string> header(std::string_view name) const;
};

struct canned_reply {
    unsigned status = 200;
    std::string body;
    std::string content_type = "text/xml;charset=UTF-8";
    std::chrono::milliseconds delay{0};
    bool hang = false;  ///< never answer (the connection stays open until the server stops)
};

class fake_server {
public:
    using handler = std::function<canned_reply(const seen_request&)>;
    /// TLS with `tls` (certificate and key), plain HTTP without.
    explicit fake_server(handler h, std::optional<http::pem_pair> tls = std::nullopt);
    ~fake_server();
    fake_server(const fake_server&) = delete;
    fake_server& operator=(const fake_server&) = delete;

    unsigned short port() const;
    std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
    std::vector<seen_request> requests() const;
    std::size_t request_count() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

/// A self-signed certificate for `dns_names` and 127.0.0.1, written as PEM to a fresh temporary
/// file (the CA file clients trust); removed with the object.
struct test_cert {
    explicit test_cert(std::vector<std::string> dns_names);
    ~test_cert();
    test_cert(const test_cert&) = delete;
    test_cert& operator=(const test_cert&) = delete;
    http::pem_pair pem;
    std::string ca_file;
};

/// A loopback port nothing listens on.
unsigned short unused_port();

}  // namespace stsauth::ec2::testing
