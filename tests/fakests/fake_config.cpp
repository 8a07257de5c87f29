#include "fake_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <set>

namespace stsauth::fakests {
namespace {

error bad(std::string message) { return make_error("bad_config", std::move(message)); }

// Every key of `node` must be one of `allowed`; returns the first offender.
std::string unknown_key(const YAML::Node& node, std::initializer_list<std::string_view> allowed) {
    for (const auto& kv : node) {
        const auto key = kv.first.as<std::string>();
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) return key;
    }
    return {};
}

// A scalar value, or "" when the key is absent. Throws through yaml-cpp for non-scalars.
result<std::string> scalar(const YAML::Node& node, const std::string& key, std::string_view where, bool required) {
    const auto v = node[key];
    if (!v || v.IsNull()) {
        if (required) return bad(std::string(where) + ": missing required key '" + key + "'");
        return std::string{};
    }
    if (!v.IsScalar()) return bad(std::string(where) + ": '" + key + "' must be a string");
    auto s = v.as<std::string>();
    if (required && s.empty()) return bad(std::string(where) + ": '" + key + "' must not be empty");
    return s;
}

}  // namespace

bool is_instance_id(std::string_view id) {
    if (!id.starts_with("i-")) return false;
    const auto hex = id.substr(2);
    return (hex.size() == 8 || hex.size() == 17) &&
           std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::uint64_t fake_config::key_hash(std::string_view access_key_id) noexcept {
    return std::hash<std::string_view>{}(access_key_id);
}

namespace {
// The slot tag: the hash's high half (its low bits choose the slot).
std::uint32_t tag_of(std::uint64_t h) noexcept { return static_cast<std::uint32_t>(h >> 32U); }
}  // namespace

const credential_entry* fake_config::find_credential(std::string_view access_key_id) const {
    if (!credential_index.empty()) {
        // The bench's fake knows a few thousand keys: a scan per request would cost more than
        // the rest of the lookup work together, and a node-based map costs a cache miss per node
        // and per key string on cold memory.
        const auto h = key_hash(access_key_id);
        const auto tag = tag_of(h);
        const auto mask = credential_index.size() - 1;
        // At most one round: a table edited by hand may have no empty slot left.
        auto i = static_cast<std::size_t>(h) & mask;
        for (std::size_t probes = 0; probes < credential_index.size(); ++probes, i = (i + 1) & mask) {
            const auto slot = credential_index[i];
            if (slot.index == credential_slot::empty_slot) break;
            // The full compare decides: a slot is a hint, never proof.
            if (slot.tag == tag && slot.index < credentials.size() &&
                credentials[slot.index].access_key_id == access_key_id)
                return &credentials[slot.index];
        }
    }
    for (const auto& c : credentials)
        if (c.access_key_id == access_key_id) return &c;
    return nullptr;
}

void fake_config::index_credentials() {
    credential_index.clear();
    if (credentials.empty() || credentials.size() >= credential_slot::empty_slot / 2) return;  // a scan then
    std::size_t size = 16;
    while (size < 2 * credentials.size()) size *= 2;
    credential_index.assign(size, credential_slot{});
    const auto mask = size - 1;
    for (std::size_t n = 0; n < credentials.size(); ++n) {
        const auto h = key_hash(credentials[n].access_key_id);
        auto i = static_cast<std::size_t>(h) & mask;
        bool repeated = false;
        for (; credential_index[i].index != credential_slot::empty_slot; i = (i + 1) & mask) {
            const auto& other = credential_index[i];
            if (other.tag == tag_of(h) && credentials[other.index].access_key_id == credentials[n].access_key_id) {
                repeated = true;
                break;
            }
        }
        if (!repeated) credential_index[i] = credential_slot{tag_of(h), static_cast<std::uint32_t>(n)};
    }
}

const instance_entry* fake_config::find_instance(std::string_view instance_id) const {
    for (const auto& i : instances)
        if (i.instance_id == instance_id) return &i;
    return nullptr;
}

result<fake_config> parse_config(std::string_view yaml_text) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        return bad(std::string("invalid YAML: ") + e.what());
    }
    fake_config cfg;
    if (!root || root.IsNull()) return cfg;
    if (!root.IsMap()) return bad("top level must be a mapping");
    if (auto k = unknown_key(root, {"credentials", "instances"}); !k.empty())
        return bad("unknown top-level key '" + k + "'");

    try {
        if (const auto list = root["credentials"]; list && !list.IsNull()) {
            if (!list.IsSequence()) return bad("'credentials' must be a list");
            std::set<std::string> seen;
            for (std::size_t i = 0; i < list.size(); ++i) {
                const auto where = "credentials[" + std::to_string(i) + "]";
                const auto& n = list[i];
                if (!n.IsMap()) return bad(where + ": must be a mapping");
                if (auto k = unknown_key(n, {"accessKeyId", "secretAccessKey", "sessionToken", "arn", "userId", "account"});
                    !k.empty())
                    return bad(where + ": unknown key '" + k + "'");
                auto akid = scalar(n, "accessKeyId", where, true);
                auto sk = scalar(n, "secretAccessKey", where, true);
                auto st = scalar(n, "sessionToken", where, false);
                auto arn = scalar(n, "arn", where, true);
                auto uid = scalar(n, "userId", where, true);
                auto account = scalar(n, "account", where, true);
                for (auto* r : {&akid, &sk, &st, &arn, &uid, &account})
                    if (!r->ok()) return r->err();
                if (!seen.insert(*akid).second) return bad(where + ": duplicate accessKeyId '" + *akid + "'");
                cfg.credentials.push_back(credential_entry{std::move(*akid), secret<std::string>(std::move(*sk)),
                                                           secret<std::string>(std::move(*st)), std::move(*arn),
                                                           std::move(*uid), std::move(*account)});
            }
        }
        if (const auto list = root["instances"]; list && !list.IsNull()) {
            if (!list.IsSequence()) return bad("'instances' must be a list");
            std::set<std::string> seen;
            for (std::size_t i = 0; i < list.size(); ++i) {
                const auto where = "instances[" + std::to_string(i) + "]";
                const auto& n = list[i];
                if (!n.IsMap()) return bad(where + ": must be a mapping");
                if (auto k = unknown_key(n, {"instanceId", "privateDnsName"}); !k.empty())
                    return bad(where + ": unknown key '" + k + "'");
                auto id = scalar(n, "instanceId", where, true);
                auto dns = scalar(n, "privateDnsName", where, false);
                if (!id.ok()) return id.err();
                if (!dns.ok()) return dns.err();
                if (!is_instance_id(*id)) return bad(where + ": instanceId '" + *id + "' is not i-<8 or 17 hex digits>");
                if (!seen.insert(*id).second) return bad(where + ": duplicate instanceId '" + *id + "'");
                cfg.instances.push_back(instance_entry{std::move(*id), std::move(*dns)});
            }
        }
    } catch (const YAML::Exception& e) {
        return bad(std::string("invalid config: ") + e.what());
    }
    cfg.index_credentials();
    return cfg;
}

}  // namespace stsauth::fakests
