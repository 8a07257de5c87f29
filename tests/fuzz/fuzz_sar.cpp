// Fuzz target: the SubjectAccessReview codec (lib/access/sar: decode_sar, encode_sar_response).
//
// Input: a request body as kube-apiserver would POST it to /authorize.
//
// Properties:
//   - every rejection carries a documented error code and a printable message;
//   - the decoder (one pass of lib/common/strict_json with a handler) agrees with an oracle
//     written here independently on a nlohmann DOM of the same body (the C7 rules in their
//     order): same code for every body strict_json's own rules accept, same fields when accepted;
//   - keep_identity=false (the server's path) gives the same code, the same attributes and the
//     same three extras evaluate() reads (`principal`, in both modes as the full map has them),
//     and keeps nothing else;
//   - an accepted body is valid UTF-8 JSON; the reply is JSON in the request's version.

#include "access/sar.hpp"
#include "fuzz_support.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace {

using namespace stsauth;
using access::sar_request;
using json = nlohmann::json;
using std::string_view;

constexpr std::array<string_view, 13> error_codes = {
    "bad_utf8", "not_json", "not_object", "trailing_data", "duplicate_key", "too_deep", "string_too_long",
    "bad_api_version", "bad_kind", "bad_spec", "bad_attributes", "bad_groups", "bad_extra"};

// ---- the oracle: C7's rules on a DOM, in the documented order ---------------------------------

const json* member(const json& o, const char* k) {
    const auto it = o.find(k);
    return it == o.end() || it->is_null() ? nullptr : &*it;
}
bool opt_string(const json& o, const char* k, std::string& out) {
    const json* v = member(o, k);
    if (v == nullptr) return true;
    if (!v->is_string()) return false;
    out = v->get<std::string>();
    return true;
}
bool opt_string_list(const json& o, const char* k) {
    const json* v = member(o, k);
    if (v == nullptr) return true;
    if (!v->is_array()) return false;
    return std::all_of(v->begin(), v->end(), [](const json& x) { return x.is_string(); });
}
bool selector_ok(const json& attrs, const char* name) {
    const json* sel = member(attrs, name);
    if (sel == nullptr) return true;
    if (!sel->is_object()) return false;
    std::string s;
    if (!opt_string(*sel, "rawSelector", s)) return false;
    const json* reqs = member(*sel, "requirements");
    if (reqs == nullptr) return true;
    if (!reqs->is_array()) return false;
    for (const auto& r : *reqs) {
        if (!r.is_object() || !opt_string(r, "key", s) || !opt_string(r, "operator", s) || !opt_string_list(r, "values")) {
            return false;
        }
    }
    return true;
}

// The code for a body strict_json accepted ("" = accepted, then `out` holds the fields).
std::string oracle(const json& doc, const access::sar_decode_limits& limits, sar_request& out) {
    const json* v = member(doc, "apiVersion");
    if (v == nullptr || !v->is_string()) return "bad_api_version";
    if (*v == "authorization.k8s.io/v1") {
        out.version = access::sar_version::v1;
    } else if (*v == "authorization.k8s.io/v1beta1") {
        out.version = access::sar_version::v1beta1;
    } else {
        return "bad_api_version";
    }
    const json* kind = member(doc, "kind");
    if (kind == nullptr || *kind != "SubjectAccessReview") return "bad_kind";
    const json* spec = member(doc, "spec");
    if (spec == nullptr || !spec->is_object()) return "bad_spec";
    const json* ra = member(*spec, "resourceAttributes");
    const json* nra = member(*spec, "nonResourceAttributes");
    if ((ra == nullptr) == (nra == nullptr)) return "bad_spec";
    if (ra != nullptr) {
        if (!ra->is_object()) return "bad_attributes";
        auto& a = out.resource.emplace();
        for (const auto& [k, dst] : {std::pair{"namespace", &a.namespace_name}, {"verb", &a.verb}, {"group", &a.group},
                                     {"version", &a.version}, {"resource", &a.resource}, {"subresource", &a.subresource},
                                     {"name", &a.name}}) {
            if (!opt_string(*ra, k, *dst)) return "bad_attributes";
        }
        if (a.verb.empty() || !selector_ok(*ra, "fieldSelector") || !selector_ok(*ra, "labelSelector")) {
            return "bad_attributes";
        }
    } else {
        if (!nra->is_object()) return "bad_attributes";
        auto& a = out.non_resource.emplace();
        if (!opt_string(*nra, "path", a.path) || !opt_string(*nra, "verb", a.verb)) return "bad_attributes";
        if (a.path.empty() || a.verb.empty()) return "bad_attributes";
    }
    if (!opt_string(*spec, "user", out.user) || !opt_string(*spec, "uid", out.uid)) return "bad_spec";
    if (const json* g = member(*spec, out.version == access::sar_version::v1 ? "groups" : "group")) {
        if (!g->is_array() || g->size() > limits.max_groups) return "bad_groups";
        for (const auto& x : *g) {
            if (!x.is_string()) return "bad_groups";
            out.groups.push_back(x.get<std::string>());
        }
    }
    if (const json* e = member(*spec, "extra")) {
        if (!e->is_object()) return "bad_extra";
        std::size_t total = 0;
        for (const auto& [k, values] : e->items()) {
            auto& list = out.extra[k];
            if (values.is_null()) continue;
            if (!values.is_array()) return "bad_extra";
            total += values.size();
            for (const auto& x : values) {
                if (!x.is_string()) return "bad_extra";
                list.push_back(x.get<std::string>());
            }
        }
        if (total > limits.max_extra_values) return "bad_extra";
    }
    return "";
}

