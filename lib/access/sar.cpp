#include "access/sar.hpp"

#include "common/strict_json.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>

namespace stsauth::access {
namespace {

using stsauth::json::value_type;

constexpr std::string_view v1 = "authorization.k8s.io/v1";
constexpr std::string_view v1beta1 = "authorization.k8s.io/v1beta1";

// Where a member or element sits: the container whose members arrive at a depth.
enum class ctx : std::uint8_t {
    ignore, top, spec, resource, non_resource, selector, requirements, requirement, requirement_values,
    groups, group, extra, extra_values,
};

// The members the decoder reads, per container.
enum class field : std::uint8_t {
    other,
    api_version, kind, spec,                                            // top
    resource_attributes, non_resource_attributes, user, uid, groups, group, extra,  // spec
    ns, verb, group_name, version, resource, subresource, name, field_selector, label_selector,  // resourceAttributes
    path,                                                               // nonResourceAttributes (and verb)
    raw_selector, requirements,                                         // selectors
    key, op, values,                                                    // requirements[]
};

// A key is matched on its length first (a switch), then on its bytes against the one or two
// names of that length: a SubjectAccessReview has ~45 keys, most of them read.
field field_of(ctx c, std::string_view k) {
    const auto is = [&](std::string_view name, field f) { return k == name ? f : field::other; };
    switch (c) {
        case ctx::top:
            switch (k.size()) {
                case 4: return k == "kind" ? field::kind : is("spec", field::spec);
                case 10: return is("apiVersion", field::api_version);
                default: return field::other;
            }
        case ctx::spec:
            switch (k.size()) {
                case 3: return is("uid", field::uid);
                case 4: return is("user", field::user);
                case 5: return k == "extra" ? field::extra : is("group", field::group);
                case 6: return is("groups", field::groups);
                case 18: return is("resourceAttributes", field::resource_attributes);
                case 21: return is("nonResourceAttributes", field::non_resource_attributes);
                default: return field::other;
            }
        case ctx::resource:
            switch (k.size()) {
                case 4: return k == "verb" ? field::verb : is("name", field::name);
                case 5: return is("group", field::group_name);
                case 7: return is("version", field::version);
                case 8: return is("resource", field::resource);
                case 9: return is("namespace", field::ns);
                case 11: return is("subresource", field::subresource);
                case 13: return k == "fieldSelector" ? field::field_selector : is("labelSelector", field::label_selector);
                default: return field::other;
            }
        case ctx::non_resource: return k == "path" ? field::path : is("verb", field::verb);
        case ctx::selector: return k == "rawSelector" ? field::raw_selector : is("requirements", field::requirements);
        case ctx::requirement: return k == "key" ? field::key : k == "operator" ? field::op : is("values", field::values);
        default: return field::other;
    }
}

// The order in which resourceAttributes' string fields are checked (the first of the wrong type is named).
constexpr std::array<std::string_view, 7> resource_fields = {"namespace", "verb", "group", "version",
                                                              "resource", "subresource", "name"};

// Reads a SubjectAccessReview in lib/common/strict_json's single pass, keeping what the decode
// needs and noting (not yet judging) every type problem; decode_sar then judges them in a fixed
// order, so the first rule broken decides the code wherever in the document it was broken.
class sar_reader final : public stsauth::json::strict_handler {
public:
    sar_reader(sar_request& out, const sar_decode_limits& limits) : out_(out), limits_(limits) {}

    void key(std::size_t depth, std::string_view k) override {
        if (depth >= ctx_.size()) return;
        const ctx c = ctx_[depth];
        if (c == ctx::extra) return extra_key(k);
        field_[depth] = c == ctx::ignore ? field::other : field_of(c, k);
    }

    void value(std::size_t depth, value_type type, std::string_view text) override {
        if (depth >= ctx_.size()) return;
        const ctx child = on_value(ctx_[depth], field_[depth], type, text);
        if ((type == value_type::object || type == value_type::array) && depth + 1 < ctx_.size()) {
            // Members are read only from a container of the expected kind; any other is noted
            // as a type problem above and its contents ignored.
            ctx_[depth + 1] = type == expected(child) ? child : ctx::ignore;
            field_[depth + 1] = field::other;
        }
    }

