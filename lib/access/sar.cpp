#include "access/sar.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <unordered_set>

namespace stsauth::access {
namespace {

using json = nlohmann::json;

constexpr std::string_view v1 = "authorization.k8s.io/v1";
constexpr std::string_view v1beta1 = "authorization.k8s.io/v1beta1";
constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

// RFC 3629: shortest form only, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
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
            if ((p[i] & 0xC0U) != 0x80U) return false;
        }
        p += n + 1;
    }
    return true;
}

// Structure rules a DOM parse cannot see: duplicate keys, depth, sizes, exactly one top-level
// object. Same rules as lib/tokenreview's reader.
class strict_checker final : public nlohmann::json_sax<json> {
public:
    explicit strict_checker(const sar_decode_limits& limits) : limits_(limits) {}

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
        if (!keys_.back().insert(val).second) return fail("duplicate_key", "a JSON object has a duplicate key");
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
        if (done_) return fail("trailing_data", "data after the SubjectAccessReview object");
        return fail("not_json", fmt::format("request body is not valid JSON (syntax error at byte {})", position));
    }

private:
    bool scalar() {
        if (is_object_.empty()) return fail("not_object", "request body is not a JSON object");
        return true;
    }

    bool open() {
        if (is_object_.empty()) {
            if (started_) return fail("trailing_data", "data after the SubjectAccessReview object");
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

    const sar_decode_limits& limits_;
    std::vector<std::unordered_set<std::string>> keys_;
    std::vector<bool> is_object_;
    bool started_ = false;
    bool done_ = false;
};

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

std::string dump(const nlohmann::ordered_json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string_view api_version_string(sar_version v) noexcept { return v == sar_version::v1 ? v1 : v1beta1; }

result<sar_request> decode_sar(std::string_view body, const sar_decode_limits& limits) {
    if (!valid_utf8(body)) return make_error("bad_utf8", "request body is not valid UTF-8");
    if (body.starts_with(utf8_bom)) return make_error("not_json", "request body starts with a byte order mark");
    strict_checker checker(limits);
    if (!json::sax_parse(body, &checker, json::input_format_t::json, true, false)) {
        if (checker.failure) return *checker.failure;
        return make_error("not_json", "request body is not valid JSON");
    }
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
    nlohmann::ordered_json j;
    j["apiVersion"] = api_version_string(v);
    j["kind"] = "SubjectAccessReview";
    j["metadata"] = nlohmann::ordered_json::object();
    j["spec"] = nlohmann::ordered_json::object();
    nlohmann::ordered_json s;
    s["allowed"] = status.allowed;
    if (!status.reason.empty()) s["reason"] = status.reason;
    if (!status.evaluation_error.empty()) s["evaluationError"] = status.evaluation_error;
    j["status"] = std::move(s);
    return dump(j);
}

}  // namespace stsauth::access
