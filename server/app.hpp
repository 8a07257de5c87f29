#pragma once
/// \file
/// The composition root of `stsauth server`: certificates and kubeconfig, the io_context and its
/// threads, the STS client, the mapping sources, the authenticator, the listeners, signals
/// (SIGTERM drain, SIGHUP reload) and the periodic reload of files that changed.

#include "config/server_config.hpp"

#include <string>

namespace stsauth::server {

/// What one start of the server is told beyond its configuration (flags that are deliberately
/// not config keys: they must not outlive the start they were given to).
struct start_options {
    /// `--allow-authentication-mode-downgrade` (ACCESS-ENTRIES C2.2): this start accepts an
    /// access-entries file whose authenticationMode goes back from the persisted one (disaster
    /// recovery), with a warning; reloads after the first load refuse it again.
    bool allow_authentication_mode_downgrade = false;
    /// The environment and flag layers the configuration was loaded with: a reload of the
    /// config file is validated with them, as the start was.
    config::overrides env;
    config::overrides flags;
};

/// Runs the server until SIGTERM/SIGINT; returns the process exit code (0 after a clean drain,
/// 1 when start-up fails). `config_path` is empty when the embedded default config is used.
int run_server(const config::server_config& cfg, const std::string& config_path, const start_options& start = {});

/// `stsauth init`: writes cert.pem and key.pem (in the state dir with the
/// ConfiguredInitDirectories gate, else in the working directory, as the reference) and the
/// webhook kubeconfig. Returns the exit code.
int run_init(const config::server_config& cfg);

}  // namespace stsauth::server