    void close(std::size_t, value_type) override {}

    // What the document held (null counts as absent everywhere, as Kubernetes' decoder).
    std::optional<value_type> api_version_type, spec_type, resource_type, non_resource_type, extra_type;
    std::optional<sar_version> version;
    bool kind_ok = false;
    int resource_bad_field = -1;           ///< index in resource_fields of the first non-string
    std::string selector_error;            ///< the first selector problem, for the message
    bool non_resource_bad_path = false, non_resource_bad_verb = false;
    bool user_bad = false, uid_bad = false;
    struct list_state {
        std::optional<value_type> type;
        std::size_t count = 0;
        bool non_string = false;
        std::vector<std::string> values;
    } groups, group;
    bool extra_bad = false;
    std::size_t extra_values = 0;

private:
    // Out of line: key() stays small (few registers to save on each of ~45 calls).
    [[gnu::noinline]] void extra_key(std::string_view k) {
        extra_key_ = limits_.keep_identity ? &out_.extra.try_emplace(std::string(k)).first->second : nullptr;
        principal_key_ = k == extra_canonical_arn         ? &out_.principal.canonical_arn
                         : k == extra_principal_id        ? &out_.principal.principal_id
                         : k == extra_principal_id_legacy ? &out_.principal.principal_id_legacy
                                                          : nullptr;
        if (principal_key_ != nullptr) principal_key_->present = true;
    }

    static value_type expected(ctx c) {
        switch (c) {
            case ctx::requirements:
            case ctx::requirement_values:
            case ctx::groups:
            case ctx::group:
            case ctx::extra_values: return value_type::array;
            default: return value_type::object;
        }
    }

