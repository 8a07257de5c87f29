#include "mapping_sources.hpp"

#include "access/backend.hpp"
#include "access/entries.hpp"
#include "access/modes.hpp"
#include "mapping/dynamic_file.hpp"
#include "mapping/sources.hpp"

#include <spdlog/spdlog.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
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

/// What a backend's loader returns: the mappings and, for DynamicFile, the file's
/// LastUpdatedDateTime ("" when the file has none; nullopt when there is no file).
struct loaded_backend {
    mapping::loaded_mappings loaded;
    std::optional<std::string> last_updated;
    std::vector<std::string> needs_restart;  ///< MountedFile: see reload_event::needs_restart
};
using loader = std::function<result<loaded_backend>()>;

/// The authentication-mode state file (ACCESS-ENTRIES C2.2), replaced through a rename.
status write_state(const std::string& path, const std::string& text) {
    std::error_code ec;
    const fs::path p(path);
    if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return make_error("write_failed", "cannot write " + tmp);
        out << text;
        if (!out.good()) return make_error("write_failed", "cannot write " + tmp);
    }
    fs::rename(tmp, p, ec);
    if (ec) return make_error("write_failed", "cannot rename " + tmp + ": " + ec.message());
    return ok_status();
}

/// C2.2 for a freshly loaded snapshot against the persisted state.
result<access::mode_transition> transition_for(const std::string& state_file, const access::snapshot& snap,
                                               bool allow_downgrade) {
    std::optional<std::string> persisted;
    if (fs::exists(state_file)) {
        auto text = read_text(state_file);
        if (!text) return text.err();
        persisted = std::move(*text);
    }
    return access::check_mode_transition(persisted ? std::optional<std::string_view>(*persisted) : std::nullopt,
                                         snap.mode(), allow_downgrade);
}

/// What the AccessEntries chain's mapper holds: the chain's backends and the entries, owned, and
/// the links map_chain walks (pointing into them).
struct access_chain_state {
    std::vector<authn::chain_backend> backends;
    std::vector<config::backend_mode> modes;
    std::shared_ptr<const access::snapshot> entries;
    std::vector<access::chain_link> links;
    mapping::feature_flags flags;
};

std::string join(const std::vector<config::backend_mode>& modes) {
    std::string out;
    for (const auto m : modes) {
        if (!out.empty()) out += ' ';
        out += config::to_string(m);
    }
    return out;
}

}  // namespace

struct mapping_sources::backend {
    config::backend_mode mode = config::backend_mode::mounted_file;
    std::string name;
    std::vector<std::string> reserved_prefixes;
    loader load;
    std::vector<config::change_detector> watched;  ///< empty: loaded once (embedded config)
    config::snapshot_store<mapping::mapping_set> store;
    bool loaded_once = false;
    bool content_loaded = false;  ///< DynamicFile: the file existed at a successful load
};

struct mapping_sources::access_source {
    access_source(std::string p, std::string state) : path(p), state_file(std::move(state)), watch(std::move(p)) {}
    std::string path;
    std::string state_file;  ///< <stateDir>/authentication-mode
    config::change_detector watch;
    access::load_settings settings;
    config::snapshot_store<access::snapshot> store;
    bool loaded_once = false;
    bool allow_downgrade = false;  ///< this start only (--allow-authentication-mode-downgrade)
};

struct mapping_sources::mode_file {
    explicit mode_file(std::string p) : path(p), watch(std::move(p)) {}
    std::string path;
    config::change_detector watch;
    bool checked_once = false;
    std::uint64_t loads = 0;  ///< successful reads of the file (the first is not an e2e observation)
};

mapping_sources::mapping_sources() = default;
mapping_sources::~mapping_sources() = default;