bool same_attributes(const sar_request& a, const sar_request& b) {
    if (a.version != b.version || a.resource.has_value() != b.resource.has_value() ||
        a.non_resource.has_value() != b.non_resource.has_value()) {
        return false;
    }
    if (a.resource) {
        const auto &x = *a.resource, &y = *b.resource;
        if (x.namespace_name != y.namespace_name || x.verb != y.verb || x.group != y.group || x.version != y.version ||
            x.resource != y.resource || x.subresource != y.subresource || x.name != y.name) {
            return false;
        }
    }
    return !a.non_resource || (a.non_resource->path == b.non_resource->path && a.non_resource->verb == b.non_resource->verb);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const string_view body = fuzz::as_text(data, size);
    access::sar_decode_limits limits;
    limits.max_groups = 4;  // small, so the fuzzer reaches the count limits
    limits.max_extra_values = 8;
    const auto req = access::decode_sar(body, limits);
    access::sar_decode_limits lean_limits = limits;
    lean_limits.keep_identity = false;
    const auto lean = access::decode_sar(body, lean_limits);
    FUZZ_CHECK(req.ok() == lean.ok());

    if (!req) {
        FUZZ_CHECK(std::find(error_codes.begin(), error_codes.end(), req.code()) != error_codes.end());
        FUZZ_CHECK(fuzz::printable_ascii(req.err().message));
        FUZZ_CHECK(lean.code() == req.code());
    }
    // The oracle judges only what strict_json let through (its own rules have their own target).
    const bool strict_rule = req.ok() ? false
                                      : std::find(error_codes.begin(), error_codes.begin() + 7, req.code()) !=
                                            error_codes.begin() + 7;
    if (!strict_rule) {
        FUZZ_CHECK(fuzz::valid_utf8(body));
        const auto doc = json::parse(body, nullptr, false);
        FUZZ_CHECK(!doc.is_discarded() && doc.is_object());
        sar_request expected;
        const auto code = oracle(doc, limits, expected);
        FUZZ_CHECK(code == (req.ok() ? std::string() : req.code()));
        if (req.ok()) {
            FUZZ_CHECK(same_attributes(*req, expected));
            FUZZ_CHECK(req->user == expected.user && req->uid == expected.uid && req->groups == expected.groups);
            FUZZ_CHECK(req->extra == expected.extra);
        }
    }
    if (!req) return 0;

    FUZZ_CHECK(same_attributes(*req, *lean));
    FUZZ_CHECK(lean->user.empty() && lean->uid.empty() && lean->groups.empty() && lean->extra.empty());
    // The three extras evaluate() reads: kept in both modes, as the full map has them.
    const std::pair<const char*, const access::extra_value* (*)(const sar_request&)> principal_keys[] = {
        {"canonicalArn", [](const sar_request& r) { return &r.principal.canonical_arn; }},
        {"sigs.k8s.io/aws-iam-authenticator/principalId", [](const sar_request& r) { return &r.principal.principal_id; }},
        {"principalId", [](const sar_request& r) { return &r.principal.principal_id_legacy; }},
    };
    for (const auto& [k, get] : principal_keys) {
        const auto it = req->extra.find(k);
        for (const sar_request* r : {&*req, &*lean}) {
            const access::extra_value& v = *get(*r);
            FUZZ_CHECK(v.present == (it != req->extra.end()));
            if (it == req->extra.end()) continue;
            FUZZ_CHECK(v.count == it->second.size());
            FUZZ_CHECK(v.first == (it->second.empty() ? std::string() : it->second.front()));
        }
    }

    access::sar_status status;
    status.allowed = true;
    status.reason = req->user;  // attacker-influenced text in the reply
    const auto reply = json::parse(access::encode_sar_response(req->version, status), nullptr, false);
    FUZZ_CHECK(!reply.is_discarded() && reply["apiVersion"] == access::api_version_string(req->version));
    FUZZ_CHECK(reply["status"]["allowed"] == true);
    FUZZ_CHECK(req->user.empty() ? !reply["status"].contains("reason") : reply["status"]["reason"] == req->user);
    return 0;
}
