#include "mapping/sources.hpp"

#include "common/encoding.hpp"
#include "mapping/fast_roles.hpp"
#include "mapping/yaml_type.hpp"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sstream>

#include <array>
#include <optional>

namespace stsauth::mapping {
namespace {

using encoding::iequals;

// How a source reads YAML values (part B §5.1 vs §5.2).
struct dialect {
    bool mounted_file = false;  ///< viper/mapstructure: a scalar `groups` is split on ','
};

std::string line_of(const YAML::Node& n) {
    const auto mark = n.Mark();
    if (mark.is_null()) return {};
    return fmt::format(" (line {})", mark.line + 1);
}

error shape_error(std::string_view label, std::string_view expected, const YAML::Node& n) {
    return make_error("invalid_mapping", fmt::format("{}: expected {}, found {}{}", label, expected, yaml_type_name(n), line_of(n)));
}

// The entries of a map whose key equals one of `names` ignoring case; other keys go to
// `unknown`. Two keys equal but for case are an error.
template <std::size_t N>
result<std::array<YAML::Node, N>> pick_keys(const YAML::Node& map, std::string_view label,
                                            const std::array<std::string_view, N>& names,
                                            std::vector<std::string>* unknown) {
    std::array<YAML::Node, N> found;
    std::array<bool, N> seen{};
    for (auto it = map.begin(); it != map.end(); ++it) {
        if (!it->first.IsScalar()) return shape_error(label, "string keys", it->first);
        const std::string& key = it->first.Scalar();
        bool known = false;
        for (std::size_t i = 0; i < N; ++i) {
            if (!iequals(key, names[i])) continue;
            if (seen[i]) {
                return make_error("invalid_mapping", fmt::format("{}.{}: key appears more than once (keys are "
                                                                 "case-insensitive){}", label, names[i], line_of(it->first)));
            }
            seen[i] = true;
            found[i] = it->second;
            known = true;
        }
        if (!known && unknown != nullptr) unknown->push_back(key);
    }
    return found;
}

class reader {
public:
    explicit reader(dialect d) : dialect_(d) {}

    std::vector<load_warning>& warnings() { return warnings_; }

    result<std::string> string_field(const YAML::Node& n, std::string_view label) {
        if (!n.IsDefined() || n.IsNull()) return std::string();
        if (!n.IsScalar()) return shape_error(label, "a string", n);
        return n.Scalar();
    }