result<std::unique_ptr<mapping_sources::backend>> mapping_sources::make_backend(config::backend_mode mode) const {
    const auto& cfg = cfg_;
    auto b = std::make_unique<backend>();
    b->mode = mode;
    b->name = std::string(config::to_string(mode));
    b->reserved_prefixes = cfg.reserved_prefixes(mode);
    switch (mode) {
        case config::backend_mode::mounted_file:
            if (config_path_.empty()) {
                const auto node = cfg.server_node;
                b->load = [node]() -> result<loaded_backend> {
                    auto loaded = mapping::load_mounted_file(node);
                    if (!loaded) return loaded.err();
                    return loaded_backend{std::move(*loaded), std::nullopt, {}};
                };
            } else {
                b->watched.emplace_back(config_path_);
                b->load = [this, path = config_path_]() -> result<loaded_backend> {
                    auto text = read_text(path);
                    if (!text) return text.err();
                    // The whole file, as at start: what would not start the server is not applied.
                    auto whole = config::load_server_config_text(*text, path, env_, flag_overrides_);
                    if (!whole) return whole.err();
                    auto loaded = mapping::load_mounted_file_text(*text);
                    if (!loaded) return loaded.err();
                    for (auto& w : whole->warnings)  // new ones only: the start logged its own
                        if (std::find(cfg_.warnings.begin(), cfg_.warnings.end(), w) == cfg_.warnings.end())
                            loaded->warnings.push_back({"config_warning", std::move(w)});
                    return loaded_backend{std::move(*loaded), std::nullopt, config::restart_only_changes(cfg_, *whole)};
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
                b->load = [path]() -> result<loaded_backend> {
                    std::map<std::string, std::string> data;
                    for (const char* key : {"mapRoles", "mapUsers", "mapAccounts"}) {
                        const auto file = (fs::path(path) / key).string();
                        if (!fs::exists(file)) continue;
                        auto text = read_text(file);
                        if (!text) return text.err();
                        data.emplace(key, std::move(*text));
                    }
                    auto loaded = mapping::load_configmap_data(data);
                    if (!loaded) return loaded.err();
                    return loaded_backend{std::move(*loaded), std::nullopt, {}};
                };
            } else {
                b->watched.emplace_back(path);
                b->load = [path]() -> result<loaded_backend> {
                    auto text = read_text(path);
                    if (!text) return text.err();
                    auto loaded = mapping::load_configmap_manifest(*text);
                    if (!loaded) return loaded.err();
                    return loaded_backend{std::move(*loaded), std::nullopt, {}};
                };
            }
            break;
        }
        case config::backend_mode::dynamic_file: {
            if (cfg.dynamic_file_path.empty())
                return make_error("missing_dynamic_file_path",
                                  "backend DynamicFile needs server.dynamicfilepath");
            const std::string path = cfg.dynamic_file_path;
            const bool strict = cfg.dynamic_file_user_id_strict;
            b->watched.emplace_back(path);
            b->load = [path, strict]() -> result<loaded_backend> {
                // As the reference: no file yet means no mappings (every lookup misses).
                if (!fs::exists(path)) return loaded_backend{};
                auto text = read_text(path);
                if (!text) return text.err();
                auto loaded = mapping::load_dynamic_file(*text, strict);
                if (!loaded) return loaded.err();
                return loaded_backend{std::move(loaded->loaded), std::move(loaded->last_updated_date_time), {}};
            };
            break;
        }
        case config::backend_mode::crd:
            return make_error("unsupported_backend",
                              "backend CRD (IAMIdentityMapping objects) is not supported by stsauth yet; use "
                              "MountedFile, EKSConfigMap or DynamicFile");
        case config::backend_mode::access_entries:
            // Loaded by access_source (the authorizer reads the same file); nothing to load here.
            if (cfg.access_entries.file.empty())
                return make_error("missing_access_entries_file",
                                  "backend AccessEntries needs server.accessEntries.file");
            break;
    }
    return b;
}

