#include "common/strict_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace stsauth::json {
namespace {

// The two scans every request body goes through (a TokenReview is mostly its ~1.5 KB token):
// 16 bytes at a time with SSE2 (part of every x86-64 CPU), 8 at a time elsewhere.

/// Skips ASCII bytes: returns the first byte >= 0x80, or a position within 7 bytes of `end`
/// (the caller finishes byte by byte).
const unsigned char* skip_ascii(const unsigned char* p, const unsigned char* end) noexcept {
#if defined(__SSE2__)
    while (end - p >= 16) {
        const int m = _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        if (m != 0) return p + __builtin_ctz(static_cast<unsigned>(m));
        p += 16;
    }
#endif
    while (end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        if ((w & 0x8080808080808080ULL) != 0) break;
        p += 8;
    }
    return p;
}

/// Skips bytes that need no attention in a JSON string: returns the first '"', '\\', control
/// byte (< 0x20) or, with StopAtNonAscii, byte >= 0x80; or a position within 7 bytes of `end`
/// (the caller finishes byte by byte).
template <bool StopAtNonAscii>
const unsigned char* skip_plain(const unsigned char* p, const unsigned char* end) noexcept {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    while (end - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i special;
        if constexpr (StopAtNonAscii) {
            // As signed bytes, both the control bytes and those >= 0x80 are below 0x20.
            special = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
        } else {
            // Unsigned v <= 0x1F exactly when max(v, 0x1F) == 0x1F.
            const __m128i below_space = _mm_set1_epi8(0x1F);
            special = _mm_cmpeq_epi8(_mm_max_epu8(v, below_space), below_space);
        }
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), special);
        const int m = _mm_movemask_epi8(hit);
        if (m != 0) return p + __builtin_ctz(static_cast<unsigned>(m));
        p += 16;
    }
#endif
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    auto has_zero = [](std::uint64_t v) { return ((v - ones) & ~v & highs) != 0; };
    while (end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        if ((StopAtNonAscii && (w & highs) != 0) || has_zero(w ^ (ones * '"')) || has_zero(w ^ (ones * '\\')) ||
            (((w - ones * 0x20U) & ~w & highs) != 0)) {
            break;
        }
        p += 8;
    }
    return p;
}

/// The reader's string scan (bytes from 0x80 pass: UTF-8 has its own check).
const char* skip_plain_string(const char* p, const char* end) noexcept {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return p + (skip_plain<false>(u, reinterpret_cast<const unsigned char*>(end)) - u);
}

/// append_escaped's scan: the bytes a JSON writer copies as they are.
const unsigned char* skip_plain_ascii(const unsigned char* p, const unsigned char* end) noexcept {
    return skip_plain<true>(p, end);
}

bool is_ws(char c) noexcept {
    // One compare rejects every byte above the space (almost all of a compact document).
    return static_cast<unsigned char>(c) <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t');
}
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80U) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800U) {
        out.push_back(static_cast<char>(0xC0U | (cp >> 6U)));
        out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    } else if (cp < 0x10000U) {
        out.push_back(static_cast<char>(0xE0U | (cp >> 12U)));
        out.push_back(static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU)));
        out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    } else {
        out.push_back(static_cast<char>(0xF0U | (cp >> 18U)));
        out.push_back(static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU)));
        out.push_back(static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU)));
        out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    }
}

/// Length of the well-formed UTF-8 sequence at p (1..4), or 0 with `*prefix` set to the
/// length of its maximal invalid subpart (>= 1).
std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end, std::size_t* prefix) noexcept {
    const unsigned char c = *p;
    *prefix = 1;
    if (c < 0x80U) return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80U;
    unsigned char hi = 0xBFU;
    if (c >= 0xC2U && c <= 0xDFU) {
        n = 1;
    } else if (c >= 0xE0U && c <= 0xEFU) {
        n = 2;
        if (c == 0xE0U) lo = 0xA0U;
        if (c == 0xEDU) hi = 0x9FU;
    } else if (c >= 0xF0U && c <= 0xF4U) {
        n = 3;
        if (c == 0xF0U) lo = 0x90U;
        if (c == 0xF4U) hi = 0x8FU;
    } else {
        return 0;
    }
    for (std::size_t i = 1; i <= n; ++i) {
        if (p + i >= end) return 0;
        const unsigned char b = p[i];
        if (i == 1 ? (b < lo || b > hi) : ((b & 0xC0U) != 0x80U)) return 0;
        *prefix = i + 1;
    }
    return n + 1;
}

