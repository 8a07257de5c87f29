#include "http/request_parser.hpp"

namespace stsauth::http {

namespace beast = boost::beast;

request_parser::request_parser(std::size_t header_bytes, std::size_t max_body) : body_parser(max_body) {
    req_.headers.reserve(header_bytes);
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

void request_parser::on_field_impl(field name, beast::string_view name_string, beast::string_view value, beast::error_code&) {
    // Trailer fields of a chunked body come here too: they join the list after the header's
    // fields (as with Beast's own parser) but are not counted, the framing checks being done.
    if (const int i = slot(name); i >= 0 && !is_header_done()) {
        auto& t = tracked_[static_cast<std::size_t>(i)];
        if (t.count++ == 0) t.first = static_cast<std::uint32_t>(req_.headers.size());
    }
    req_.headers.add(std::string_view(name_string.data(), name_string.size()), std::string_view(value.data(), value.size()));
}

}  // namespace stsauth::http
