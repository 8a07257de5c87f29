#include "tokenreview/tokenreview.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <unordered_set>

namespace stsauth::tokenreview {
namespace {

using json = nlohmann::json;

constexpr std::string_view v1 = "authentication.k8s.io/v1";
constexpr std::string_view v1beta1 = "authentication.k8s.io/v1beta1";
constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

// RFC 3629: shortest form only, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    auto cont = [](unsigned char c) { return (c & 0xC0U) == 0x80U; };
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80U) {
            ++p;
            continue;
        }
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
            return false;
        }
        if (static_cast<std::size_t>(end - p) <= n) return false;
        if (p[1] < lo || p[1] > hi) return false;
        for (std::size_t i = 2; i <= n; ++i) {
            if (!cont(p[i])) return false;
        }
        p += n + 1;
    }
    return true;
}

// First pass over the body: structure rules a DOM parse cannot see (duplicate keys, depth,
// sizes, exactly one top-level object). Aborts at the first violation.
class strict_checker final : public nlohmann::json_sax<json> {
public:
    explicit strict_checker(const decode_limits& limits) : limits_(limits) {}

    std::optional<error> failure;

    bool null() override { return scalar(); }
    bool boolean(bool) override { return scalar(); }
    bool number_integer(number_integer_t) override { return scalar(); }
    bool number_unsigned(number_unsigned_t) override { return scalar(); }
    bool number_float(number_float_t, const string_t&) override { return scalar(); }
    bool binary(binary_t&) override { return fail("not_json", "binary values are not JSON"); }

    bool string(string_t& val) override {
        if (!scalar()) return false;
        if (val.size() > limits_.max_string_bytes) {
            return fail("string_too_long", fmt::format("a string value is longer than {} bytes", limits_.max_string_bytes));
        }
        return true;
    }

    bool start_object(std::size_t) override {
        if (!open()) return false;
        keys_.emplace_back();
        is_object_.push_back(true);
        return true;
    }

    bool key(string_t& val) override {
        if (val.size() > limits_.max_key_bytes) {
            return fail("string_too_long", fmt::format("an object key is longer than {} bytes", limits_.max_key_bytes));
        }
        if (!keys_.back().insert(val).second) {
            return fail("duplicate_key", "a JSON object has a duplicate key");
        }
        return true;
    }

    bool end_object() override {
        keys_.pop_back();
        return close();
    }

    bool start_array(std::size_t) override {
        if (is_object_.empty()) return fail("not_object", "request body is not a JSON object");
        if (!open()) return false;
        is_object_.push_back(false);
        return true;
    }

    bool end_array() override { return close(); }

    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
        // last_token and the exception text may quote the token: only the offset is kept.
        if (done_) return fail("trailing_data", "data after the TokenReview object");
        return fail("not_json", fmt::format("request body is not valid JSON (syntax error at byte {})", position));
    }

private:
    bool scalar() {
        if (is_object_.empty()) return fail("not_object", "request body is not a JSON object");
        return true;
    }

    bool open() {
        if (is_object_.empty()) {
            if (started_) return fail("trailing_data", "data after the TokenReview object");
            started_ = true;
        }
        if (is_object_.size() >= limits_.max_depth) {
            return fail("too_deep", fmt::format("JSON nesting deeper than {}", limits_.max_depth));
        }
        return true;
    }

    bool close() {
        is_object_.pop_back();
        if (is_object_.empty()) done_ = true;
        return true;
    }

    bool fail(std::string code, std::string message) {
        if (!failure) failure = make_error(std::move(code), std::move(message));
        return false;
    }

    const decode_limits& limits_;
    std::vector<std::unordered_set<std::string>> keys_;
    std::vector<bool> is_object_;
    bool started_ = false;
    bool done_ = false;
};

const json* member(const json& obj, const char* name) {
    auto it = obj.find(name);
    return it == obj.end() ? nullptr : &*it;
}

json::string_t dump(const nlohmann::ordered_json& j) {
    // Replace (never throw on) invalid UTF-8 from names taken from mapping files.
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

nlohmann::ordered_json envelope(api_version v) {
    nlohmann::ordered_json j;
    j["apiVersion"] = api_version_string(v);
    j["kind"] = "TokenReview";
    j["metadata"] = nlohmann::ordered_json::object();
    j["spec"] = nlohmann::ordered_json::object();
    return j;
}

}  // namespace