// ---------------------------------------------------------------------------------------------

/// One open object or array: a level of the open-container stack.
struct level {
    bool object = false;
    bool indexed = false;         ///< its keys are also in the last of indexes (unique_keys only)
    std::size_t keys_begin = 0;   ///< its keys in keys (objects, unique_keys only)
    std::size_t owned_begin = 0;  ///< its unescaped keys in owned
};

/// A key of an open object with a tag of its length and first, middle and last bytes: keys with
/// different tags differ, so the duplicate scan compares the bytes of few keys (usually none).
struct key_record {
    std::uint64_t tag = 0;
    std::string_view text;
};

std::uint64_t key_tag(std::string_view k) noexcept {
    if (k.empty()) return 0;
    const auto byte = [&](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(k[i])); };
    return (static_cast<std::uint64_t>(k.size()) << 24U) | (byte(0) << 16U) | (byte(k.size() / 2) << 8U) |
           byte(k.size() - 1);
}

/// A reader's working storage. Each thread keeps one and lends it to one reader at a time, so a
/// request body is read without allocating once the thread has read a few; a reader started
/// while the thread's storage is lent (a handler that parses again) gets its own.
struct reader_buffers {
    /// The open containers, outermost first. Its size only grows (to the deepest document read):
    /// a level is written when it opens, so what a previous document left is never read.
    std::vector<level> levels;
    std::vector<key_record> keys;  ///< keys of every open object, innermost last (unique_keys only)
    /// Sets of the keys of open objects with more than linear_keys keys, innermost last.
    std::vector<std::unique_ptr<std::unordered_set<std::string_view>>> indexes;
    std::vector<std::unique_ptr<std::string>> owned;  ///< unescaped keys (stable addresses)
    std::string scratch;              ///< the last unescaped string
    bool lent = false;

    /// Empties everything; what an outsized document grew is given back, not kept per thread.
    void reset() {
        keys.clear();
        indexes.clear();
        owned.clear();
        scratch.clear();
        if (levels.size() > 64) std::vector<level>().swap(levels);
        if (keys.capacity() > 256) std::vector<key_record>().swap(keys);
        if (owned.capacity() > 64) std::vector<std::unique_ptr<std::string>>().swap(owned);
        if (scratch.capacity() > 4096) std::string().swap(scratch);
    }
};

class buffers_lease {
public:
    buffers_lease() {
        static thread_local reader_buffers mine;
        if (!mine.lent) {
            buffers_ = &mine;
        } else {
            own_ = std::make_unique<reader_buffers>();
            buffers_ = own_.get();
        }
        buffers_->lent = true;
    }
    ~buffers_lease() {
        buffers_->reset();
        buffers_->lent = false;
    }
    buffers_lease(const buffers_lease&) = delete;
    buffers_lease& operator=(const buffers_lease&) = delete;

    reader_buffers& get() noexcept { return *buffers_; }

private:
    reader_buffers* buffers_ = nullptr;
    std::unique_ptr<reader_buffers> own_;
};

class reader {
public:
    reader(std::string_view text, const strict_limits& limits, strict_handler* handler)
        : p_(text.data()), begin_(text.data()), end_(text.data() + text.size()), limits_(limits), handler_(handler) {}

