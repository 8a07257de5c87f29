#include "http/request_parser.hpp"

#include <algorithm>

namespace stsauth::http {

namespace beast = boost::beast;

request_parser::request_parser(std::size_t header_bytes, std::size_t max_body) : max_body_(max_body) {
    req_.headers.reserve(header_bytes);
    body_limit(static_cast<std::uint64_t>(max_body));
}

int request_parser::slot(field f) noexcept {
    switch (f) {
        case field::content_length: return 0;
        case field::transfer_encoding: return 1;
        case field::host: return 2;
        case field::expect: return 3;
        default: return -1;
    }
}

std::size_t request_parser::count(field f) const noexcept {
    const int i = slot(f);
    return i < 0 ? 0 : tracked_[static_cast<std::size_t>(i)].count;
}

std::string_view request_parser::first_value(field f) const noexcept {
    const int i = slot(f);
    if (i < 0 || tracked_[static_cast<std::size_t>(i)].count == 0) return {};
    return req_.headers[tracked_[static_cast<std::size_t>(i)].first].second;
}

void request_parser::on_request_impl(verb method, beast::string_view method_str, beast::string_view target, int version,
                                     beast::error_code&) {
    verb_ = method;
    req_.method.assign(method_str.data(), method_str.size());
    req_.target.assign(target.data(), target.size());
    req_.version = static_cast<unsigned>(version);
}

void request_parser::on_response_impl(int, beast::string_view, int, beast::error_code&) {}  // never called: a request parser

void request_parser::on_field_impl(field name, beast::string_view name_string, beast::string_view value, beast::error_code&) {
    // Trailer fields of a chunked body come here too: they join the list after the header's
    // fields (as with Beast's own parser) but are not counted, the framing checks being done.
    if (const int i = slot(name); i >= 0 && !is_header_done()) {
        auto& t = tracked_[static_cast<std::size_t>(i)];
        if (t.count++ == 0) t.first = static_cast<std::uint32_t>(req_.headers.size());
    }
    req_.headers.add(std::string_view(name_string.data(), name_string.size()), std::string_view(value.data(), value.size()));
}

void request_parser::on_header_impl(beast::error_code&) {}

void request_parser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length, beast::error_code&) {
    // Beast has already refused a declared length over body_limit; the clamp is a second guard.
    if (content_length) req_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*content_length, max_body_)));
}

std::size_t request_parser::on_body_impl(beast::string_view body, beast::error_code&) {
    req_.body.append(body.data(), body.size());
    return body.size();
}

void request_parser::on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) {}

std::size_t request_parser::on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) {
    req_.body.append(body.data(), body.size());
    return body.size();
}

void request_parser::on_finish_impl(beast::error_code&) {}

}  // namespace stsauth::http