    result<std::vector<std::string>> string_list(const YAML::Node& n, std::string_view label) {
        std::vector<std::string> out;
        if (!n.IsDefined() || n.IsNull()) return out;
        if (n.IsScalar() && dialect_.mounted_file) {
            // viper's StringToSlice(",") decode hook.
            const std::string& s = n.Scalar();
            if (s.empty()) return out;
            std::size_t start = 0;
            while (true) {
                const auto comma = s.find(',', start);
                out.push_back(s.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
            return out;
        }
        if (!n.IsSequence()) return shape_error(label, "a list", n);
        out.reserve(n.size());
        std::size_t i = 0;
        for (const auto& item : n) {
            auto s = string_field(item, fmt::format("{}[{}]", label, i++));
            if (!s) return s.err();
            out.push_back(std::move(*s));
        }
        return out;
    }

    result<role_mapping> role(const YAML::Node& n, const std::string& label) {
        if (!n.IsMap()) return shape_error(label, "a map", n);
        std::vector<std::string> unknown;
        auto f = pick_keys<5>(n, label, {"rolearn", "username", "groups", "userid", "sso"}, &unknown);
        if (!f) return f.err();
        warn_unknown(label, unknown);
        role_mapping m;
        if (auto st = fill(m.rolearn, string_field((*f)[0], label + ".rolearn")); !st) return st.err();
        if (auto st = fill(m.username, string_field((*f)[1], label + ".username")); !st) return st.err();
        if (auto st = fill(m.groups, string_list((*f)[2], label + ".groups")); !st) return st.err();
        if (auto st = fill(m.userid, string_field((*f)[3], label + ".userid")); !st) return st.err();
        const YAML::Node& sso = (*f)[4];
        if (sso.IsDefined() && !sso.IsNull()) {
            if (!sso.IsMap()) return shape_error(label + ".sso", "a map", sso);
            const auto sso_label = label + ".sso";
            std::vector<std::string> sso_unknown;
            auto s = pick_keys<3>(sso, sso_label, {"permissionSetName", "accountID", "partition"}, &sso_unknown);
            if (!s) return s.err();
            warn_unknown(sso_label, sso_unknown);
            sso_spec spec;
            if (auto st = fill(spec.permission_set_name, string_field((*s)[0], sso_label + ".permissionSetName")); !st) return st.err();
            if (auto st = fill(spec.account_id, string_field((*s)[1], sso_label + ".accountID")); !st) return st.err();
            if (auto st = fill(spec.partition, string_field((*s)[2], sso_label + ".partition")); !st) return st.err();
            m.sso = std::move(spec);
        }
        return m;
    }

    result<user_mapping> user(const YAML::Node& n, const std::string& label) {
        if (!n.IsMap()) return shape_error(label, "a map", n);
        std::vector<std::string> unknown;
        auto f = pick_keys<4>(n, label, {"userarn", "username", "groups", "userid"}, &unknown);
        if (!f) return f.err();
        warn_unknown(label, unknown);
        user_mapping m;
        if (auto st = fill(m.userarn, string_field((*f)[0], label + ".userarn")); !st) return st.err();
        if (auto st = fill(m.username, string_field((*f)[1], label + ".username")); !st) return st.err();
        if (auto st = fill(m.groups, string_list((*f)[2], label + ".groups")); !st) return st.err();
        if (auto st = fill(m.userid, string_field((*f)[3], label + ".userid")); !st) return st.err();
        return m;
    }

    template <class T, class Fn>
    status list(const YAML::Node& n, std::string_view key, std::vector<T>& out, Fn&& one) {
        if (!n.IsDefined() || n.IsNull()) return ok_status();
        if (!n.IsSequence()) return shape_error(key, "a list", n);
        out.reserve(n.size());
        std::size_t i = 0;
        for (const auto& item : n) {
            auto v = one(item, fmt::format("{}[{}]", key, i++));
            if (!v) return v.err();
            out.push_back(std::move(*v));
        }
        return ok_status();
    }

    status roles(const YAML::Node& n, std::vector<role_mapping>& out) {
        return list(n, "mapRoles", out, [this](const YAML::Node& item, const std::string& l) { return role(item, l); });
    }
    status users(const YAML::Node& n, std::vector<user_mapping>& out) {
        return list(n, "mapUsers", out, [this](const YAML::Node& item, const std::string& l) { return user(item, l); });
    }
    status accounts(const YAML::Node& n, std::vector<std::string>& out) {
        return list(n, "mapAccounts", out, [this](const YAML::Node& item, const std::string& l) { return string_field(item, l); });
    }

private:
    template <class T>
    static status fill(T& dst, result<T> r) {
        if (!r) return r.err();
        dst = std::move(*r);
        return ok_status();
    }

    void warn_unknown(std::string_view label, const std::vector<std::string>& keys) {
        for (const auto& k : keys) {
            warnings_.push_back({"unknown_key", fmt::format("{}: unknown key \"{}\" ignored", label, k)});
        }
    }

    dialect dialect_;
    std::vector<load_warning> warnings_;
};

error yaml_error(std::string_view what, const YAML::Exception& e) {
    if (e.mark.is_null()) return make_error("bad_yaml", fmt::format("{}: {}", what, e.msg));
    return make_error("bad_yaml", fmt::format("{}: {} (line {}, column {})", what, e.msg, e.mark.line + 1, e.mark.column + 1));
}

result<loaded_mappings> finish(mapping_document doc, source_kind source, std::vector<load_warning> parse_warnings) {
    auto loaded = compile(std::move(doc), compile_options{source, false});
    if (!loaded) return loaded.err();
    parse_warnings.insert(parse_warnings.end(), std::make_move_iterator(loaded->warnings.begin()),
                          std::make_move_iterator(loaded->warnings.end()));
    loaded->warnings = std::move(parse_warnings);
    return loaded;
}

// Part B §5.2: values skipped as empty.
bool skippable(std::string_view value) {
    constexpr std::string_view space = " \t\r\n\v\f";
    const auto first = value.find_first_not_of(space);
    if (first == std::string_view::npos) return true;
    const auto trimmed = value.substr(first, value.find_last_not_of(space) - first + 1);
    return trimmed == "``" || trimmed == "\"\"" || trimmed == "''";
}

constexpr std::array<std::string_view, 3> data_keys = {"mapRoles", "mapUsers", "mapAccounts"};

// The three data values of an aws-auth ConfigMap, each a YAML document in a string.
result<loaded_mappings> load_configmap_values(const std::array<std::optional<std::string>, 3>& values) {
    reader r(dialect{false});
    mapping_document doc;
    for (std::size_t k = 0; k < data_keys.size(); ++k) {
        if (!values[k] || skippable(*values[k])) continue;
        try {
            const YAML::Node node = YAML::Load(*values[k]);
            status st = k == 0 ? r.roles(node, doc.roles) : k == 1 ? r.users(node, doc.users) : r.accounts(node, doc.accounts);
            if (!st) return st.err();
        } catch (const YAML::Exception& e) {
            return yaml_error(fmt::format("data.{}", data_keys[k]), e);
        }
    }
    return finish(std::move(doc), source_kind::eks_configmap, std::move(r.warnings()));
}

}  // namespace

namespace {

result<loaded_mappings> mounted_file(const YAML::Node& server, std::vector<role_mapping>* fast_roles,
                                     mapping_document* capture = nullptr) {
    try {
        if (!server.IsDefined() || server.IsNull()) return finish({}, source_kind::mounted_file, {});
        if (!server.IsMap()) return shape_error("server", "a map", server);
        auto f = pick_keys<3>(server, "server", data_keys, nullptr);
        if (!f) return f.err();
        reader r(dialect{true});
        mapping_document doc;
        if (auto st = r.roles((*f)[0], doc.roles); !st) return st.err();
        if (fast_roles != nullptr) doc.roles = std::move(*fast_roles);  // read by detail::split_map_roles
        if (auto st = r.users((*f)[1], doc.users); !st) return st.err();
        if (auto st = r.accounts((*f)[2], doc.accounts); !st) return st.err();
        if (capture != nullptr) *capture = doc;
        return finish(std::move(doc), source_kind::mounted_file, std::move(r.warnings()));
    } catch (const YAML::Exception& e) {
        return yaml_error("server", e);
    }
}

result<loaded_mappings> mounted_file_text(std::string_view config_yaml, bool try_fast,
                                          mapping_document* capture = nullptr) {
    std::optional<detail::fast_roles> fast;
    if (try_fast) fast = detail::split_map_roles(config_yaml);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(fast ? std::string_view(fast->rest) : config_yaml));
    } catch (const YAML::Exception& e) {
        if (fast) return mounted_file_text(config_yaml, false, capture);  // report on the text as written
        return yaml_error("config", e);
    }
    if (!root.IsDefined() || root.IsNull()) return finish({}, source_kind::mounted_file, {});
    if (!root.IsMap()) return shape_error("config", "a map", root);
    auto f = pick_keys<1>(root, "config", {"server"}, nullptr);
    if (!f) return f.err();
    if (fast) {
        // The placeholder must be exactly where the block was: server.mapRoles, an empty flow
        // list on the block's line. Otherwise the lines meant something else: parse it all.
        const YAML::Node& server = (*f)[0];
        if (!detail::map_roles_placeholder_in_place(server, fast->line)) return mounted_file_text(config_yaml, false, capture);
        return mounted_file(server, &fast->roles, capture);
    }
    return mounted_file((*f)[0], nullptr, capture);
}

}  // namespace

result<loaded_mappings> load_mounted_file(const YAML::Node& server) { return mounted_file(server, nullptr); }

result<loaded_mappings> load_mounted_file_text(std::string_view config_yaml) {
    return mounted_file_text(config_yaml, config_yaml.size() >= detail::fast_path_min_bytes);
}

namespace detail {
bool map_roles_placeholder_in_place(const YAML::Node& server, std::size_t line) {
    bool placed = false;
    try {
        if (!server.IsMap()) return false;
        for (auto it = server.begin(); it != server.end(); ++it) {
            if (it->first.IsScalar() && it->first.Scalar() == "mapRoles") {
                if (placed) return false;
                placed = it->second.IsSequence() && it->second.size() == 0 &&
                         it->second.Mark().line == static_cast<int>(line);
                if (!placed) return false;
            }
        }
    } catch (const YAML::Exception&) {
        return false;
    }
    return placed;
}

result<loaded_mappings> load_mounted_file_text_fast(std::string_view config_yaml) {
    return mounted_file_text(config_yaml, true);
}
result<mapping_document> read_mounted_file_document(std::string_view config_yaml, bool try_fast) {
    mapping_document doc;
    auto loaded = mounted_file_text(config_yaml, try_fast, &doc);
    if (!loaded) return loaded.err();
    return doc;
}
}  // namespace detail

namespace {

/// Counts YAML documents, stopping at `limit`. yaml-cpp 0.7's YAML::LoadAll never returns on a
/// stray top-level ',' (it yields empty documents forever, found by fuzzing), so documents are
/// counted with an event handler that gives up early, and the one document is read with Load.
class document_counter final : public YAML::EventHandler {
public:
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

std::size_t count_documents(const std::string& text, std::size_t limit) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    document_counter events;
    std::size_t n = 0;
    while (n < limit && parser.HandleNextDocument(events)) ++n;
    return n;
}

}  // namespace

result<loaded_mappings> load_configmap_manifest(std::string_view manifest_yaml) {
    std::array<std::optional<std::string>, 3> values;
    try {
        const std::string text(manifest_yaml);
        if (count_documents(text, 2) != 1) {
            return make_error("bad_configmap", "expected exactly one YAML document holding a ConfigMap");
        }
        const YAML::Node root = YAML::Load(text);
        if (!root.IsMap()) {
            return make_error("bad_configmap", "expected exactly one YAML document holding a ConfigMap");
        }
        const YAML::Node kind = root["kind"];
        if (!kind.IsDefined() || !kind.IsScalar() || kind.Scalar() != "ConfigMap") {
            return make_error("bad_configmap", "kind: expected ConfigMap");
        }
        const YAML::Node data = root["data"];
        if (data.IsDefined() && !data.IsNull()) {
            if (!data.IsMap()) return make_error("bad_configmap", fmt::format("data: expected a map{}", line_of(data)));
            for (std::size_t k = 0; k < data_keys.size(); ++k) {
                const YAML::Node v = data[std::string(data_keys[k])];
                if (!v.IsDefined() || v.IsNull()) continue;
                if (!v.IsScalar()) {
                    return make_error("bad_configmap", fmt::format("data.{}: expected a string (use a block scalar `|`), "
                                                                   "found {}{}", data_keys[k], yaml_type_name(v), line_of(v)));
                }
                values[k] = v.Scalar();
            }
        }
    } catch (const YAML::Exception& e) {
        return yaml_error("ConfigMap", e);
    }
    return load_configmap_values(values);
}

result<loaded_mappings> load_configmap_data(const std::map<std::string, std::string>& data) {
    std::array<std::optional<std::string>, 3> values;
    for (std::size_t k = 0; k < data_keys.size(); ++k) {
        if (auto it = data.find(std::string(data_keys[k])); it != data.end()) values[k] = it->second;
    }
    return load_configmap_values(values);
}

std::string_view yaml_type_name(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Map: return "a map";
        case YAML::NodeType::Scalar: return "a string";
        case YAML::NodeType::Null: return "null";
        case YAML::NodeType::Undefined: break;
    }
    return "nothing";
}

}  // namespace stsauth::mapping