result<std::unique_ptr<mapping_sources>> mapping_sources::create(const config::server_config& cfg,
                                                                 std::string config_path, clock_fn clock,
                                                                 bool allow_mode_downgrade, config::overrides env,
                                                                 config::overrides flags) {
    std::unique_ptr<mapping_sources> self(new mapping_sources());
    self->cfg_ = cfg;
    self->config_path_ = std::move(config_path);
    self->env_ = std::move(env);
    self->flag_overrides_ = std::move(flags);
    self->clock_ = clock ? std::move(clock) : clock_fn([] { return std::chrono::system_clock::now(); });
    self->flags_.sso_role_match = cfg.gates.sso_role_match;

    for (const auto mode : cfg.backends()) {
        self->startup_modes_.push_back(mode);
        if (self->pool_.count(mode) != 0) continue;
        auto b = self->make_backend(mode);
        if (!b) return b.err();
        self->pool_.emplace(mode, std::move(*b));
    }
    self->active_ = self->startup_modes_;
    if (!cfg.dynamic_backend_mode_path.empty())
        self->mode_file_ = std::make_unique<mode_file>(cfg.dynamic_backend_mode_path);
    if (!cfg.access_entries.file.empty()) {
        auto a = std::make_unique<access_source>(cfg.access_entries.file,
                                                 (fs::path(cfg.state_dir) / "authentication-mode").string());
        a->settings = access::settings_from_config(cfg);
        a->allow_downgrade = allow_mode_downgrade;
        // C2.2 at start: a forbidden transition stops the server (a reload only keeps the old file).
        if (fs::exists(a->path)) {
            auto text = read_text(a->path);
            if (text) {
                if (auto snap = access::load(*text, a->settings)) {
                    auto t = transition_for(a->state_file, *snap, allow_mode_downgrade);
                    if (!t) return make_error(t.err().code, a->path + ": " + t.err().message);
                }
            }
        }
        self->access_ = std::move(a);
    }
    self->chain_.swap(std::make_shared<const authn::mapping_chain>());
    return self;
}

bool mapping_sources::backend_loaded(const backend& b) const {
    if (b.mode == config::backend_mode::access_entries) return access_ && access_->loaded_once;
    return b.loaded_once;
}

void mapping_sources::reload_access(bool force, std::vector<reload_event>& events, bool& rebuild) {
    auto& a = *access_;
    const bool changed = a.watch.changed();
    if (!changed && !force && a.loaded_once) return;
    reload_event ev;
    ev.backend = std::string(access_entries_source);
    auto text = read_text(a.path);
    if (!text) {
        ev.ok = false;
        ev.detail = text.err().message;
        a.store.record_failure(text.err());
        events.push_back(std::move(ev));
        return;
    }
    auto snap = access::load(*text, a.settings);
    if (!snap) {
        ev.ok = false;
        ev.detail = snap.err().message;
        a.store.record_failure(snap.err());
        events.push_back(std::move(ev));
        return;
    }
    // C2.2: one way only; a refused mode keeps the running entries and mode.
    auto t = transition_for(a.state_file, *snap, a.allow_downgrade);
    if (!t) {
        ev.ok = false;
        ev.rejected = true;
        ev.detail = t.err().message + "; keeping the running access entries";
        a.store.record_failure(t.err());
        events.push_back(std::move(ev));
        return;
    }
    if (t->forced)
        ev.warnings.push_back("authentication mode " + std::string(access::to_string(t->current)) +
                              " accepted only because of --allow-authentication-mode-downgrade");
    if (t->changed) {
        if (auto st = write_state(a.state_file, t->state_text); !st)
            ev.warnings.push_back("authentication mode not persisted: " + st.err().message);
    }
    for (const auto& w : snap->warnings()) ev.warnings.push_back(w.message);
    ev.detail = std::to_string(snap->entries().size()) + " entries, authenticationMode " +
                std::string(access::to_string(snap->mode()));
    a.store.swap(std::make_shared<const access::snapshot>(std::move(*snap)));
    a.loaded_once = true;
    a.allow_downgrade = false;  // the override is for one start only
    rebuild = true;
    events.push_back(std::move(ev));
}

std::shared_ptr<const access::snapshot> mapping_sources::access_entries() const {
    return access_ ? access_->store.load() : nullptr;
}

void mapping_sources::load_backend(backend& b, reload_event& ev) {
    ev.backend = b.name;
    auto loaded = b.load();
    if (!loaded) {
        ev.ok = false;
        ev.detail = loaded.err().message;
        b.store.record_failure(loaded.err());
        return;
    }
    const auto& m = loaded->loaded.mappings;
    ev.detail = std::to_string(m.role_count()) + " roles, " + std::to_string(m.sso_count()) + " SSO roles, " +
                std::to_string(m.user_count()) + " users, " + std::to_string(m.account_count()) + " accounts";
    for (const auto& w : loaded->loaded.warnings) ev.warnings.push_back(w.message);
    ev.needs_restart = std::move(loaded->needs_restart);
    const bool first = !b.content_loaded;
    if (loaded->last_updated) b.content_loaded = true;
    b.store.swap(std::make_shared<const mapping::mapping_set>(std::move(loaded->loaded.mappings)));
    b.loaded_once = true;
    // Part B §5.4: every load after the first observes now - LastUpdatedDateTime; a bad or
    // future timestamp is said, not observed.
    if (!first && loaded->last_updated) {
        auto latency = mapping::e2e_latency_seconds(*loaded->last_updated, clock_());
        if (latency) {
            ev.e2e_latency_seconds = *latency;
            ev.e2e_type = "dynamic_file";
        } else {
            ev.warnings.push_back("e2e latency not observed: " + latency.err().message);
        }
    }
}