std::string_view api_version_string(api_version v) noexcept { return v == api_version::v1 ? v1 : v1beta1; }

result<request> decode(std::string_view body, const decode_limits& limits) {
    if (!valid_utf8(body)) return make_error("bad_utf8", "request body is not valid UTF-8");
    if (body.starts_with(utf8_bom)) return make_error("not_json", "request body starts with a byte order mark");
    strict_checker checker(limits);
    if (!json::sax_parse(body, &checker, json::input_format_t::json, true, false)) {
        if (checker.failure) return *checker.failure;
        return make_error("not_json", "request body is not valid JSON");
    }
    const json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return make_error("not_json", "request body is not a JSON object");

    request out;
    if (const json* v = member(doc, "apiVersion")) {
        if (!v->is_string()) return make_error("bad_api_version", "apiVersion is not a string");
        const auto& s = v->get_ref<const std::string&>();
        if (s == v1) {
            out.version = api_version::v1;
        } else if (s == v1beta1) {
            out.version = api_version::v1beta1;
        } else {
            return make_error("bad_api_version", "apiVersion must be authentication.k8s.io/v1 or authentication.k8s.io/v1beta1");
        }
        out.api_version_present = true;
    }
    if (const json* k = member(doc, "kind")) {
        if (!k->is_string() || k->get_ref<const std::string&>() != "TokenReview") {
            return make_error("bad_kind", "kind must be TokenReview");
        }
    }
    const json* spec = member(doc, "spec");
    if (spec == nullptr || spec->is_null()) return make_error("missing_token", "spec.token is missing");
    if (!spec->is_object()) return make_error("bad_spec", "spec is not an object");
    const json* token = member(*spec, "token");
    if (token == nullptr || token->is_null()) return make_error("missing_token", "spec.token is missing");
    if (!token->is_string()) return make_error("bad_token_type", "spec.token is not a string");
    out.token = secret<std::string>(token->get<std::string>());
    if (const json* aud = member(*spec, "audiences"); aud != nullptr && !aud->is_null()) {
        if (!aud->is_array()) return make_error("bad_audiences", "spec.audiences is not a list");
        if (aud->size() > limits.max_audiences) {
            return make_error("bad_audiences", fmt::format("spec.audiences has more than {} entries", limits.max_audiences));
        }
        for (const auto& a : *aud) {
            if (!a.is_string()) return make_error("bad_audiences", "spec.audiences holds a non-string");
            out.audiences.push_back(a.get<std::string>());
        }
    }
    return out;
}

user_info make_user(const principal& p, std::string username, std::vector<std::string> groups, bool scrubbed_account) {
    user_info u;
    if (scrubbed_account) {
        u.uid = "aws-iam-authenticator:administrative:" + username;
    } else {
        u.uid = fmt::format("aws-iam-authenticator:{}:{}", p.account_id, p.user_id);
        u.extra = {
            {"accessKeyId", {p.access_key_id}},
            {"arn", {p.arn}},
            {"canonicalArn", {p.canonical_arn}},
            {"principalId", {p.user_id}},
            {"sessionName", {p.session_name}},
            {"sigs.k8s.io/aws-iam-authenticator/principalId", {p.user_id}},
        };
    }
    u.username = std::move(username);
    u.groups = std::move(groups);
    return u;
}

std::string encode_authenticated(api_version v, const user_info& user) {
    nlohmann::ordered_json u;
    u["username"] = user.username;
    u["uid"] = user.uid;
    if (!user.groups.empty()) u["groups"] = user.groups;
    if (!user.extra.empty()) {
        nlohmann::ordered_json extra = nlohmann::ordered_json::object();
        for (const auto& [key, values] : user.extra) extra[key] = values;
        u["extra"] = std::move(extra);
    }
    auto j = envelope(v);
    j["status"]["authenticated"] = true;
    j["status"]["user"] = std::move(u);
    return dump(j);
}

std::string encode_denied(api_version v, std::string_view reason) {
    auto j = envelope(v);
    j["status"]["authenticated"] = false;
    j["status"]["user"] = nlohmann::ordered_json::object();
    j["status"]["error"] = reason;
    return dump(j);
}

}  // namespace stsauth::tokenreview
