#include "sts/response.hpp"

#include "common/encoding.hpp"
#include "common/strict_json.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

namespace stsauth::sts {
namespace {

using json_dom = nlohmann::json;

bool ascii_lower_equal(char a, char b) noexcept {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(a) == lower(b);
}

/// Go's bytes.EqualFold restricted to an ASCII field name: ASCII letters fold by case, and the
/// only non-ASCII runes folding onto ASCII letters are U+017F (ſ ~ s) and U+212A (Kelvin ~ k).
bool go_fold_equal(std::string_view key, std::string_view field) noexcept {
    // A folded rune is never shorter than the ASCII letter it matches, and at most 3 bytes.
    if (key.size() < field.size() || key.size() > 3 * field.size()) return false;
    if (key == field) return true;  // the spelling STS uses
    std::size_t i = 0;
    for (char f : field) {
        if (i >= key.size()) return false;
        const auto c = static_cast<unsigned char>(key[i]);
        if (c < 0x80) {
            if (!ascii_lower_equal(key[i], f)) return false;
            ++i;
            continue;
        }
        const char lf = static_cast<char>(f | 0x20);
        if (lf == 's' && key.substr(i, 2) == "\xC5\xBF") {
            i += 2;
        } else if (lf == 'k' && key.substr(i, 3) == "\xE2\x84\xAA") {
            i += 3;
        } else {
            return false;
        }
    }
    return i == key.size();
}

/// Where the value after the current key goes.
enum class slot : std::uint8_t { none, response, result, arn, account, user_id };

/// Mirrors Go's reflection-driven decoding of
/// struct{GetCallerIdentityResponse struct{GetCallerIdentityResult struct{Arn, Account, UserId string}}}
/// over the one-pass reader's events (json::strict_parse with repeated keys and any top-level
/// value allowed). No document is built: this is the uncached hot path.
class identity_reader final : public json::strict_handler {
public:
    explicit identity_reader(caller_identity& out) : out_(out) {}

    void key(std::size_t, std::string_view k) override {
        if (skip_ > 0) return;
        pending_ = slot::none;
        if (level_ == 1) {
            if (go_fold_equal(k, "GetCallerIdentityResponse")) pending_ = slot::response;
        } else if (level_ == 2) {
            if (go_fold_equal(k, "GetCallerIdentityResult")) pending_ = slot::result;
        } else if (level_ == 3) {
            if (go_fold_equal(k, "Arn")) {
                pending_ = slot::arn;
            } else if (go_fold_equal(k, "Account")) {
                pending_ = slot::account;
            } else if (go_fold_equal(k, "UserId")) {
                pending_ = slot::user_id;
            }
        }
    }

    void value(std::size_t, json::value_type type, std::string_view text) override {
        if (skip_ > 0) {
            if (type == json::value_type::object || type == json::value_type::array) ++skip_;
            return;
        }
        const slot p = std::exchange(pending_, slot::none);
        switch (type) {
            case json::value_type::object:
                if (level_ == 0 || (level_ == 1 && p == slot::response) || (level_ == 2 && p == slot::result)) {
                    ++level_;
                    return;
                }
                if (p != slot::none) type_mismatch(p, "object");
                skip_ = 1;
                return;
            case json::value_type::array:
                if (level_ == 0) {
                    type_mismatch(slot::none, "array");
                } else if (p != slot::none) {
                    type_mismatch(p, "array");
                }
                skip_ = 1;
                return;
            case json::value_type::null: return;  // Go: null into a string or struct is a no-op
            case json::value_type::string:
                switch (p) {
                    case slot::arn: out_.arn.assign(text); return;
                    case slot::account: out_.account.assign(text); return;
                    case slot::user_id: out_.user_id.assign(text); return;
                    default: break;
                }
                [[fallthrough]];
            case json::value_type::number:
            case json::value_type::boolean: {
                const bool is_string = type == json::value_type::string;
                if (level_ == 0) {
                    type_mismatch(slot::none, is_string ? "string" : "scalar");
                } else if (p != slot::none) {
                    type_mismatch(p, is_string ? "string" : "non-string");
                }
                return;
            }
        }
    }

