#pragma once
/// \file
/// What every Beast `basic_parser` of this project does with a message body (heavy: Beast;
/// include it only from .cpp files and private headers that drive connections).
///
/// `body_parser` appends the body, plain or chunked, to the string the derived parser's
/// body_sink() names, reserved from the declared Content-Length (which Beast has already
/// refused above the body limit; clamped to it again here). Chunk extensions, the end of the
/// header and the end of the message need nothing; the start line the parser does not parse
/// (a request's status line, a response's request line) never comes. Derived parsers record
/// the start line and the fields they need.

#include <boost/beast/http/basic_parser.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

namespace stsauth::http {

template <bool IsRequest>
class body_parser : public boost::beast::http::basic_parser<IsRequest> {
protected:
    using error_code = boost::beast::error_code;
    using string_view = boost::beast::string_view;

    /// `max_body`: the body limit, also set as Beast's body_limit.
    explicit body_parser(std::size_t max_body) : max_body_(max_body) {
        this->body_limit(static_cast<std::uint64_t>(max_body));
    }

    /// Where the body goes (appended to what the string holds).
    virtual std::string& body_sink() noexcept = 0;

    void on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code&) override {}
    void on_response_impl(int, string_view, int, error_code&) override {}
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code&) override {
        if (content_length) body_sink().reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*content_length, max_body_)));
    }
    std::size_t on_body_impl(string_view body, error_code&) override {
        body_sink().append(body.data(), body.size());
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
        body_sink().append(body.data(), body.size());
        return body.size();
    }
    void on_finish_impl(error_code&) override {}

private:
    std::size_t max_body_;
};

}  // namespace stsauth::http
