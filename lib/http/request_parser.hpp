#pragma once
/// \file
/// The server's request parser (private to lib/http: it includes Beast). Beast's
/// `basic_parser` does the parsing and the framing rules; this subclass records the request
/// straight into an http::request: method, target and version, the fields into one
/// header_list whose text is reserved from the header block's size, and the body into a string
/// reserved from the declared Content-Length (body_parser). It also counts, as they arrive, the fields the
/// session's A11 checks look at (Content-Length, Transfer-Encoding, Host, Expect), so those
/// checks need no lookups.

#include "http/body_parser.hpp"
#include "http/message.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace stsauth::http {

class request_parser final : public body_parser<true> {
public:
    using field = boost::beast::http::field;
    using verb = boost::beast::http::verb;

    /// `header_bytes`: the size of the header block about to be parsed (an upper bound on the
    /// field text). `max_body`: the body limit (also set as Beast's body_limit).
    request_parser(std::size_t header_bytes, std::size_t max_body);

    verb method() const noexcept { return verb_; }
    unsigned version() const noexcept { return req_.version; }
    /// The request so far (complete once is_done()).
    const request& get() const noexcept { return req_; }
    /// Moves the request out (the body is moved, not copied).
    request release() noexcept { return std::move(req_); }

    /// How many fields `f` the header had. Counted for content_length, transfer_encoding, host
    /// and expect only; any other field answers 0.
    std::size_t count(field f) const noexcept;
    /// The first value of `f` (one of the counted fields), or empty when absent.
    std::string_view first_value(field f) const noexcept;

private:
    struct tracked {
        std::uint32_t count = 0;
        std::uint32_t first = 0;  ///< index in req_.headers of the first occurrence
    };
    static constexpr std::size_t tracked_fields = 4;
    static int slot(field f) noexcept;

    std::string& body_sink() noexcept override { return req_.body; }
    void on_request_impl(verb method, boost::beast::string_view method_str, boost::beast::string_view target, int version,
                         boost::beast::error_code& ec) override;
    void on_field_impl(field name, boost::beast::string_view name_string, boost::beast::string_view value,
                       boost::beast::error_code& ec) override;

    request req_;
    std::array<tracked, tracked_fields> tracked_{};
    verb verb_ = verb::unknown;
};

}  // namespace stsauth::http