    void close(std::size_t, json::value_type) override {
        if (skip_ > 0) {
            --skip_;
        } else {
            --level_;
        }
    }

    /// Go reports the first type mismatch after the whole value was decoded.
    const std::string& type_error() const { return type_error_; }

private:
    void type_mismatch(slot where, std::string_view got) {
        if (!type_error_.empty()) return;
        static constexpr std::array<std::string_view, 6> names = {
            "top-level value", "GetCallerIdentityResponse", "GetCallerIdentityResult", "Arn", "Account", "UserId"};
        type_error_ = "cannot unmarshal JSON ";
        type_error_ += got;
        type_error_ += " into ";
        type_error_ += names[static_cast<std::size_t>(where)];
    }

    caller_identity& out_;
    int level_ = 0;         // objects entered along the tracked path (1 = root object)
    std::size_t skip_ = 0;  // depth inside an ignored value
    slot pending_ = slot::none;
    std::string type_error_;
};

bool is_json_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Only characters AWS uses in error codes; anything else means we do not trust the value.
std::string sanitize_error_code(std::string_view code) {
    constexpr std::size_t max_code = 64;
    if (code.empty() || code.size() > max_code) return {};
    const bool clean = std::all_of(code.begin(), code.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == '-' || c == ':';
    });
    return clean ? std::string(code) : std::string();
}

struct sts_error_info {
    std::string code;
    std::string message;
};

/// STS's JSON error shape `{"Error":{"Code":..,"Message":..,"Type":..},"RequestId":..}` or the
/// XML one `<ErrorResponse><Error><Code>..</Code><Message>..</Message>`. Error path only, so a
/// DOM is fine here.
sts_error_info extract_sts_error(std::string_view body) {
    sts_error_info info;
    const json_dom doc = json_dom::parse(body.begin(), body.end(), nullptr, false);
    if (!doc.is_discarded()) {
        if (!doc.is_object()) return info;
        for (const auto& [k, v] : doc.items()) {
            if (!go_fold_equal(k, "Error") || !v.is_object()) continue;
            for (const auto& [ek, ev] : v.items()) {
                if (!ev.is_string()) continue;
                if (go_fold_equal(ek, "Code")) info.code = ev.get<std::string>();
                if (go_fold_equal(ek, "Message")) info.message = ev.get<std::string>();
            }
        }
        return info;
    }
    auto xml_element = [&](std::string_view name) -> std::string {
        const std::string open = "<" + std::string(name) + ">";
        const std::string close = "</" + std::string(name) + ">";
        const auto b = body.find(open);
        if (b == std::string_view::npos) return {};
        const auto e = body.find(close, b + open.size());
        if (e == std::string_view::npos) return {};
        return std::string(body.substr(b + open.size(), e - b - open.size()));
    };
    info.code = xml_element("Code");
    info.message = xml_element("Message");
    return info;
}

sts_outcome make_outcome(outcome_kind kind, std::string reason, unsigned status) {
    sts_outcome o;
    o.kind = kind;
    o.reason = std::move(reason);
    o.http_status = status;
    return o;
}

}  // namespace

result<caller_identity> parse_caller_identity(std::string_view body) {
    caller_identity id;
    if (body.substr(0, 3) == "\xEF\xBB\xBF") {
        return make_error("sts_bad_json", "STS response is not valid JSON: invalid character at byte 1");
    }
    // Go's encoding/json: any value at the top, repeated keys (the last wins), no depth or size
    // limits of our own (the client bounds the body, and the reader's stack is on the heap).
    json::strict_limits limits;
    limits.unique_keys = false;
    limits.object_only = false;
    limits.max_depth = body.size() + 1;
    limits.max_string_bytes = body.size();
    limits.max_key_bytes = body.size();
    identity_reader reader(id);
    json::strict_failure_position where;
    if (json::strict_parse(body, limits, &reader, &where)) {
        const auto first = std::find_if_not(body.begin(), body.end(), is_json_space);
        if (first != body.end() && *first == '<') {
            return make_error("sts_xml_body", "STS answered XML; a JSON body was expected");
        }
        if (where.end_of_input || first == body.end()) {
            return make_error("sts_bad_json", "STS response is not valid JSON: unexpected end of JSON input");
        }
        // As Go's SyntaxError.Offset: the bytes read up to and including the offending one.
        return make_error("sts_bad_json", "STS response is not valid JSON: invalid character at byte " +
                                              std::to_string(where.offset + 1));
    }
    if (!reader.type_error().empty()) return make_error("sts_bad_shape", "STS response: " + reader.type_error());
    return id;
}

