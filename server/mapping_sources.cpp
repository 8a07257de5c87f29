#include "mapping_sources.hpp"

#include "mapping/dynamic_file.hpp"
#include "mapping/sources.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace stsauth::server {
namespace fs = std::filesystem;

namespace {

result<std::string> read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("unreadable", "cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in.good() && !in.eof()) return make_error("unreadable", "error reading " + path);
    return ss.str();
}

using loader = std::function<result<mapping::loaded_mappings>()>;

}  // namespace

struct mapping_sources::backend {
    std::string name;
    std::vector<std::string> reserved_prefixes;
    loader load;
    std::vector<config::change_detector> watched;  ///< empty: loaded once (embedded config)
    config::snapshot_store<mapping::mapping_set> store;
    bool loaded_once = false;
};

mapping_sources::~mapping_sources() = default;

result<std::unique_ptr<mapping_sources>> mapping_sources::create(const config::server_config& cfg,
                                                                 std::string config_path) {
    std::unique_ptr<mapping_sources> self(new mapping_sources());
    self->flags_.sso_role_match = cfg.gates.sso_role_match;

    for (const auto mode : cfg.backends()) {
        auto b = std::make_unique<backend>();
        b->name = std::string(config::to_string(mode));
        b->reserved_prefixes = cfg.reserved_prefixes(mode);
        switch (mode) {
            case config::backend_mode::mounted_file:
                if (config_path.empty()) {
                    const auto node = cfg.server_node;
                    b->load = [node] { return mapping::load_mounted_file(node); };
                } else {
                    b->watched.emplace_back(config_path);
                    b->load = [config_path]() -> result<mapping::loaded_mappings> {
                        auto text = read_text(config_path);
                        if (!text) return text.err();
                        return mapping::load_mounted_file_text(*text);
                    };
                }
                break;
            case config::backend_mode::eks_config_map: {
                if (cfg.aws_auth_file.empty())
                    return make_error("missing_aws_auth_file",
                                      "backend EKSConfigMap needs server.awsAuthFile (a ConfigMap manifest, or the "
                                      "directory where the aws-auth ConfigMap is mounted)");
                const std::string path = cfg.aws_auth_file;
                if (fs::is_directory(path)) {
                    // A mounted ConfigMap: one file per key, swapped by kubelet through `..data`.
                    for (const char* key : {"mapRoles", "mapUsers", "mapAccounts"})
                        b->watched.emplace_back((fs::path(path) / key).string());
                    b->load = [path]() -> result<mapping::loaded_mappings> {
                        std::map<std::string, std::string> data;
                        for (const char* key : {"mapRoles", "mapUsers", "mapAccounts"}) {
                            const auto file = (fs::path(path) / key).string();
                            if (!fs::exists(file)) continue;
                            auto text = read_text(file);
                            if (!text) return text.err();
                            data.emplace(key, std::move(*text));
                        }
                        return mapping::load_configmap_data(data);
                    };
                } else {
                    b->watched.emplace_back(path);
                    b->load = [path]() -> result<mapping::loaded_mappings> {
                        auto text = read_text(path);
                        if (!text) return text.err();
                        return mapping::load_configmap_manifest(*text);
                    };
                }
                break;
            }
            case config::backend_mode::dynamic_file: {
                const std::string path = cfg.dynamic_file_path;
                const bool strict = cfg.dynamic_file_user_id_strict;
                b->watched.emplace_back(path);
                b->load = [path, strict]() -> result<mapping::loaded_mappings> {
                    // As the reference: no file yet means no mappings (every lookup misses).
                    if (!fs::exists(path)) return mapping::loaded_mappings{};
                    auto text = read_text(path);
                    if (!text) return text.err();
                    auto loaded = mapping::load_dynamic_file(*text, strict);
                    if (!loaded) return loaded.err();
                    return std::move(loaded->loaded);
                };
                break;
            }
            case config::backend_mode::crd:
                return make_error("unsupported_backend",
                                  "backend CRD (IAMIdentityMapping objects) is not supported by stsauth yet; use "
                                  "MountedFile, EKSConfigMap or DynamicFile");
            case config::backend_mode::access_entries:
                return make_error("unsupported_backend", "backend AccessEntries is not available yet");
        }
        self->backends_.push_back(std::move(b));
    }
    self->chain_.swap(std::make_shared<const authn::mapping_chain>());
    return self;
}

std::vector<reload_event> mapping_sources::reload(bool force) {
    std::lock_guard lock(mu_);
    std::vector<reload_event> events;
    bool any = false;
    for (auto& b : backends_) {
        bool changed = force || !b->loaded_once;
        for (auto& w : b->watched) changed = w.changed() || changed;  // keep every detector current
        if (!changed) continue;

        reload_event ev;
        ev.backend = b->name;
        auto loaded = b->load();
        if (!loaded) {
            ev.ok = false;
            ev.detail = loaded.err().message;
            b->store.record_failure(loaded.err());
        } else {
            const auto& m = loaded->mappings;
            ev.detail = std::to_string(m.role_count()) + " roles, " + std::to_string(m.sso_count()) +
                        " SSO roles, " + std::to_string(m.user_count()) + " users, " +
                        std::to_string(m.account_count()) + " accounts";
            for (const auto& w : loaded->warnings) ev.warnings.push_back(w.message);
            b->store.swap(std::make_shared<const mapping::mapping_set>(std::move(loaded->mappings)));
            b->loaded_once = true;
            any = true;
        }
        events.push_back(std::move(ev));
    }
    if (any) rebuild_chain();
    return events;
}

void mapping_sources::rebuild_chain() {
    auto chain = std::make_shared<authn::mapping_chain>();
    chain->flags = flags_;
    for (const auto& b : backends_) {
        auto set = b->store.load();
        if (!set) set = std::make_shared<const mapping::mapping_set>();  // never loaded: every lookup misses
        chain->backends.push_back({b->name, std::move(set), b->reserved_prefixes});
    }
    chain_.swap(std::move(chain));
}

bool mapping_sources::ready() const {
    std::lock_guard lock(mu_);
    for (const auto& b : backends_)
        if (!b->loaded_once) return false;
    return true;
}

}  // namespace stsauth::server
