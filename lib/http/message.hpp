#pragma once
/// \file
/// The HTTP request/response values the server hands to application handlers. No Beast types:
/// handlers (router, TokenReview endpoint, metrics) depend on this header only.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stsauth::http {

/// A header field as received (name in the client's spelling) or to send.
using header_field = std::pair<std::string, std::string>;

/// The header fields of a received request, in received order, names as sent. All names and
/// values live in one string; each field is an offset and two lengths into it, so a copy or a
/// move is safe and building the list of a typical request (up to `inline_fields` fields, its
/// text reserved up front) costs one allocation. Iteration yields pairs of string_views, valid
/// until the list is changed or destroyed.
class header_list {
public:
    using value_type = std::pair<std::string_view, std::string_view>;  ///< {name, value}
    static constexpr std::size_t inline_fields = 8;  ///< fields held without a separate allocation

    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = header_list::value_type;
        using difference_type = std::ptrdiff_t;
        using reference = value_type;  // a proxy: the pair is built on each dereference
        using pointer = void;

        iterator() = default;
        value_type operator*() const noexcept { return (*list_)[index_]; }
        iterator& operator++() noexcept {
            ++index_;
            return *this;
        }
        iterator operator++(int) noexcept {
            auto old = *this;
            ++index_;
            return old;
        }
        bool operator==(const iterator& o) const noexcept { return index_ == o.index_; }

    private:
        friend class header_list;
        iterator(const header_list* list, std::size_t index) noexcept : list_(list), index_(index) {}
        const header_list* list_ = nullptr;
        std::size_t index_ = 0;
    };
    using const_iterator = iterator;

    header_list() = default;
    header_list(std::initializer_list<value_type> fields);

    /// Appends a field. Throws std::length_error past 4 GiB of text (never for a request the
    /// server accepted: its header block is far smaller).
    void add(std::string_view name, std::string_view value);
    /// Room for `text_bytes` of names and values without reallocating.
    void reserve(std::size_t text_bytes) { text_.reserve(text_bytes); }
    /// Removes every field; the text keeps its capacity.
    void clear() noexcept;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    /// The i-th field received (i < size()).
    value_type operator[](std::size_t i) const noexcept {
        const entry& e = at(i);
        const std::string_view text = text_;
        return {text.substr(e.offset, e.name_len), text.substr(e.offset + e.name_len, e.value_len)};
    }
    iterator begin() const noexcept { return {this, 0}; }
    iterator end() const noexcept { return {this, size_}; }

    /// First value of the field `name` (ASCII case-insensitive), if present.
    std::optional<std::string_view> find(std::string_view name) const noexcept;
    /// How many fields are called `name` (ASCII case-insensitive).
    std::size_t count(std::string_view name) const noexcept;

private:
    struct entry {
        std::uint32_t offset = 0;  ///< name, then the value right after it
        std::uint32_t name_len = 0;
        std::uint32_t value_len = 0;
    };
    const entry& at(std::size_t i) const noexcept { return i < inline_fields ? inline_[i] : more_[i - inline_fields]; }

    std::string text_;
    std::array<entry, inline_fields> inline_{};
    std::vector<entry> more_;  ///< fields after the first inline_fields
    std::size_t size_ = 0;
};

/// One complete, validated HTTP/1.x request (A11 checks already passed).
struct request {
    std::string method;  ///< as sent, e.g. "POST" (methods are case-sensitive)
    std::string target;  ///< request-target as sent, e.g. "/authenticate?timeout=30s"
    std::string body;    ///< complete body (Content-Length or de-chunked), at most max_body_bytes
    header_list headers;  ///< in received order; names as sent
    std::string remote;  ///< peer "ip:port" ("[v6]:port"), for logs
    unsigned version = 11;  ///< 10 or 11

    /// The target's path: everything before the first '?' or '#'. Routing uses this only, since
    /// kube-apiserver posts to "/authenticate?timeout=30s".
    std::string_view path() const noexcept {
        // A plain loop: find_first_of with a set calls memchr on the set once per byte.
        const std::string_view t = target;
        std::size_t end = 0;
        while (end < t.size() && t[end] != '?' && t[end] != '#') ++end;
        return t.substr(0, end);
    }
    /// First value of the header `name` (ASCII case-insensitive), if present.
    std::optional<std::string_view> header(std::string_view name) const noexcept { return headers.find(name); }
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
