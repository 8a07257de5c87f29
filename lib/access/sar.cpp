#include "access/sar.hpp"

#include "common/strict_json.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>

namespace stsauth::access {
namespace {

using json = nlohmann::json;

constexpr std::string_view v1 = "authorization.k8s.io/v1";
constexpr std::string_view v1beta1 = "authorization.k8s.io/v1beta1";
const json* member(const json& obj, const char* name) {
    const auto it = obj.find(name);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
}

// An optional string field: absent or null -> "", a string -> its value, else an error.
status read_string(const json& obj, const char* name, std::string& out, const char* code, std::string_view where) {
    const json* v = member(obj, name);
    if (v == nullptr) return ok_status();
    if (!v->is_string()) return make_error(code, fmt::format("{}.{} is not a string", where, name));
    out = v->get<std::string>();
    return ok_status();
}

status read_string_list(const json& obj, const char* name, std::vector<std::string>& out, std::size_t max,
                        const char* code, std::string_view where) {
    const json* v = member(obj, name);
    if (v == nullptr) return ok_status();
    if (!v->is_array()) return make_error(code, fmt::format("{}.{} is not a list", where, name));
    if (v->size() > max) return make_error(code, fmt::format("{}.{} has more than {} entries", where, name, max));
    for (const auto& item : *v) {
        if (!item.is_string()) return make_error(code, fmt::format("{}.{} holds a non-string", where, name));
        out.push_back(item.get<std::string>());
    }
    return ok_status();
}

// fieldSelector / labelSelector: {requirements: [{key, operator, values}], rawSelector}. Shape
// only; their values never change the decision (C6.3).
status check_selector(const json& attrs, const char* name) {
    const json* sel = member(attrs, name);
    if (sel == nullptr) return ok_status();
    const auto where = fmt::format("spec.resourceAttributes.{}", name);
    if (!sel->is_object()) return make_error("bad_attributes", where + " is not an object");
    std::string raw;
    if (auto st = read_string(*sel, "rawSelector", raw, "bad_attributes", where); !st) return st;
    const json* reqs = member(*sel, "requirements");
    if (reqs == nullptr) return ok_status();
    if (!reqs->is_array()) return make_error("bad_attributes", where + ".requirements is not a list");
    for (const auto& r : *reqs) {
        if (!r.is_object()) return make_error("bad_attributes", where + ".requirements holds a non-object");
        std::string s;
        std::vector<std::string> values;
        if (auto st = read_string(r, "key", s, "bad_attributes", where + ".requirements[]"); !st) return st;
        if (auto st = read_string(r, "operator", s, "bad_attributes", where + ".requirements[]"); !st) return st;
        if (auto st = read_string_list(r, "values", values, SIZE_MAX, "bad_attributes", where + ".requirements[]"); !st) {
            return st;
        }
    }
    return ok_status();
}

result<resource_attributes> read_resource(const json& j) {
    constexpr std::string_view where = "spec.resourceAttributes";
    if (!j.is_object()) return make_error("bad_attributes", "spec.resourceAttributes is not an object");
    resource_attributes a;
    const std::pair<const char*, std::string*> fields[] = {
        {"namespace", &a.namespace_name}, {"verb", &a.verb}, {"group", &a.group},      {"version", &a.version},
        {"resource", &a.resource},        {"subresource", &a.subresource},            {"name", &a.name},
    };
    for (const auto& [name, out] : fields) {
        if (auto st = read_string(j, name, *out, "bad_attributes", where); !st) return st.err();
    }
    if (a.verb.empty()) return make_error("bad_attributes", "spec.resourceAttributes.verb is missing or empty");
    for (const char* sel : {"fieldSelector", "labelSelector"}) {
        if (auto st = check_selector(j, sel); !st) return st.err();
    }
    return a;
}

result<non_resource_attributes> read_non_resource(const json& j) {
    constexpr std::string_view where = "spec.nonResourceAttributes";
    if (!j.is_object()) return make_error("bad_attributes", "spec.nonResourceAttributes is not an object");
    non_resource_attributes a;
    if (auto st = read_string(j, "path", a.path, "bad_attributes", where); !st) return st.err();
    if (auto st = read_string(j, "verb", a.verb, "bad_attributes", where); !st) return st.err();
    if (a.path.empty()) return make_error("bad_attributes", "spec.nonResourceAttributes.path is missing or empty");
    if (a.verb.empty()) return make_error("bad_attributes", "spec.nonResourceAttributes.verb is missing or empty");
    return a;
}


}  // namespace

std::string_view api_version_string(sar_version v) noexcept { return v == sar_version::v1 ? v1 : v1beta1; }

result<sar_request> decode_sar(std::string_view body, const sar_decode_limits& limits) {
    // The structure rules a DOM parse cannot see (UTF-8, byte order mark, duplicate keys, depth,
    // sizes, exactly one object), shared with lib/tokenreview.
    stsauth::json::strict_limits strict;
    strict.max_depth = limits.max_depth;
    strict.max_string_bytes = limits.max_string_bytes;
    strict.max_key_bytes = limits.max_key_bytes;
    strict.document = "SubjectAccessReview object";
    if (auto failure = stsauth::json::strict_parse(body, strict)) return std::move(*failure);
    const json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return make_error("not_json", "request body is not a JSON object");

    sar_request out;
    const json* version = member(doc, "apiVersion");
    if (version == nullptr || !version->is_string()) {
        return make_error("bad_api_version", "apiVersion must be authorization.k8s.io/v1 or authorization.k8s.io/v1beta1");
    }
    if (const auto& s = version->get_ref<const std::string&>(); s == v1) {
        out.version = sar_version::v1;
    } else if (s == v1beta1) {
        out.version = sar_version::v1beta1;
    } else {
        return make_error("bad_api_version", "apiVersion must be authorization.k8s.io/v1 or authorization.k8s.io/v1beta1");
    }
    const json* kind = member(doc, "kind");
    if (kind == nullptr || !kind->is_string() || kind->get_ref<const std::string&>() != "SubjectAccessReview") {
        return make_error("bad_kind", "kind must be SubjectAccessReview");
    }

    const json* spec = member(doc, "spec");
    if (spec == nullptr || !spec->is_object()) return make_error("bad_spec", "spec is missing or not an object");
    const json* ra = member(*spec, "resourceAttributes");
    const json* nra = member(*spec, "nonResourceAttributes");
    if ((ra == nullptr) == (nra == nullptr)) {
        return make_error("bad_spec", "spec needs exactly one of resourceAttributes and nonResourceAttributes");
    }
    if (ra != nullptr) {
        auto a = read_resource(*ra);
        if (!a) return a.err();
        out.resource = std::move(*a);
    } else {
        auto a = read_non_resource(*nra);
        if (!a) return a.err();
        out.non_resource = std::move(*a);
    }
    if (auto st = read_string(*spec, "user", out.user, "bad_spec", "spec"); !st) return st.err();
    if (auto st = read_string(*spec, "uid", out.uid, "bad_spec", "spec"); !st) return st.err();
    const char* groups_key = out.version == sar_version::v1 ? "groups" : "group";
    if (auto st = read_string_list(*spec, groups_key, out.groups, limits.max_groups, "bad_groups", "spec"); !st) {
        return st.err();
    }
    if (const json* extra = member(*spec, "extra")) {
        if (!extra->is_object()) return make_error("bad_extra", "spec.extra is not an object");
        std::size_t total = 0;
        for (const auto& [key, values] : extra->items()) {
            auto& list = out.extra[key];
            if (values.is_null()) continue;
            if (!values.is_array()) return make_error("bad_extra", "spec.extra values must be lists of strings");
            total += values.size();
            if (total > limits.max_extra_values) {
                return make_error("bad_extra", fmt::format("spec.extra holds more than {} values", limits.max_extra_values));
            }
            for (const auto& v : values) {
                if (!v.is_string()) return make_error("bad_extra", "spec.extra values must be lists of strings");
                list.push_back(v.get<std::string>());
            }
        }
    }
    return out;
}

std::string encode_sar_response(sar_version v, const sar_status& status) {
    // Written directly (no DOM): byte for byte what nlohmann's ordered_json dump() wrote.
    std::string out;
    out.reserve(128 + status.reason.size() + status.evaluation_error.size());
    out += R"({"apiVersion":")";
    out += api_version_string(v);
    out += R"(","kind":"SubjectAccessReview","metadata":{},"spec":{},"status":{"allowed":)";
    out += status.allowed ? "true" : "false";
    if (!status.reason.empty()) {
        out += R"(,"reason":")";
        stsauth::json::append_escaped(out, status.reason);
        out += '"';
    }
    if (!status.evaluation_error.empty()) {
        out += R"(,"evaluationError":")";
        stsauth::json::append_escaped(out, status.evaluation_error);
        out += '"';
    }
    out += "}}\n";
    return out;
}

}  // namespace stsauth::access
