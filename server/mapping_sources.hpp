#pragma once
/// \file
/// The live mapping backends of `stsauth server` (SPEC-decisions A5): one loader per configured
/// backend, each watched on disk and hot-reloaded (parse -> validate -> swap); a file that fails
/// keeps that backend's last good mappings. The chain handed to the authenticator is an
/// immutable snapshot rebuilt whenever a backend changes.
///
/// With `server.dynamicBackendModePath` (part B §5.5) the chain's backends follow that JSON file
/// (`{"backendMode": "DynamicFile MountedFile", ...}`, space-separated, duplicates allowed): each
/// backend is built from the start-up configuration; a name stsauth does not know or cannot build
/// (CRD, settings missing, first load failing) keeps the current chain and says why (stricter
/// than the reference, which builds whatever it can). Deleting the file goes back to
/// `--backend-mode`.

#include "authn/authenticator.hpp"
#include "common/result.hpp"
#include "config/reload.hpp"
#include "config/server_config.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace stsauth::access {
class snapshot;
}

namespace stsauth::server {

/// Source name of the access-entries file (ACCESS-ENTRIES C8) in events, logs and metrics.
inline constexpr std::string_view access_entries_source = "access_entries";

/// Source name of the backend-mode file in events, logs and the config_reloads metric.
inline constexpr std::string_view dynamic_backend_mode_source = "dynamic_backend_mode";

/// What one reload attempt did, for logs and metrics.
struct reload_event {
    std::string backend;   ///< backend name, or dynamic_backend_mode_source
    bool ok = true;
    bool rejected = false;  ///< (with !ok) the file was valid but what it asks for was refused
    std::string detail;     ///< error message, or a summary of what was loaded
    std::vector<std::string> warnings;
    /// MountedFile: settings of the reloaded config file that differ from the running ones and
    /// take effect only at a restart (config::restart_only_changes).
    std::vector<std::string> needs_restart;
    /// `dynamic_e2e_latency_seconds` observation (DynamicFile and the backend-mode file, every
    /// successful load after the first): now - LastUpdatedDateTime.
    std::optional<double> e2e_latency_seconds;
    std::string e2e_type;  ///< `dynamic_file` or `dynamic_backend_mode` when e2e_latency_seconds is set
};

/// `dynamic_file_enabled` / `dynamic_file_only` of a chain: the chain contains DynamicFile / is
/// exactly DynamicFile. They follow the chain served now (the reference sets them to 1 on a
/// backend-mode switch and never back to 0; an operator reading a gauge wants the current state).
struct dynamic_file_gauges {
    bool enabled = false;
    bool only = false;
};
dynamic_file_gauges dynamic_gauges_of(const authn::mapping_chain& chain);

class mapping_sources {
public:
    using clock_fn = std::function<std::chrono::system_clock::time_point()>;

    /// `config_path` is the server config file (empty: the embedded default, never reloaded).
    /// Fails for backends stsauth cannot serve from files yet (CRD) or missing settings, and
    /// (ACCESS-ENTRIES C2.2) when the access-entries file asks for an authentication mode the
    /// one persisted in `<stateDir>/authentication-mode` cannot move to (unless
    /// `allow_mode_downgrade`, which only this start honours).
    /// `clock` (default: the system clock) dates the e2e latency observations.
    ///
    /// A reload of the config file (MountedFile) parses and validates the whole file as the
    /// start did (config::load_server_config_text with the start's `env` and `flags` layers): a
    /// file that would not start the server keeps the last good mappings (event not ok); one
    /// that would, applies its mappings and names the other settings that changed (they need a
    /// restart).
    static result<std::unique_ptr<mapping_sources>> create(const config::server_config& cfg, std::string config_path,
                                                           clock_fn clock = {}, bool allow_mode_downgrade = false,
                                                           config::overrides env = {}, config::overrides flags = {});

    /// Reloads backends whose files changed (all of them with `force`, e.g. on SIGHUP) and
    /// returns what happened. The first call loads everything. Reloads are serialised; readers
    /// (chain(), ready()) never wait for one.
    std::vector<reload_event> reload(bool force);

    ~mapping_sources();
    mapping_sources(const mapping_sources&) = delete;
    mapping_sources& operator=(const mapping_sources&) = delete;

    std::shared_ptr<const authn::mapping_chain> chain() const { return chain_.load(); }
    /// The access-entries snapshot (`server.accessEntries.file`) for /authorize: null when no
    /// file is configured or none has loaded yet. Last good kept across failed reloads.
    std::shared_ptr<const access::snapshot> access_entries() const;
    /// Every backend of the current chain has loaded successfully at least once. Lock-free: it
    /// never waits for a reload under way.
    bool ready() const noexcept { return ready_.load(std::memory_order_acquire); }

private:
    struct backend;
    struct mode_file;
    struct access_source;
    mapping_sources();
    result<std::unique_ptr<backend>> make_backend(config::backend_mode mode) const;
    void load_backend(backend& b, reload_event& ev);
    void reload_mode_file(bool force, std::vector<reload_event>& events, bool& rebuild);
    std::optional<std::string> switch_to(const std::vector<config::backend_mode>& modes,
                                         std::vector<reload_event>& events);
    void rebuild_chain();
    void reload_access(bool force, std::vector<reload_event>& events, bool& rebuild);
    bool backend_loaded(const backend& b) const;

    config::server_config cfg_;  ///< the start-up configuration (backends are built from it)
    std::string config_path_;
    config::overrides env_, flag_overrides_;  ///< the start's layers over the config file
    clock_fn clock_;
    std::map<config::backend_mode, std::unique_ptr<backend>> pool_;  ///< every backend built so far
    std::vector<config::backend_mode> startup_modes_;
    std::vector<config::backend_mode> active_;  ///< the current chain, in order (duplicates allowed)
    std::unique_ptr<mode_file> mode_file_;
    std::unique_ptr<access_source> access_;
    mapping::feature_flags flags_;
    config::snapshot_store<authn::mapping_chain> chain_;
    std::atomic<bool> ready_{false};
    mutable std::mutex mu_;  ///< serialises reloads (readers never take it)
};

}  // namespace stsauth::server