std::string_view to_string(outcome_kind kind) noexcept {
    switch (kind) {
        case outcome_kind::ok: return "ok";
        case outcome_kind::throttled: return "throttled";
        case outcome_kind::rejected: return "rejected";
        case outcome_kind::unavailable: return "unavailable";
        case outcome_kind::bad_response: return "bad_response";
    }
    return "unknown";
}

std::string sanitize_snippet(std::string_view text, std::size_t max_len) {
    static constexpr std::array<std::string_view, 3> stop_words = {"x-amz-", "signature=", "credential="};
    std::size_t cut = std::min(text.size(), max_len);
    for (std::size_t i = 0; i < cut; ++i) {
        for (auto w : stop_words) {
            if (encoding::iequals(text.substr(i, w.size()), w)) {
                cut = i;
                break;
            }
        }
    }
    std::string out(text.substr(0, cut));
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) c = '?';
    }
    if (cut < text.size()) out += "...";
    return out;
}

sts_outcome classify_response(unsigned http_status, std::string_view body) {
    if (http_status == 200) {
        auto id = parse_caller_identity(body);
        if (!id) {
            sts_outcome o = make_outcome(outcome_kind::bad_response, id.code(), http_status);
            o.detail = id.err().message;
            return o;
        }
        sts_outcome o = make_outcome(outcome_kind::ok, "ok", http_status);
        o.identity = std::move(id).value();
        return o;
    }

    sts_outcome o;
    if (body.find("Throttling") != std::string_view::npos || http_status == 429) {
        o = make_outcome(outcome_kind::throttled, "sts_throttled", http_status);
    } else if (http_status >= 300 && http_status < 400) {
        o = make_outcome(outcome_kind::bad_response, "sts_redirect", http_status);
    } else if (http_status >= 400 && http_status < 500) {
        o = make_outcome(outcome_kind::rejected, "sts_rejected", http_status);
    } else if (http_status >= 500 && http_status < 600) {
        o = make_outcome(outcome_kind::unavailable, "sts_server_error", http_status);
    } else {
        o = make_outcome(outcome_kind::bad_response, "sts_unexpected_status", http_status);
    }

    const sts_error_info info = extract_sts_error(body);
    o.sts_error_code = sanitize_error_code(info.code);
    if (o.kind == outcome_kind::throttled) {
        o.detail = "sts getCallerIdentity was throttled (HTTP " + std::to_string(http_status) + ")";
    } else if (o.kind == outcome_kind::bad_response && o.reason == "sts_redirect") {
        o.detail = "STS answered HTTP " + std::to_string(http_status) + "; redirects are never followed";
    } else {
        o.detail = "error from AWS (expected 200, got " + std::to_string(http_status) + ")";
        if (!o.sts_error_code.empty()) {
            o.detail += ": ";
            o.detail += o.sts_error_code;
            if (!info.message.empty()) {
                o.detail += ": ";
                o.detail += sanitize_snippet(info.message, 160);
            }
        } else if (!body.empty()) {
            o.detail += ". Body: ";
            o.detail += sanitize_snippet(body, 160);
        }
    }
    return o;
}

sts_outcome oversize_response(unsigned http_status, std::size_t limit) {
    sts_outcome o = make_outcome(outcome_kind::bad_response, "sts_body_too_large", http_status);
    o.detail = "STS response body exceeds " + std::to_string(limit) + " bytes";
    return o;
}

sts_outcome transport_failure(std::string reason, std::string_view detail, outcome_kind kind) {
    sts_outcome o = make_outcome(kind, std::move(reason), 0);
    o.detail = sanitize_snippet(detail, 240);
    return o;
}

}  // namespace stsauth::sts