std::optional<std::string> mapping_sources::switch_to(const std::vector<config::backend_mode>& modes,
                                                      std::vector<reload_event>& events) {
    // Build what is missing first; nothing changes unless every backend can serve.
    std::map<config::backend_mode, std::unique_ptr<backend>> built;
    for (const auto mode : modes) {
        if (pool_.count(mode) != 0 || built.count(mode) != 0) continue;
        auto b = make_backend(mode);
        if (!b) return b.err().message;
        built.emplace(mode, std::move(*b));
    }
    // Backends that were not in the chain are reloaded now (inactive ones are not watched); one
    // that has never loaded must load now.
    for (const auto mode : modes) {
        if (std::find(active_.begin(), active_.end(), mode) != active_.end()) continue;
        auto it = built.find(mode);
        backend& b = it != built.end() ? *it->second : *pool_.at(mode);
        if (mode == config::backend_mode::access_entries) {
            if (!backend_loaded(b)) return std::string("backend AccessEntries has no loaded access-entries file");
            continue;
        }
        if (std::any_of(events.begin(), events.end(), [&](const reload_event& e) { return e.backend == b.name; }))
            continue;  // already loaded in this pass (a duplicate name)
        reload_event ev;
        load_backend(b, ev);
        if (!ev.ok && !b.loaded_once) return "backend " + b.name + " cannot load: " + ev.detail;
        events.push_back(std::move(ev));
    }
    for (auto& [mode, b] : built) pool_.emplace(mode, std::move(b));
    active_ = modes;
    return std::nullopt;
}

void mapping_sources::reload_mode_file(bool force, std::vector<reload_event>& events, bool& rebuild) {
    auto& mf = *mode_file_;
    const bool changed = mf.watch.changed();
    if (!changed && !force && mf.checked_once) return;
    const bool first_check = !mf.checked_once;
    mf.checked_once = true;

    reload_event ev;
    ev.backend = std::string(dynamic_backend_mode_source);
    std::vector<config::backend_mode> wanted;
    if (!mf.watch.current().exists) {
        // Part B §5.5: the file is gone -> back to --backend-mode (nothing to say if it never was).
        if (active_ == startup_modes_) {
            if (!first_check && changed) {
                ev.detail = "file " + mf.path + " removed; backend chain stays " + join(active_);
                events.push_back(std::move(ev));
            }
            return;
        }
        wanted = startup_modes_;
        ev.detail = "file " + mf.path + " removed; back to --backend-mode: ";
    } else {
        auto text = read_text(mf.path);
        if (!text) {
            ev.ok = false;
            ev.detail = text.err().message;
            events.push_back(std::move(ev));
            return;
        }
        auto parsed = mapping::load_backend_mode_file(*text);
        if (!parsed) {
            ev.ok = false;
            ev.detail = parsed.err().message + "; keeping backend chain " + join(active_);
            events.push_back(std::move(ev));
            return;
        }
        if (++mf.loads > 1) {
            auto latency = mapping::e2e_latency_seconds(parsed->last_updated_date_time, clock_());
            if (latency) {
                ev.e2e_latency_seconds = *latency;
                ev.e2e_type = std::string(dynamic_backend_mode_source);
            } else {
                ev.warnings.push_back("e2e latency not observed: " + latency.err().message);
            }
        }
        std::string refused;
        for (const auto& name : parsed->modes) {
            const auto m = config::parse_backend_mode(name);
            if (!m) {
                refused = "backend mode \"" + name + "\" is not a valid mode";
                break;
            }
            wanted.push_back(m->mode);
        }
        if (refused.empty() && wanted.empty()) refused = "backendMode names no backend";
        if (refused.empty()) {
            if (auto st = access::check_backend_order(wanted); !st) refused = st.err().message;
        }
        if (!refused.empty()) {
            ev.ok = false;
            ev.rejected = true;
            ev.detail = refused + "; keeping backend chain " + join(active_);
            events.push_back(std::move(ev));
            return;
        }
        if (wanted == active_) {
            ev.detail = "backend chain stays " + join(active_);
            events.push_back(std::move(ev));
            return;
        }
        ev.detail = "backend chain ";
    }
    const auto previous = join(active_);
    std::vector<reload_event> loads;
    if (auto refused = switch_to(wanted, loads)) {
        ev.ok = false;
        ev.rejected = true;
        ev.detail = *refused + "; keeping backend chain " + previous;
        events.push_back(std::move(ev));
        return;
    }
    ev.detail += join(active_) + " (was " + previous + ")";
    events.push_back(std::move(ev));
    for (auto& l : loads) events.push_back(std::move(l));
    rebuild = true;
}