    std::optional<error> run() {
        if (next() < 0) return syntax();
        if (!limits_.object_only) return any_value();
        if (*p_ != '{') {
            if (*p_ == '[') return not_object();
            // A well-formed scalar is "not an object"; anything else is not JSON at all.
            std::string_view text;
            value_type type{};
            if (!scalar(&type, &text)) return take();
            return not_object();
        }
        if (!document(true)) return take();
        return end();
    }

    /// Byte offset where reading stopped, and whether the text ended inside a value.
    strict_failure_position position() const noexcept {
        return {static_cast<std::size_t>(p_ - begin_), eof_};
    }

private:
    static constexpr std::size_t linear_keys = 16;

    // --- errors: the first one wins; functions return false after setting it.

    bool fail(std::string code, std::string message) {
        if (!failure_) failure_ = make_error(std::move(code), std::move(message));
        return false;
    }
    // The failures the per-token loop can meet, out of line: their formatting would otherwise
    // weigh on the loop's registers.
    [[gnu::noinline]] bool too_deep_fail() {
        return fail("too_deep", fmt::format("JSON nesting deeper than {}", limits_.max_depth));
    }
    [[gnu::noinline]] bool value_too_long_fail() {
        return fail("string_too_long", fmt::format("a string value is longer than {} bytes", limits_.max_string_bytes));
    }
    [[gnu::noinline]] bool key_too_long_fail() {
        return fail("string_too_long", fmt::format("an object key is longer than {} bytes", limits_.max_key_bytes));
    }
    [[gnu::noinline]] bool syntax_fail() {
        if (!failure_) eof_ = p_ == end_;
        return fail("not_json", fmt::format("request body is not valid JSON (syntax error at byte {})",
                                            static_cast<std::size_t>(p_ - begin_)));
    }
    std::optional<error> syntax() {
        syntax_fail();
        return take();
    }
    std::optional<error> not_object() {
        return make_error("not_object", fmt::format("request body is not a {}", limits_.document));
    }
    std::optional<error> take() { return std::move(failure_); }

    std::optional<error> end() {
        if (next() >= 0) {
            return make_error("trailing_data", fmt::format("data after the {}", limits_.document));
        }
        return std::nullopt;
    }

    /// object_only off: one value of any type, reported at depth 0.
    std::optional<error> any_value() {
        const char c = *p_;
        if (c == '{' || c == '[') {
            if (handler_ != nullptr) handler_->value(0, c == '{' ? value_type::object : value_type::array, {});
            if (!document(c == '{')) return take();
            return end();
        }
        value_type type{};
        std::string_view text;
        if (!scalar(&type, &text)) return take();
        if (type == value_type::string && text.size() > limits_.max_string_bytes) {
            value_too_long_fail();
            return take();
        }
        if (handler_ != nullptr) handler_->value(0, type, text);
        return end();
    }

    /// A syntax error because the text ended where `expected` (a fixed spelling: a literal, an
    /// escape) was still being read: p_ moves to the end when what is left is a prefix of it.
    bool truncated_fail(std::string_view expected) {
        const auto left = static_cast<std::size_t>(end_ - p_);
        if (left < expected.size() && std::memcmp(p_, expected.data(), left) == 0) p_ = end_;
        return syntax_fail();
    }

    /// Skips whitespace: returns the byte it stopped at, or -1 at the end of the text. In a
    /// compact document the byte at p_ is already the next token's: one compare decides that.
    int next() noexcept {
        if (p_ != end_ && static_cast<unsigned char>(*p_) > ' ') return static_cast<unsigned char>(*p_);
        for (; p_ != end_; ++p_) {
            const auto c = static_cast<unsigned char>(*p_);
            if (!is_ws(static_cast<char>(c))) return c;
        }
        return -1;
    }

    // --- containers, iteratively (the depth limit bounds the open-container stack, levels_,
    // not the C++ stack).

