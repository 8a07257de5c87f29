#pragma once
/// \file
/// The HTTP request/response values the server hands to application handlers. No Beast types:
/// handlers (router, TokenReview endpoint, metrics) depend on this header only.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stsauth::http {

/// A header field as received (name in the client's spelling) or to send.
using header_field = std::pair<std::string, std::string>;

/// One complete, validated HTTP/1.x request (A11 checks already passed).
struct request {
    std::string method;  ///< as sent, e.g. "POST" (methods are case-sensitive)
    std::string target;  ///< request-target as sent, e.g. "/authenticate?timeout=30s"
    std::string body;    ///< complete body (Content-Length or de-chunked), at most max_body_bytes
    std::vector<header_field> headers;  ///< in received order; names as sent
    std::string remote;  ///< peer "ip:port" ("[v6]:port"), for logs
    unsigned version = 11;  ///< 10 or 11

    /// The target's path: everything before the first '?' or '#'. Routing uses this only, since
    /// kube-apiserver posts to "/authenticate?timeout=30s".
    std::string_view path() const noexcept {
        std::string_view t = target;
        return t.substr(0, t.find_first_of("?#"));
    }
    /// First value of the header `name` (ASCII case-insensitive), if present.
    std::optional<std::string_view> header(std::string_view name) const noexcept;
};

/// What a handler answers. Content-Length and Connection are set by the server.
struct response {
    unsigned status = 200;
    std::string content_type;  ///< empty: no Content-Type header
    std::string body;
    std::vector<header_field> headers;  ///< extra headers, e.g. {"Retry-After", "1"}
};

/// Completes one request. Call exactly once, from any thread; later calls are ignored. If every
/// copy is destroyed without a call, the server answers 500 so that the connection never hangs.
using responder = std::function<void(response)>;

/// Application entry point. Runs on the connection's strand: it must not block; slow work
/// (an STS call) completes later through the responder.
using handler = std::function<void(request&&, responder)>;

/// A short `text/plain; charset=utf-8` answer with `X-Content-Type-Options: nosniff`. The body is
/// `text` verbatim (e.g. "ok", as the reference's health check); when empty,
/// "<status> <reason>\n" (e.g. "404 Not Found\n").
response text_response(unsigned status, std::string_view text = {});

/// Standard reason phrase for a status code ("Bad Request"), or "Unknown".
std::string_view reason_phrase(unsigned status) noexcept;

}  // namespace stsauth::http
