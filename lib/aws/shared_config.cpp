#include "aws/shared_config.hpp"

#include "common/encoding.hpp"

#include <fmt/format.h>

#include <vector>

namespace stsauth::aws {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/// POSIX shell-like word splitting (Python's shlex.split, which botocore applies to config-file
/// section names): whitespace separates words, '...' is literal, "..." allows \" and \\ escapes,
/// a backslash outside quotes escapes the next character. nullopt on an unbalanced quote or a
/// trailing backslash (botocore then ignores the section).
std::optional<std::vector<std::string>> shell_split(std::string_view s) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (is_space(c)) {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
            continue;
        }
        in_word = true;
        if (c == '\\') {
            if (++i == s.size()) return std::nullopt;
            word += s[i];
        } else if (c == '\'') {
            const auto close = s.find('\'', i + 1);
            if (close == std::string_view::npos) return std::nullopt;
            word += s.substr(i + 1, close - i - 1);
            i = close;
        } else if (c == '"') {
            for (++i;; ++i) {
                if (i == s.size()) return std::nullopt;
                if (s[i] == '"') break;
                if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) ++i;
                word += s[i];
            }
        } else {
            word += c;
        }
    }
    if (in_word) words.push_back(std::move(word));
    return words;
}

struct loaded_file {
    bool exists = false;
    std::optional<ini_file> ini;
};

result<loaded_file> load_file(const environment& env, const std::string& path) {
    auto content = env.read_file(path);
    if (!content) return content.err();
    if (!*content) return loaded_file{};
    auto parsed = parse_ini(**content, path);
    if (!parsed) return parsed.err();
    return loaded_file{true, std::move(*parsed)};
}

}  // namespace

profile_selection select_profile(const environment& env, const std::optional<std::string>& profile_flag) {
    if (profile_flag && !profile_flag->empty()) return {*profile_flag, profile_source::flag};
    if (auto v = env.env("AWS_PROFILE")) return {*v, profile_source::environment};
    return {std::string(default_profile_name), profile_source::fallback};
}

std::optional<std::string> profile::get(std::string_view key) const {
    if (credentials_section)
        if (auto it = credentials_section->find(key); it != credentials_section->end()) return it->second;
    if (config_section)
        if (auto it = config_section->find(key); it != config_section->end()) return it->second;
    return std::nullopt;
}

std::optional<std::string> config_section_profile_name(std::string_view section_name) {
    if (section_name == default_profile_name) return std::string(default_profile_name);
    if (!section_name.starts_with("profile")) return std::nullopt;
    auto words = shell_split(section_name);
    if (!words || words->size() != 2 || (*words)[0] != "profile") return std::nullopt;
    return std::move((*words)[1]);
}

result<profile> load_profile(const environment& env, const profile_selection& selection) {
    profile p;
    p.selection = selection;
    p.credentials_path = expand_path(env.env("AWS_SHARED_CREDENTIALS_FILE").value_or("~/.aws/credentials"), env);
    p.config_path = expand_path(env.env("AWS_CONFIG_FILE").value_or("~/.aws/config"), env);

    auto credentials = load_file(env, p.credentials_path);
    if (!credentials) return credentials.err();
    p.credentials_file_exists = credentials->exists;
    if (credentials->ini)
        if (const auto* s = credentials->ini->find(selection.name)) p.credentials_section = s->values;

    auto config = load_file(env, p.config_path);
    if (!config) return config.err();
    p.config_file_exists = config->exists;
    if (config->ini) {
        bool from_prefixed = false;
        for (const auto& s : config->ini->sections) {
            const auto name = config_section_profile_name(s.name);
            if (!name || *name != selection.name) continue;
            const bool prefixed = s.name != default_profile_name;
            if (p.config_section && from_prefixed && !prefixed) continue;
            p.config_section = s.values;
            from_prefixed = prefixed;
        }
    }

    if (selection.chosen_explicitly() && !p.found()) {
        return make_error("profile_not_found",
                          fmt::format("the config profile \"{}\" ({}) could not be found in {} or {}", selection.name,
                                      selection.source == profile_source::flag ? "--profile" : "AWS_PROFILE",
                                      p.credentials_path, p.config_path));
    }
    return p;
}

bool valid_region_name(std::string_view region) noexcept {
    if (region.empty() || region.size() > 63) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
    if (!alnum(region.front()) || !alnum(region.back())) return false;
    for (const char c : region)
        if (!alnum(c) && c != '-') return false;
    return true;
}

result<resolved_region> resolve_region(const environment& env, const std::optional<std::string>& region_flag,
                                       const profile& p) {
    resolved_region r;
    if (region_flag && !region_flag->empty()) {
        r = {*region_flag, "--region"};
    } else if (auto v = env.env("AWS_REGION")) {
        r = {*v, "AWS_REGION"};
    } else if (auto d = env.env("AWS_DEFAULT_REGION")) {
        r = {*d, "AWS_DEFAULT_REGION"};
    } else if (auto pr = p.get("region"); pr && !pr->empty()) {
        r = {*pr, fmt::format("region of profile \"{}\"", p.name())};
    } else {
        r = {std::string(default_region), "default"};
    }
    if (!valid_region_name(r.name))
        return make_error("bad_region", fmt::format("invalid region name \"{}\" (from {})", r.name, r.source));
    return r;
}

status check_endpoint_settings(const environment& env, const profile& p) {
    struct setting {
        const char* variable;
        const char* key;
        const char* what;
    };
    for (const auto& s : {setting{"AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint", "FIPS endpoints"},
                          setting{"AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint", "dual-stack endpoints"}}) {
        std::string source = s.variable;
        auto value = env.env(s.variable);
        if (!value) {
            value = p.get(s.key);
            source = fmt::format("{} of profile \"{}\"", s.key, p.name());
        }
        if (value && encoding::iequals(*value, "true"))
            return make_error("unsupported_endpoint", fmt::format("{} is true: {} are not supported yet", source, s.what));
    }
    return ok_status();
}

}  // namespace stsauth::aws