    /// Opens an object or array at `depth` (the number of containers already open); p_ is past
    /// its bracket.
    bool open(std::size_t depth, bool object) {
        if (depth >= limits_.max_depth) return too_deep_fail();
        if (depth == levels_.size()) levels_.emplace_back();
        level& l = levels_[depth];
        l.object = object;
        l.indexed = false;
        l.keys_begin = keys_.size();
        l.owned_begin = owned_.size();
        return true;
    }

    /// Closes the innermost container, whose members were at `depth`.
    void close(std::size_t depth, bool object) {
        if (object && limits_.unique_keys) {
            const level& l = levels_[depth - 1];
            keys_.resize(l.keys_begin);
            if (owned_.size() != l.owned_begin) owned_.resize(l.owned_begin);
            if (l.indexed) indexes_.pop_back();
        }
        if (handler_ != nullptr) handler_->close(depth, object ? value_type::object : value_type::array);
    }

    /// The top object (or, object_only off, array) and everything in it; p_ at its bracket.
    ///
    /// One loop turn reads a member (key, colon, value) or an element, then the commas and
    /// closing brackets after it. `depth` (open containers) and `object` (the innermost one's
    /// kind) live here; levels_ is read only when a container closes.
    bool document(bool top_object) {
        ++p_;
        if (!open(0, top_object)) return false;
        std::size_t depth = 1;
        bool object = top_object;
        bool just_opened = true;
        for (;;) {
            int c = next();
            if (!just_opened || c != (object ? '}' : ']')) {
                // A member or element (after a comma, a closing bracket is a syntax error here).
                if (c < 0) return syntax_fail();
                if (object) {
                    if (c != '"') return syntax_fail();
                    if (!member_key(depth)) return false;
                    if (next() != ':') return syntax_fail();
                    ++p_;
                    c = next();
                    if (c < 0) return syntax_fail();
                }
                if (c == '{' || c == '[') {
                    object = c == '{';
                    if (handler_ != nullptr) handler_->value(depth, object ? value_type::object : value_type::array, {});
                    ++p_;
                    if (!open(depth, object)) return false;
                    ++depth;
                    just_opened = true;
                    continue;
                }
                value_type type = value_type::string;
                std::string_view text;
                if (c == '"') {
                    bool unescaped = false;
                    if (!string(&text, &unescaped)) return false;
                } else if (!scalar(&type, &text)) {
                    return false;
                }
                if (type == value_type::string && text.size() > limits_.max_string_bytes) return value_too_long_fail();
                if (handler_ != nullptr) handler_->value(depth, type, text);
                c = next();
            }
            // After a value, or an opening bracket its closing one follows: closing brackets,
            // then a comma (or the end of the top container).
            while (c == (object ? '}' : ']')) {
                ++p_;
                close(depth, object);
                if (--depth == 0) return true;
                object = levels_[depth - 1].object;
                c = next();
            }
            if (c != ',') return syntax_fail();
            ++p_;
            just_opened = false;
        }
    }

    bool member_key(std::size_t depth) {
        std::string_view k;
        bool unescaped = false;
        if (!string(&k, &unescaped)) return false;
        if (k.size() > limits_.max_key_bytes) return key_too_long_fail();
        if (!limits_.unique_keys) {
            if (handler_ != nullptr) handler_->key(depth, k);
            return true;
        }
        level& l = levels_[depth - 1];
        if (unescaped) k = *owned_.emplace_back(std::make_unique<std::string>(k));  // scratch_ is reused
        bool duplicate = false;
        if (l.indexed) {
            duplicate = !indexes_.back()->insert(k).second;
        } else {
            const std::uint64_t tag = key_tag(k);
            const key_record* const first = keys_.data() + l.keys_begin;
            const key_record* const last = keys_.data() + keys_.size();
            for (const key_record* r = first; r != last; ++r) {
                if (r->tag == tag && r->text == k) {
                    duplicate = true;
                    break;
                }
            }
            if (!duplicate && static_cast<std::size_t>(last - first) + 1 > linear_keys) {
                // From here on this object's keys are looked up in a set (its key_records are
                // kept only to be dropped when it closes).
                auto index = std::make_unique<std::unordered_set<std::string_view>>();
                for (std::size_t i = l.keys_begin; i < keys_.size(); ++i) index->insert(keys_[i].text);
                index->insert(k);
                indexes_.push_back(std::move(index));
                l.indexed = true;
            }
            keys_.push_back({tag, k});
        }
        if (duplicate) return fail("duplicate_key", "a JSON object has a duplicate key");
        if (handler_ != nullptr) handler_->key(depth, k);
        return true;
    }

