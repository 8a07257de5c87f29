#include "http/message.hpp"

#include "common/encoding.hpp"

namespace stsauth::http {

std::optional<std::string_view> request::header(std::string_view name) const noexcept {
    for (const auto& [n, v] : headers) {
        if (encoding::iequals(n, name)) return std::string_view(v);
    }
    return std::nullopt;
}

std::string_view reason_phrase(unsigned status) noexcept {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 204: return "No Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 417: return "Expectation Failed";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
    }
}

response text_response(unsigned status, std::string_view text) {
    response r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    if (text.empty()) {
        r.body = std::to_string(status);
        r.body += ' ';
        r.body += reason_phrase(status);
        r.body += '\n';
    } else {
        r.body = text;
    }
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return r;
}

}  // namespace stsauth::http