    ctx on_value(ctx c, field f, value_type type, std::string_view text) {
        const bool null = type == value_type::null;
        switch (c) {
            case ctx::top:
                if (f == field::api_version) {
                    api_version_type = type;
                    if (type == value_type::string && (text == v1 || text == v1beta1)) {
                        version = text == v1 ? sar_version::v1 : sar_version::v1beta1;
                    }
                } else if (f == field::kind) {
                    kind_ok = type == value_type::string && text == "SubjectAccessReview";
                } else if (f == field::spec) {
                    spec_type = type;
                    return ctx::spec;
                }
                return ctx::ignore;
            case ctx::spec:
                switch (f) {
                    case field::resource_attributes:
                        if (!null) resource_type = type;
                        if (type == value_type::object) out_.resource.emplace();
                        return ctx::resource;
                    case field::non_resource_attributes:
                        if (!null) non_resource_type = type;
                        if (type == value_type::object) out_.non_resource.emplace();
                        return ctx::non_resource;
                    case field::user: string_field(type, text, limits_.keep_identity ? &out_.user : nullptr, user_bad); break;
                    case field::uid: string_field(type, text, limits_.keep_identity ? &out_.uid : nullptr, uid_bad); break;
                    case field::groups:
                        if (!null) groups.type = type;
                        return ctx::groups;
                    case field::group:
                        if (!null) group.type = type;
                        return ctx::group;
                    case field::extra:
                        if (!null) extra_type = type;
                        return ctx::extra;
                    default: break;
                }
                return ctx::ignore;
            case ctx::resource: {
                auto& r = *out_.resource;
                std::string* const outs[] = {&r.namespace_name, &r.verb, &r.group, &r.version,
                                             &r.resource, &r.subresource, &r.name};
                const int index = f >= field::ns && f <= field::name ? static_cast<int>(f) - static_cast<int>(field::ns) : -1;
                if (index >= 0) {
                    bool bad = false;
                    string_field(type, text, outs[index], bad);
                    if (bad && (resource_bad_field < 0 || index < resource_bad_field)) resource_bad_field = index;
                } else if (f == field::field_selector || f == field::label_selector) {
                    selector_ = f == field::field_selector ? "fieldSelector" : "labelSelector";
                    if (!null && type != value_type::object) selector_problem(" is not an object");
                    return ctx::selector;
                }
                return ctx::ignore;
            }
            case ctx::non_resource: {
                auto& r = *out_.non_resource;
                if (f == field::path) string_field(type, text, &r.path, non_resource_bad_path);
                if (f == field::verb) string_field(type, text, &r.verb, non_resource_bad_verb);
                return ctx::ignore;
            }
            case ctx::selector:
                if (f == field::raw_selector && !null && type != value_type::string) {
                    selector_problem(".rawSelector is not a string");
                } else if (f == field::requirements) {
                    if (!null && type != value_type::array) selector_problem(".requirements is not a list");
                    return ctx::requirements;
                }
                return ctx::ignore;
            case ctx::requirements:
                if (type != value_type::object) selector_problem(".requirements holds a non-object");
                return ctx::requirement;
            case ctx::requirement:
                if ((f == field::key || f == field::op) && !null && type != value_type::string) {
                    selector_problem(f == field::key ? ".requirements[].key is not a string"
                                                     : ".requirements[].operator is not a string");
                } else if (f == field::values) {
                    if (!null && type != value_type::array) selector_problem(".requirements[].values is not a list");
                    return ctx::requirement_values;
                }
                return ctx::ignore;
            case ctx::requirement_values:
                if (type != value_type::string) selector_problem(".requirements[].values holds a non-string");
                return ctx::ignore;
            case ctx::groups:
            case ctx::group: {
                auto& list = c == ctx::groups ? groups : group;
                ++list.count;
                if (type != value_type::string) {
                    list.non_string = true;
                } else if (limits_.keep_identity && list.count <= limits_.max_groups) {
                    list.values.emplace_back(text);
                }
                return ctx::ignore;
            }
            case ctx::extra:
                if (!null && type != value_type::array) extra_bad = true;
                return ctx::extra_values;
            case ctx::extra_values:
                ++extra_values;
                if (type != value_type::string) {
                    extra_bad = true;
                } else if (extra_values <= limits_.max_extra_values) {
                    if (extra_key_ != nullptr) extra_key_->emplace_back(text);
                    if (principal_key_ != nullptr && principal_key_->count++ == 0) principal_key_->first.assign(text);
                }
                return ctx::ignore;
            case ctx::ignore: return ctx::ignore;
        }
        return ctx::ignore;
    }

    // An optional string: absent or null leaves `out` empty, a string fills it, else `bad`.
    static void string_field(value_type type, std::string_view text, std::string* out, bool& bad) {
        if (type == value_type::string) {
            if (out != nullptr) out->assign(text);
        } else if (type != value_type::null) {
            bad = true;
        }
    }

    void selector_problem(std::string_view what) {
        if (selector_error.empty()) selector_error = fmt::format("spec.resourceAttributes.{}{}", selector_, what);
    }

