#include "tokenreview/tokenreview.hpp"

#include "common/strict_json.hpp"

#include <fmt/format.h>

#include <optional>
#include <utility>

namespace stsauth::tokenreview {
namespace {

constexpr std::string_view v1 = "authentication.k8s.io/v1";
constexpr std::string_view v1beta1 = "authentication.k8s.io/v1beta1";

enum class field { other, api_version, kind, spec, token, audiences };

// Keeps what decode() needs while the strict reader walks the body once; the checks on these
// fields run only after the whole body was accepted (a structural error anywhere wins).
class review_reader final : public json::strict_handler {
public:
    explicit review_reader(const decode_limits& limits) : limits_(limits) {}

    void key(std::size_t depth, std::string_view k) override {
        if (depth == 1) {
            top_ = k == "apiVersion" ? field::api_version : k == "kind" ? field::kind : k == "spec" ? field::spec : field::other;
        } else if (depth == 2 && in_spec_) {
            spec_ = k == "token" ? field::token : k == "audiences" ? field::audiences : field::other;
        }
    }

    void value(std::size_t depth, json::value_type type, std::string_view text) override {
        if (depth == 1) {
            switch (top_) {
                case field::api_version:
                    api_version_type = type;
                    if (type == json::value_type::string) {
                        api_version_known = text == v1 || text == v1beta1;
                        version = text == v1 ? api_version::v1 : api_version::v1beta1;
                    }
                    break;
                case field::kind: kind_type = type; kind_ok = type == json::value_type::string && text == "TokenReview"; break;
                case field::spec: spec_type = type; in_spec_ = type == json::value_type::object; break;
                default: break;
            }
        } else if (depth == 2 && in_spec_) {
            if (spec_ == field::token) {
                token_type = type;
                if (type == json::value_type::string) token.assign(text);
            } else if (spec_ == field::audiences) {
                audiences_type = type;
                in_audiences_ = type == json::value_type::array;
            }
        } else if (depth == 3 && in_audiences_) {
            ++audience_count;
            if (type != json::value_type::string) {
                audience_not_string = true;
            } else if (audience_count <= limits_.max_audiences) {
                audiences.emplace_back(text);
            }
        }
    }

    void close(std::size_t depth, json::value_type) override {
        if (depth == 2) in_spec_ = false;
        if (depth == 3) in_audiences_ = false;
    }