    /// A string, number or literal at p_.
    bool scalar(value_type* type, std::string_view* text) {
        const char c = *p_;
        if (c == '"') {
            *type = value_type::string;
            bool unescaped = false;
            return string(text, &unescaped);
        }
        if (c == '-' || is_digit(c)) {
            *type = value_type::number;
            return number(text);
        }
        const char* start = p_;
        auto literal = [&](std::string_view word, value_type t) {
            if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) {
                return truncated_fail(word);
            }
            p_ += word.size();
            *type = t;
            *text = std::string_view(start, word.size());
            return true;
        };
        if (c == 't') return literal("true", value_type::boolean);
        if (c == 'f') return literal("false", value_type::boolean);
        if (c == 'n') return literal("null", value_type::null);
        return syntax_fail();
    }

    /// A string at p_ ('"'). Without escapes the view points into the text; with them, into
    /// scratch_ (valid until the next string), and *unescaped is set.
    bool string(std::string_view* out, bool* unescaped) {
        // The usual string: no escape, no control byte, not cut off by the end of the text. Its
        // UTF-8 is checked here, sequence by sequence (strict_parse checks no text up front).
        // Anything else takes the full path, which reads the string again from its start.
        const char* start = p_ + 1;
        if (!locate_bad_utf8_) {
            const auto* q = reinterpret_cast<const unsigned char*>(start);
            const auto* e = reinterpret_cast<const unsigned char*>(end_);
            for (;;) {
                q = skip_plain_ascii(q, e);
                if (q == e) break;
                const unsigned char c = *q;
                if (c == '"') {
                    *out = std::string_view(start, static_cast<std::size_t>(reinterpret_cast<const char*>(q) - start));
                    p_ = reinterpret_cast<const char*>(q) + 1;
                    return true;
                }
                if (c >= 0x80U) {
                    std::size_t prefix = 0;
                    const std::size_t n = utf8_sequence(q, e, &prefix);
                    if (n == 0) break;
                    q += n;
                } else if (c >= 0x20U && c != '\\') {
                    ++q;  // near the end of the text, where the scan leaves a few bytes unread
                } else {
                    break;  // an escape or a control byte
                }
            }
        }
        return string_checked(out, unescaped);
    }

    bool string_checked(std::string_view* out, bool* unescaped) {
        const char* start = p_ + 1;
        const bool ok = string_body(out, unescaped);
        if (locate_bad_utf8_) {
            // The bytes read so far, before any other error in this string: the first invalid
            // sequence is the offence (the end of the text, when it cut a valid beginning short).
            const char* read_end = ok ? p_ - 1 : p_;
            const auto* b = reinterpret_cast<const unsigned char*>(start);
            const auto* e = reinterpret_cast<const unsigned char*>(read_end);
            const auto* text_end = reinterpret_cast<const unsigned char*>(end_);
            for (const auto* q = b; q < e;) {
                std::size_t prefix = 0;
                const std::size_t n = utf8_sequence(q, text_end, &prefix);
                if (n == 0) {
                    const bool cut = q + prefix == text_end && *q >= 0xC2U && *q <= 0xF4U;
                    p_ = cut ? end_ : reinterpret_cast<const char*>(q);
                    failure_.reset();
                    return syntax_fail();
                }
                q += n;
            }
        } else if (ok && !valid_utf8(std::string_view(start, static_cast<std::size_t>(p_ - 1 - start)))) {
            // Any failure sends strict_parse to check the whole text, which then reports this.
            return fail("bad_utf8", "request body is not valid UTF-8");
        }
        return ok;
    }

    bool string_body(std::string_view* out, bool* unescaped) {
        const char* start = ++p_;
        // Fast path: a run without escapes or control characters (string_checked checks its UTF-8).
        p_ = skip_plain_string(p_, end_);
        while (p_ != end_) {
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                *out = std::string_view(start, static_cast<std::size_t>(p_ - start));
                ++p_;
                return true;
            }
            if (c == '\\' || c < 0x20U) break;
            ++p_;
        }
        if (p_ == end_ || static_cast<unsigned char>(*p_) < 0x20U) return syntax_fail();
        scratch_.assign(start, p_);
        while (p_ != end_) {
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                ++p_;
                *out = scratch_;
                *unescaped = true;
                return true;
            }
            if (c < 0x20U) return syntax_fail();
            if (c != '\\') {
                scratch_.push_back(static_cast<char>(c));
                ++p_;
                continue;
            }
            if (++p_ == end_) return syntax_fail();
            switch (*p_) {
                case '"': scratch_.push_back('"'); break;
                case '\\': scratch_.push_back('\\'); break;
                case '/': scratch_.push_back('/'); break;
                case 'b': scratch_.push_back('\b'); break;
                case 'f': scratch_.push_back('\f'); break;
                case 'n': scratch_.push_back('\n'); break;
                case 'r': scratch_.push_back('\r'); break;
                case 't': scratch_.push_back('\t'); break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!hex4(&cp)) return false;
                    if (cp >= 0xDC00U && cp <= 0xDFFFU) return syntax_fail();  // a lone low surrogate
                    if (cp >= 0xD800U && cp <= 0xDBFFU) {
                        std::uint32_t low = 0;
                        if (end_ - p_ < 3 || p_[1] != '\\' || p_[2] != 'u') {
                            ++p_;
                            return truncated_fail("\\u");
                        }
                        p_ += 2;
                        if (!hex4(&low)) return false;
                        if (low < 0xDC00U || low > 0xDFFFU) return syntax_fail();
                        cp = 0x10000U + ((cp - 0xD800U) << 10U) + (low - 0xDC00U);
                    }
                    append_utf8(scratch_, cp);
                    break;
                }
                default: return syntax_fail();
            }
            ++p_;
        }
        return syntax_fail();
    }

    /// Reads the 4 hex digits after "\u" (p_ at 'u'), leaving p_ on the last digit; a syntax
    /// error (p_ on the first bad digit, or at the end) otherwise.
    bool hex4(std::uint32_t* cp) {
        std::uint32_t v = 0;
        for (int i = 1; i <= 4; ++i) {
            if (p_ + i == end_) {
                p_ = end_;
                return syntax_fail();
            }
            const int h = hex_value(p_[i]);
            if (h < 0) {
                p_ += i;
                return syntax_fail();
            }
            v = (v << 4U) | static_cast<std::uint32_t>(h);
        }
        p_ += 4;
        *cp = v;
        return true;
    }

    bool number(std::string_view* text) {
        const char* start = p_;
        if (*p_ == '-') ++p_;
        if (p_ == end_ || !is_digit(*p_)) return syntax_fail();
        std::size_t int_digits = 0;
        if (*p_ == '0') {
            ++p_;
            int_digits = 1;
        } else {
            while (p_ != end_ && is_digit(*p_)) {
                ++p_;
                ++int_digits;
            }
        }
        if (p_ != end_ && *p_ == '.') {
            ++p_;
            if (p_ == end_ || !is_digit(*p_)) return syntax_fail();
            while (p_ != end_ && is_digit(*p_)) ++p_;
        }
        bool exponent = false;
        if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
            exponent = true;
            ++p_;
            if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
            if (p_ == end_ || !is_digit(*p_)) return syntax_fail();
            while (p_ != end_ && is_digit(*p_)) ++p_;
        }
        *text = std::string_view(start, static_cast<std::size_t>(p_ - start));
        // A number no double can hold (1e999) is refused, as strict decoders do; only these
        // shapes can overflow, so only they pay for the conversion.
        if (exponent || int_digits > 300) {
            const std::string copy(*text);
            if (std::isinf(std::strtod(copy.c_str(), nullptr))) {
                p_ = start;
                return syntax_fail();
            }
        }
        return true;
    }

    const char* p_;
    const char* begin_;
    const char* end_;
    const strict_limits& limits_;
    strict_handler* handler_;
    buffers_lease lease_;
    std::vector<level>& levels_ = lease_.get().levels;
    std::vector<key_record>& keys_ = lease_.get().keys;
    std::vector<std::unique_ptr<std::unordered_set<std::string_view>>>& indexes_ = lease_.get().indexes;
    std::vector<std::unique_ptr<std::string>>& owned_ = lease_.get().owned;
    std::string& scratch_ = lease_.get().scratch;
    std::optional<error> failure_;
    bool eof_ = false;  ///< the failure came from the text ending inside a value