    sar_request& out_;
    const sar_decode_limits& limits_;
    // Deepest context the decoder reads: the strings in requirements[].values (depth 7).
    std::array<ctx, 9> ctx_{ctx::ignore, ctx::top};
    std::array<field, 9> field_{};
    std::string_view selector_;
    std::vector<std::string>* extra_key_ = nullptr;
    extra_value* principal_key_ = nullptr;
};

}  // namespace

std::string_view api_version_string(sar_version v) noexcept { return v == sar_version::v1 ? v1 : v1beta1; }

namespace {

// decode_sar's work, into a request the caller made (the result is built in place: a
// sar_request is large to move).
std::optional<error> decode_sar_into(std::string_view body, const sar_decode_limits& limits, sar_request& out) {
    // One strict pass (UTF-8, no byte order mark, no duplicate key, depth, sizes, exactly one
    // object: the rules shared with lib/tokenreview) that also collects the fields.
    stsauth::json::strict_limits strict;
    strict.max_depth = limits.max_depth;
    strict.max_string_bytes = limits.max_string_bytes;
    strict.max_key_bytes = limits.max_key_bytes;
    strict.document = "SubjectAccessReview object";
    sar_reader doc(out, limits);
    if (auto failure = stsauth::json::strict_parse(body, strict, &doc)) return failure;

    // Judged in this order: the first rule broken gives the code.
    if (doc.api_version_type != value_type::string || !doc.version) {
        return make_error("bad_api_version", "apiVersion must be authorization.k8s.io/v1 or authorization.k8s.io/v1beta1");
    }
    out.version = *doc.version;
    if (!doc.kind_ok) return make_error("bad_kind", "kind must be SubjectAccessReview");
    if (doc.spec_type != value_type::object) return make_error("bad_spec", "spec is missing or not an object");
    if (doc.resource_type.has_value() == doc.non_resource_type.has_value()) {
        return make_error("bad_spec", "spec needs exactly one of resourceAttributes and nonResourceAttributes");
    }
    if (doc.resource_type) {
        if (*doc.resource_type != value_type::object) {
            return make_error("bad_attributes", "spec.resourceAttributes is not an object");
        }
        if (doc.resource_bad_field >= 0) {
            return make_error("bad_attributes", fmt::format("spec.resourceAttributes.{} is not a string",
                                                            resource_fields[static_cast<std::size_t>(doc.resource_bad_field)]));
        }
        if (out.resource->verb.empty()) return make_error("bad_attributes", "spec.resourceAttributes.verb is missing or empty");
        if (!doc.selector_error.empty()) return make_error("bad_attributes", std::move(doc.selector_error));
    } else {
        if (*doc.non_resource_type != value_type::object) {
            return make_error("bad_attributes", "spec.nonResourceAttributes is not an object");
        }
        if (doc.non_resource_bad_path) return make_error("bad_attributes", "spec.nonResourceAttributes.path is not a string");
        if (doc.non_resource_bad_verb) return make_error("bad_attributes", "spec.nonResourceAttributes.verb is not a string");
        if (out.non_resource->path.empty()) {
            return make_error("bad_attributes", "spec.nonResourceAttributes.path is missing or empty");
        }
        if (out.non_resource->verb.empty()) {
            return make_error("bad_attributes", "spec.nonResourceAttributes.verb is missing or empty");
        }
    }
    if (doc.user_bad) return make_error("bad_spec", "spec.user is not a string");
    if (doc.uid_bad) return make_error("bad_spec", "spec.uid is not a string");
    const bool is_v1 = out.version == sar_version::v1;
    auto& groups = is_v1 ? doc.groups : doc.group;
    const char* groups_key = is_v1 ? "groups" : "group";
    if (groups.type) {
        if (*groups.type != value_type::array) return make_error("bad_groups", fmt::format("spec.{} is not a list", groups_key));
        if (groups.count > limits.max_groups) {
            return make_error("bad_groups", fmt::format("spec.{} has more than {} entries", groups_key, limits.max_groups));
        }
        if (groups.non_string) return make_error("bad_groups", fmt::format("spec.{} holds a non-string", groups_key));
        out.groups = std::move(groups.values);
    }
    if (doc.extra_type) {
        if (*doc.extra_type != value_type::object) return make_error("bad_extra", "spec.extra is not an object");
        if (doc.extra_values > limits.max_extra_values) {
            return make_error("bad_extra", fmt::format("spec.extra holds more than {} values", limits.max_extra_values));
        }
        if (doc.extra_bad) return make_error("bad_extra", "spec.extra values must be lists of strings");
    }
    return std::nullopt;
}

}  // namespace

result<sar_request> decode_sar(std::string_view body, const sar_decode_limits& limits) {
    // One return of one object: the result is constructed where the caller wants it.
    result<sar_request> r(std::in_place);
    if (auto failure = decode_sar_into(body, limits, *r)) r = std::move(*failure);
    return r;
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