std::vector<reload_event> mapping_sources::reload(bool force) {
    std::lock_guard lock(mu_);
    std::vector<reload_event> events;
    bool rebuild = chain_.generation() <= 1;  // the placeholder chain of create()
    if (access_) reload_access(force, events, rebuild);
    if (mode_file_) reload_mode_file(force, events, rebuild);

    for (auto& [mode, b] : pool_) {
        if (std::find(active_.begin(), active_.end(), mode) == active_.end()) continue;  // not in the chain
        if (!b->load) continue;  // AccessEntries: loaded above
        const std::string& name = b->name;  // clang 14 cannot capture a structured binding
        if (std::any_of(events.begin(), events.end(), [&name](const reload_event& e) { return e.backend == name; }))
            continue;  // loaded by the chain switch just now
        bool changed = force || !b->loaded_once;
        for (auto& w : b->watched) changed = w.changed() || changed;  // keep every detector current
        if (!changed) continue;
        reload_event ev;
        load_backend(*b, ev);
        rebuild = ev.ok || rebuild;
        events.push_back(std::move(ev));
    }
    if (rebuild) rebuild_chain();
    bool all_loaded = true;
    for (const auto mode : active_) all_loaded = backend_loaded(*pool_.at(mode)) && all_loaded;
    ready_.store(all_loaded, std::memory_order_release);
    return events;
}

void mapping_sources::rebuild_chain() {
    auto chain = std::make_shared<authn::mapping_chain>();
    chain->flags = flags_;
    for (const auto mode : active_) {
        const auto& b = *pool_.at(mode);
        auto set = b.store.load();
        if (!set) set = std::make_shared<const mapping::mapping_set>();  // never loaded (or AccessEntries)
        chain->backends.push_back({b.name, std::move(set), b.reserved_prefixes});
    }
    // ACCESS-ENTRIES C2.3: with AccessEntries in the chain, the authentication mode filters it
    // and the entries answer in their place (C3's creator mapping first).
    if (access_ && std::find(active_.begin(), active_.end(), config::backend_mode::access_entries) != active_.end()) {
        auto state = std::make_shared<access_chain_state>();
        state->backends = chain->backends;
        state->modes = active_;
        state->entries = access_->store.load();
        state->flags = flags_;
        state->links.reserve(state->backends.size());
        for (std::size_t i = 0; i < state->backends.size(); ++i) {
            const auto& b = state->backends[i];
            state->links.push_back({state->modes[i], b.name, b.mappings.get(), b.reserved_prefixes});
        }
        chain->map = [state](const mapping::identity& id) {
            std::vector<error> lookup_errors;
            auto out = access::map_chain(state->links, state->entries.get(), id, state->flags, &lookup_errors);
            for (const auto& e : lookup_errors)
                if (e.code == "principal_id_mismatch")
                    spdlog::warn("access entry not used reason=principal_id_mismatch arn={} {}", id.canonical_arn,
                                 e.message);
            return out;
        };
    }
    chain_.swap(std::move(chain));
}

dynamic_file_gauges dynamic_gauges_of(const authn::mapping_chain& chain) {
    const auto& b = chain.backends;
    dynamic_file_gauges g;
    g.enabled = std::any_of(b.begin(), b.end(), [](const authn::chain_backend& x) { return x.name == "DynamicFile"; });
    g.only = b.size() == 1 && b.front().name == "DynamicFile";
    return g;
}

}  // namespace stsauth::server