    std::optional<json::value_type> api_version_type, kind_type, spec_type, token_type, audiences_type;
    bool api_version_known = false;
    api_version version = api_version::v1beta1;
    bool kind_ok = false;
    std::string token;
    std::vector<std::string> audiences;
    std::size_t audience_count = 0;
    bool audience_not_string = false;

private:
    const decode_limits& limits_;
    field top_ = field::other;
    field spec_ = field::other;
    bool in_spec_ = false;
    bool in_audiences_ = false;
};

// Output buffer sizes: the envelope and the fixed keys (~400 bytes) plus the values.
constexpr std::size_t reply_overhead = 512;

void append_quoted(std::string& out, std::string_view s) {
    out.push_back('"');
    json::append_escaped(out, s);
    out.push_back('"');
}

void append_envelope(std::string& out, api_version v) {
    out.append(R"({"apiVersion":")");
    out.append(api_version_string(v));
    out.append(R"(","kind":"TokenReview","metadata":{},"spec":{},"status":{)");
}

template <class Strings>
void append_list(std::string& out, const Strings& values) {
    out.push_back('[');
    bool first = true;
    for (const auto& v : values) {
        if (!first) out.push_back(',');
        first = false;
        append_quoted(out, v);
    }
    out.push_back(']');
}

}  // namespace

std::string_view api_version_string(api_version v) noexcept { return v == api_version::v1 ? v1 : v1beta1; }

static json::strict_limits strict_limits_for(const decode_limits& limits) {
    json::strict_limits s;
    s.max_depth = limits.max_depth;
    s.max_string_bytes = limits.max_string_bytes;
    s.max_key_bytes = limits.max_key_bytes;
    s.document = "TokenReview object";
    return s;
}

result<request> decode(std::string_view body, const decode_limits& limits) {
    review_reader r(limits);
    if (auto failure = json::strict_parse(body, strict_limits_for(limits), &r)) {
        if (failure->code == "not_object") failure->message = "request body is not a JSON object";
        return std::move(*failure);
    }
    using json::value_type;
    request out;
    if (r.api_version_type) {
        if (*r.api_version_type != value_type::string) return make_error("bad_api_version", "apiVersion is not a string");
        if (!r.api_version_known) {
            return make_error("bad_api_version", "apiVersion must be authentication.k8s.io/v1 or authentication.k8s.io/v1beta1");
        }
        out.version = r.version;
        out.api_version_present = true;
    }
    if (r.kind_type && !r.kind_ok) return make_error("bad_kind", "kind must be TokenReview");
    if (!r.spec_type || *r.spec_type == value_type::null) return make_error("missing_token", "spec.token is missing");
    if (*r.spec_type != value_type::object) return make_error("bad_spec", "spec is not an object");
    if (!r.token_type || *r.token_type == value_type::null) return make_error("missing_token", "spec.token is missing");
    if (*r.token_type != value_type::string) return make_error("bad_token_type", "spec.token is not a string");
    out.token = secret<std::string>(std::move(r.token));
    if (r.audiences_type && *r.audiences_type != value_type::null) {
        if (*r.audiences_type != value_type::array) return make_error("bad_audiences", "spec.audiences is not a list");
        if (r.audience_count > limits.max_audiences) {
            return make_error("bad_audiences", fmt::format("spec.audiences has more than {} entries", limits.max_audiences));
        }
        if (r.audience_not_string) return make_error("bad_audiences", "spec.audiences holds a non-string");
        out.audiences = std::move(r.audiences);
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
    std::string out;
    out.reserve(reply_overhead + user.username.size() + 2 * user.uid.size());
    append_envelope(out, v);
    out.append(R"("authenticated":true,"user":{"username":)");
    append_quoted(out, user.username);
    out.append(R"(,"uid":)");
    append_quoted(out, user.uid);
    if (!user.groups.empty()) {
        out.append(R"(,"groups":)");
        append_list(out, user.groups);
    }
    if (!user.extra.empty()) {
        out.append(R"(,"extra":{)");
        bool first = true;
        for (const auto& [key, values] : user.extra) {  // std::map: sorted, as Go writes map keys
            if (!first) out.push_back(',');
            first = false;
            append_quoted(out, key);
            out.push_back(':');
            append_list(out, values);
        }
        out.push_back('}');
    }
    out.append("}}}\n");
    return out;
}

std::string encode_authenticated(api_version v, const principal_view& p, std::string_view username,
                                 const std::vector<std::string>& groups, bool scrubbed_account) {
    std::string out;
    out.reserve(reply_overhead + username.size() + 2 * (p.arn.size() + p.canonical_arn.size()) + 3 * p.user_id.size());
    append_envelope(out, v);
    out.append(R"("authenticated":true,"user":{"username":)");
    append_quoted(out, username);
    out.append(R"(,"uid":")");
    if (scrubbed_account) {
        out.append("aws-iam-authenticator:administrative:");
        json::append_escaped(out, username);
    } else {
        out.append("aws-iam-authenticator:");
        json::append_escaped(out, p.account_id);
        out.push_back(':');
        json::append_escaped(out, p.user_id);
    }
    out.push_back('"');
    if (!groups.empty()) {
        out.append(R"(,"groups":)");
        append_list(out, groups);
    }
    if (!scrubbed_account) {
        // make_user's six keys, in sorted order.
        const std::pair<std::string_view, std::string_view> extra[] = {
            {"accessKeyId", p.access_key_id},
            {"arn", p.arn},
            {"canonicalArn", p.canonical_arn},
            {"principalId", p.user_id},
            {"sessionName", p.session_name},
            {"sigs.k8s.io/aws-iam-authenticator/principalId", p.user_id},
        };
        out.append(R"(,"extra":{)");
        bool first = true;
        for (const auto& [key, value] : extra) {
            if (!first) out.push_back(',');
            first = false;
            out.push_back('"');
            out.append(key);
            out.append(R"(":[)");
            append_quoted(out, value);
            out.push_back(']');
        }
        out.push_back('}');
    }
    out.append("}}}\n");
    return out;
}

std::string encode_denied(api_version v, std::string_view reason) {
    std::string out;
    out.reserve(reply_overhead + reason.size());
    append_envelope(out, v);
    out.append(R"("authenticated":false,"user":{},"error":)");
    append_quoted(out, reason);
    out.append("}}\n");
    return out;
}

}  // namespace stsauth::tokenreview
