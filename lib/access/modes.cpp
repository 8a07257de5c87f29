#include "access/modes.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace stsauth::access {
namespace {

// Forward order of the modes: a transition may only move right.
int rank(authentication_mode mode) noexcept {
    switch (mode) {
        case authentication_mode::config_map: return 0;
        case authentication_mode::api_and_config_map: return 1;
        case authentication_mode::api: return 2;
    }
    return 0;
}

}  // namespace

bool transition_allowed(authentication_mode from, authentication_mode to) noexcept { return rank(to) >= rank(from); }

std::string mode_state_text(authentication_mode mode) { return std::string(to_string(mode)) + "\n"; }

result<authentication_mode> parse_mode_state(std::string_view text) {
    constexpr std::string_view blanks = " \t\r\n";
    const auto first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) return make_error("bad_mode_state", "the authentication-mode state file is empty");
    text = text.substr(first, text.find_last_not_of(blanks) + 1 - first);
    if (auto mode = parse_authentication_mode(text)) return *mode;
    return make_error("bad_mode_state",
                      "the authentication-mode state file does not hold CONFIG_MAP, API_AND_CONFIG_MAP or API");
}

result<mode_transition> check_mode_transition(std::optional<std::string_view> persisted_state,
                                              authentication_mode requested, bool allow_downgrade) {
    mode_transition t;
    t.current = requested;
    t.state_text = mode_state_text(requested);
    if (!persisted_state) {
        t.changed = true;
        return t;
    }
    auto previous = parse_mode_state(*persisted_state);
    if (!previous) {
        if (!allow_downgrade) {
            return make_error(previous.code(), previous.err().message +
                                                   "; fix or remove it, or start once with "
                                                   "--allow-authentication-mode-downgrade");
        }
        t.changed = true;
        t.forced = true;
        return t;
    }
    t.previous = *previous;
    t.changed = *previous != requested;
    if (transition_allowed(*previous, requested)) return t;
    if (allow_downgrade) {
        t.forced = true;
        return t;
    }
    return make_error("authentication_mode_downgrade",
                      fmt::format("authentication mode cannot change from {} to {}: transitions are one way (CONFIG_MAP -> "
                                  "API_AND_CONFIG_MAP -> API); --allow-authentication-mode-downgrade overrides for one start",
                                  to_string(*previous), to_string(requested)));
}

std::vector<config::backend_mode> effective_backends(authentication_mode mode,
                                                     std::span<const config::backend_mode> configured) {
    std::vector<config::backend_mode> out;
    for (const auto b : configured) {
        if (mode == authentication_mode::config_map && b == config::backend_mode::access_entries) continue;
        if (mode == authentication_mode::api && b == config::backend_mode::eks_config_map) continue;
        out.push_back(b);
    }
    return out;
}

status check_backend_order(std::span<const config::backend_mode> configured) {
    const auto ae = std::find(configured.begin(), configured.end(), config::backend_mode::access_entries);
    const auto cm = std::find(configured.begin(), configured.end(), config::backend_mode::eks_config_map);
    if (ae != configured.end() && cm != configured.end() && ae > cm) {
        return make_error("backend_mode_order", "AccessEntries must come before EKSConfigMap (access entries win)");
    }
    return ok_status();
}

}  // namespace stsauth::access