public:
    /// For position() after "bad_utf8": strings are checked for UTF-8 as they are read, so the
    /// first offence in document order is found (a syntax error may come before the bad bytes).
    bool locate_bad_utf8_ = false;
};

}  // namespace

bool valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        p = skip_ascii(p, end);
        if (p == end) break;
        if (*p < 0x80U) {
            ++p;
            continue;
        }
        std::size_t prefix = 0;
        const std::size_t n = utf8_sequence(p, end, &prefix);
        if (n == 0) return false;
        p += n;
    }
    return true;
}

std::optional<error> strict_parse(std::string_view text, const strict_limits& limits, strict_handler* handler) {
    return strict_parse(text, limits, handler, nullptr);
}

std::optional<error> strict_parse(std::string_view text, const strict_limits& limits, strict_handler* handler,
                                  strict_failure_position* where) {
    // One pass. The reader checks the UTF-8 of every string as it reads it, and a byte >= 0x80
    // anywhere else is a syntax error: an accepted text is valid UTF-8. A refused one is judged
    // as if the whole text had been checked first: invalid UTF-8 anywhere wins, then a byte
    // order mark, then the reader's own first failure.
    std::optional<error> failure;
    strict_failure_position position;
    {
        reader r(text, limits, handler);
        failure = r.run();
        if (!failure) return std::nullopt;
        position = r.position();
    }
    if (!valid_utf8(text)) {
        if (where != nullptr) {
            reader r(text, limits, nullptr);
            r.locate_bad_utf8_ = true;
            (void)r.run();
            *where = r.position();
        }
        return make_error("bad_utf8", "request body is not valid UTF-8");
    }
    if (text.starts_with("\xEF\xBB\xBF")) {
        if (where != nullptr) *where = {0, false};
        return make_error("not_json", "request body starts with a byte order mark");
    }
    if (where != nullptr) *where = position;
    return failure;
}

void append_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        // Copy the run that needs no escaping in one go.
        const auto* run = p;
        p = skip_plain_ascii(p, end);
        while (p < end && *p >= 0x20U && *p < 0x80U && *p != '"' && *p != '\\') ++p;
        out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
        if (p == end) break;
        const unsigned char c = *p;
        if (c >= 0x80U) {
            std::size_t prefix = 0;
            const std::size_t n = utf8_sequence(p, end, &prefix);
            if (n == 0) {
                out.append("\xEF\xBF\xBD");
                p += prefix;
            } else {
                out.append(reinterpret_cast<const char*>(p), n);
                p += n;
            }
            continue;
        }
        ++p;
        switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\b': out.append("\\b"); break;
            case '\f': out.append("\\f"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            default: {
                const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4U], hex[c & 0xFU]};
                out.append(esc, sizeof esc);
            }
        }
    }
}

}  // namespace stsauth::json
