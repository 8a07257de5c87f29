#pragma once
/// \file
/// A strict, single-pass JSON reader for request bodies at the edge (A11): exactly one JSON
/// object and nothing after it but whitespace, valid UTF-8 only (RFC 3629: shortest forms, no
/// surrogates), no duplicate key in any object (keys compared after unescaping), nesting and
/// string sizes bounded, RFC 8259 grammar only (no comments, no trailing commas, no NaN, no
/// number that overflows a double, no lone surrogate escape).
///
/// It builds no document: it reports keys and values to a handler as it meets them (strings
/// already unescaped, numbers and literals as their text), so a caller keeps only the few fields
/// it needs. Without a handler it is a pure checker. Used by lib/tokenreview (TokenReview),
/// lib/access (SubjectAccessReview) and, with repeated keys and any top-level value allowed
/// (strict_limits::unique_keys, object_only), lib/sts for STS answers read as Go reads them.
///
/// Error codes (the first violation in document order, except that invalid UTF-8 anywhere comes
/// before any other: a refused text is reported as if it had been UTF-8 checked first):
/// "bad_utf8", "not_json", "not_object", "trailing_data", "duplicate_key", "too_deep",
/// "string_too_long". Messages quote no input, only byte offsets and limits.

#include "common/result.hpp"

#include <cstddef>
#include <optional>
#include <string_view>

namespace stsauth::json {

struct strict_limits {
    std::size_t max_depth = 32;                ///< open objects/arrays, the top object included
    std::size_t max_string_bytes = 32 * 1024;  ///< any string value, after unescaping
    std::size_t max_key_bytes = 1024;          ///< any object key, after unescaping
    std::string_view document = "JSON object";  ///< names the top object in messages
    /// false: a repeated key in an object is no error; the handler sees every occurrence (for
    /// formats read as Go's encoding/json does, where the last one wins).
    bool unique_keys = true;
    /// false: any JSON value is accepted at the top, not only an object; the handler then also
    /// sees the top value itself, at depth 0 (an object's or array's members still come at 1).
    /// "not_object" is never reported.
    bool object_only = true;
};

enum class value_type { object, array, string, number, boolean, null };

/// Receives what the reader meets, in document order. `depth` is the nesting level of the
/// member or element: 1 for members of the top object, 2 for what is inside one of its values,
/// and so on. The views are valid only during the call.
class strict_handler {
public:
    virtual ~strict_handler() = default;
    /// An object member's key (unescaped, already checked for size and duplicates).
    virtual void key(std::size_t depth, std::string_view key) = 0;
    /// A value: strings unescaped; numbers, true/false/null as written; for object and array
    /// the call comes when it opens (its members then arrive at depth + 1) and `text` is empty.
    virtual void value(std::size_t depth, value_type type, std::string_view text) = 0;
    /// The object or array whose members were at `depth` closed.
    virtual void close(std::size_t depth, value_type type) = 0;

protected:
    strict_handler() = default;
    strict_handler(const strict_handler&) = default;
    strict_handler& operator=(const strict_handler&) = default;
};

/// RFC 3629 UTF-8 (shortest form, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) noexcept;

/// Reads `text` as exactly one JSON object under `limits`, reporting to `handler` (may be null).
/// Returns nothing when the text is acceptable, else the first violation. A handler may have
/// seen part of a text that is then refused (for "bad_utf8", the members before the string
/// that holds the invalid bytes): callers act on what it kept only on success.
std::optional<error> strict_parse(std::string_view text, const strict_limits& limits,
                                  strict_handler* handler = nullptr);

/// Where a refused text went wrong, for callers with their own messages.
struct strict_failure_position {
    std::size_t offset = 0;    ///< byte offset of the offending byte (or text.size())
    bool end_of_input = false;  ///< the text ended inside a value (truncated): offset == text.size()
};

/// strict_parse, which on failure also says where: for "bad_utf8" the first byte of the first
/// invalid sequence; for syntax errors the byte the reader stopped at.
std::optional<error> strict_parse(std::string_view text, const strict_limits& limits, strict_handler* handler,
                                  strict_failure_position* where);

/// Appends `s` to `out` as the body of a JSON string (no quotes), byte for byte as nlohmann's
/// dump() (ensure_ascii off) writes it: `"` and `\` escaped, \b \f \n \r \t short forms,
/// other bytes below 0x20 as \u00xx (lower-case hex), everything else as is. Invalid UTF-8 is
/// never emitted: each maximal invalid subsequence becomes U+FFFD (as nlohmann's
/// error_handler_t::replace and the Unicode recommendation do).
void append_escaped(std::string& out, std::string_view s);

}  // namespace stsauth::json
