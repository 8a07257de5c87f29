#pragma once
/// \file
/// The live mapping backends of `stsauth server` (SPEC-decisions A5): one loader per configured
/// backend, each watched on disk and hot-reloaded (parse -> validate -> swap); a file that fails
/// keeps that backend's last good mappings. The chain handed to the authenticator is an
/// immutable snapshot rebuilt whenever a backend changes.

#include "authn/authenticator.hpp"
#include "common/result.hpp"
#include "config/reload.hpp"
#include "config/server_config.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace stsauth::server {

/// What one reload attempt did, for logs and metrics.
struct reload_event {
    std::string backend;
    bool ok = true;
    std::string detail;  ///< error message, or a summary of what was loaded
    std::vector<std::string> warnings;
};

class mapping_sources {
public:
    /// `config_path` is the server config file (empty: the embedded default, never reloaded).
    /// Fails for backends stsauth cannot serve from files yet (CRD) or missing settings.
    static result<std::unique_ptr<mapping_sources>> create(const config::server_config& cfg, std::string config_path);

    /// Reloads backends whose files changed (all of them with `force`, e.g. on SIGHUP) and
    /// returns what happened. The first call loads everything.
    std::vector<reload_event> reload(bool force);

    ~mapping_sources();
    mapping_sources(const mapping_sources&) = delete;
    mapping_sources& operator=(const mapping_sources&) = delete;

    std::shared_ptr<const authn::mapping_chain> chain() const { return chain_.load(); }
    /// Every backend has loaded successfully at least once.
    bool ready() const;

private:
    struct backend;
    mapping_sources() = default;
    void rebuild_chain();

    std::vector<std::unique_ptr<backend>> backends_;
    mapping::feature_flags flags_;
    config::snapshot_store<authn::mapping_chain> chain_;
    mutable std::mutex mu_;  ///< serialises reloads
};

}  // namespace stsauth::server
