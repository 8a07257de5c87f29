#include "http/message.hpp"

#include "common/encoding.hpp"

#include <limits>
#include <stdexcept>

namespace stsauth::http {

header_list::header_list(std::initializer_list<value_type> fields) {
    std::size_t bytes = 0;
    for (const auto& [n, v] : fields) bytes += n.size() + v.size();
    text_.reserve(bytes);
    for (const auto& [n, v] : fields) add(n, v);
}

void header_list::add(std::string_view name, std::string_view value) {
    constexpr std::size_t max = std::numeric_limits<std::uint32_t>::max();
    if (name.size() + value.size() > max - text_.size()) throw std::length_error("header_list: over 4 GiB of header text");
    const entry e{static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(name.size()),
                  static_cast<std::uint32_t>(value.size())};
    // Text first: if an append throws, the bytes it left are referenced by no entry.
    text_.append(name);
    text_.append(value);
    if (size_ < inline_fields) {
        inline_[size_] = e;
    } else {
        more_.push_back(e);
    }
    ++size_;
}

void header_list::clear() noexcept {
    text_.clear();
    more_.clear();
    size_ = 0;
}

std::optional<std::string_view> header_list::find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < size_; ++i) {
        const auto [n, v] = (*this)[i];
        if (encoding::iequals(n, name)) return v;
    }
    return std::nullopt;
}

std::size_t header_list::count(std::string_view name) const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < size_; ++i) n += encoding::iequals((*this)[i].first, name) ? 1 : 0;
    return n;
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
