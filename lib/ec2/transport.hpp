#pragma once
/// \file
/// One HTTP/1.1 exchange on a fresh connection (plain TCP for IMDS, TLS for EC2), closed
/// afterwards: the thin I/O shell under the EC2 and IMDS clients. Asio and Beast stay in the .cpp.
///
/// TLS: 1.2 or later, the peer verified against the system store plus an optional CA file, SNI
/// and host-name check against `target.host` (also when connecting elsewhere). One deadline
/// covers resolve, connect, handshake, write and read; the response header is capped at 16 KiB
/// and the body at `max_body_bytes`; redirects are returned, never followed.

#include "common/result.hpp"
#include "ec2/describe_instances.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace stsauth::ec2 {

/// The client TLS context (pimpl around asio::ssl::context), shared by every exchange of a client.
class tls_client_context {
public:
    /// Throws std::runtime_error when `ca_file` (optional) cannot be loaded.
    explicit tls_client_context(const std::string& ca_file = {});
    ~tls_client_context();
    tls_client_context(const tls_client_context&) = delete;
    tls_client_context& operator=(const tls_client_context&) = delete;

    struct impl;
    impl& get() noexcept { return *impl_; }

private:
    std::unique_ptr<impl> impl_;
};

/// "HOST:PORT" or "[V6]:PORT". Error "bad_endpoint".
struct host_port {
    std::string host;
    std::string port;
};
result<host_port> parse_host_port(std::string_view text);

/// Where an exchange goes.
struct http_target {
    std::string host;          ///< TLS SNI and certificate name; not used for plain HTTP
    std::string connect_host;  ///< name or IP to resolve and connect to
    std::string connect_port;
};

/// An HTTPS endpoint: where to connect, and the Host header.
struct https_endpoint {
    http_target target;
    std::string host_header;  ///< host, with ":port" when not 443
};

/// `endpoint` "" means `default_host` on 443, else "https://HOST[:PORT]" (optional trailing
/// '/'); `connect_override` "HOST:PORT" changes only where to connect. Throws
/// std::invalid_argument naming `what` ("EC2 endpoint", ...) when either is malformed.
https_endpoint make_https_endpoint(std::string_view what, std::string_view endpoint, std::string default_host,
                                   std::string_view connect_override);

struct http_limits {
    std::chrono::milliseconds timeout{5000};
    std::size_t max_body_bytes = 64 * 1024;
};

struct http_response {
    unsigned status = 0;
    std::string body;
};

/// Transport error codes: "resolve_failed", "connect_failed", "tls_failed", "send_failed",
/// "receive_failed", "timeout", "body_too_large", "bad_http", "bad_request" (a header with CR/LF
/// or a control character). Messages name the phase, never a header value or the body.
using http_callback = std::function<void(result<http_response>)>;

/// Sends `request` (plus `Connection: close`) and reads one response. `tls` null means plain HTTP.
/// `cb` is called exactly once, on an io_context thread (never before this function returns).
void async_http_exchange(boost::asio::io_context& ioc, std::shared_ptr<tls_client_context> tls, http_target target,
                         http_request request, http_limits limits, http_callback cb);

}  // namespace stsauth::ec2
