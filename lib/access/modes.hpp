#pragma once
/// \file
/// Authentication modes over time (ACCESS-ENTRIES C2.2) and their effect on the backend chain
/// (C2.3). Pure: the server reads and writes the state file `<stateDir>/authentication-mode`.
///
/// ```
/// std::optional<std::string> state = read_file_if_exists(state_dir + "/authentication-mode");
/// auto t = access::check_mode_transition(state, snap.mode(), flags.allow_downgrade);
/// if (!t) { at start: exit 1 with t.err().message; on reload: keep the running config,
///           log it, bump stsauth_config_reload_total{source="access_entries",result="rejected"} }
/// if (t->forced) log a warning;  if (t->changed) write t->state_text atomically;
/// ```

#include "access/model.hpp"
#include "common/result.hpp"
#include "config/server_config.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::access {

/// True when `from` -> `to` is allowed: the same mode (no-op), CONFIG_MAP -> API_AND_CONFIG_MAP,
/// CONFIG_MAP -> API, API_AND_CONFIG_MAP -> API. Never back towards CONFIG_MAP, never API ->
/// API_AND_CONFIG_MAP.
bool transition_allowed(authentication_mode from, authentication_mode to) noexcept;

/// The state file's text for a mode: the mode name and "\n".
std::string mode_state_text(authentication_mode mode);

/// Parses the state file: one mode name, surrounding blanks and line ends ignored. Error code
/// `bad_mode_state` for anything else (an empty or truncated file included: the server must not
/// forget how far it went).
result<authentication_mode> parse_mode_state(std::string_view text);

/// The decision about one start or reload.
struct mode_transition {
    std::optional<authentication_mode> previous;  ///< persisted mode; nullopt on first start
    authentication_mode current = authentication_mode::api_and_config_map;  ///< the mode to run with
    bool changed = false;      ///< the state file must be (re)written with state_text
    bool forced = false;       ///< allowed only because of --allow-authentication-mode-downgrade
    std::string state_text;    ///< mode_state_text(current)
};

/// C2.2 as a pure function of (persisted state text or nullopt when there is no state file,
/// requested mode, the one-start downgrade override). Errors:
/// `authentication_mode_downgrade` ("authentication mode cannot change from API to
/// API_AND_CONFIG_MAP: ...", naming both modes) and `bad_mode_state`; with `allow_downgrade`
/// both are allowed and `forced` is set.
result<mode_transition> check_mode_transition(std::optional<std::string_view> persisted_state,
                                              authentication_mode requested, bool allow_downgrade);

/// C2.3 step 1: the configured chain filtered by the mode, order kept: CONFIG_MAP drops
/// AccessEntries, API drops EKSConfigMap, API_AND_CONFIG_MAP keeps both. Other backends are
/// untouched (MountedFile plays EKS's hidden built-in mappings).
std::vector<config::backend_mode> effective_backends(authentication_mode mode,
                                                     std::span<const config::backend_mode> configured);

/// C2.3: when both AccessEntries and EKSConfigMap are listed, AccessEntries must come first.
/// Error code `backend_mode_order`.
status check_backend_order(std::span<const config::backend_mode> configured);

}  // namespace stsauth::access
