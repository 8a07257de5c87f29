#include "aws/shared_config.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace stsauth;
using namespace stsauth::aws;

namespace {

constexpr const char* creds_path = "/home/u/.aws/credentials";
constexpr const char* config_path = "/home/u/.aws/config";

using vars_t = std::map<std::string, std::string, std::less<>>;

environment env_with(vars_t vars, std::string credentials, std::string config) {
    vars.emplace("HOME", "/home/u");
    std::map<std::string, std::string, std::less<>> files;
    if (!credentials.empty()) files.emplace(creds_path, std::move(credentials));
    if (!config.empty()) files.emplace(config_path, std::move(config));
    return fake_environment(std::move(vars), std::move(files));
}

profile load(const environment& env, std::optional<std::string> flag = {}) {
    auto p = load_profile(env, select_profile(env, flag));
    if (!p) FAIL(p.err().message);
    return std::move(*p);
}

}  // namespace

TEST_CASE("expand_path: variables then home, as botocore (expandvars, expanduser)", "[aws][config]") {
    const auto env = fake_environment({{"HOME", "/home/u/"}, {"X", "1"}});
    CHECK(expand_path("~/.aws/config", env) == "/home/u/.aws/config");
    CHECK(expand_path("~", env) == "/home/u");
    CHECK(expand_path("$X/a", env) == "1/a");
    CHECK(expand_path("${X}b", env) == "1b");
    CHECK(expand_path("$NOPE/a", env) == "$NOPE/a");
    CHECK(expand_path("${abc $X", env) == "${abc 1");
    CHECK(expand_path("~other/x", env) == "~other/x");
    CHECK(expand_path("/abs/~/x", env) == "/abs/~/x");
    CHECK(expand_path("$HOME/x", env) == "/home/u//x");
    CHECK(expand_path("~/x", fake_environment({{"HOME", "/"}})) == "/x");
    CHECK(expand_path("~", fake_environment({{"HOME", "/"}})) == "/");
    CHECK(expand_path("~/x", fake_environment({})) == "~/x");  // no home known
}

TEST_CASE("process environment: missing file and directory are 'not found'", "[aws][config]") {
    const auto env = process_environment();
    const auto missing = env.read_file(STSAUTH_TEST_DATA_DIR "/aws/does-not-exist");
    REQUIRE(missing.ok());
    CHECK_FALSE(missing->has_value());
    const auto dir = env.read_file(STSAUTH_TEST_DATA_DIR "/aws");
    REQUIRE(dir.ok());
    CHECK_FALSE(dir->has_value());
    const auto below_file = env.read_file(STSAUTH_TEST_DATA_DIR "/aws/config/x");
    REQUIRE(below_file.ok());
    CHECK_FALSE(below_file->has_value());
    const auto present = env.read_file(STSAUTH_TEST_DATA_DIR "/aws/config");
    REQUIRE(present.ok());
    REQUIRE(present->has_value());
    CHECK((*present)->find("[profile dev]") != std::string::npos);
}

TEST_CASE("profile selection: --profile > AWS_PROFILE > default, empty counts as unset", "[aws][config]") {
    const auto env = fake_environment({{"AWS_PROFILE", "fromenv"}});
    CHECK(select_profile(env, std::string("fromflag")).name == "fromflag");
    CHECK(select_profile(env, std::string("fromflag")).source == profile_source::flag);
    CHECK(select_profile(env, std::nullopt).name == "fromenv");
    CHECK(select_profile(env, std::nullopt).source == profile_source::environment);
    CHECK(select_profile(env, std::string()).name == "fromenv");
    const auto none = fake_environment({{"AWS_PROFILE", ""}, {"AWS_DEFAULT_PROFILE", "legacy"}});
    CHECK(select_profile(none, std::nullopt).name == "default");
    CHECK(select_profile(none, std::nullopt).source == profile_source::fallback);
    CHECK_FALSE(select_profile(none, std::nullopt).chosen_explicitly());
}

TEST_CASE("config-file section names", "[aws][config]") {
    CHECK(config_section_profile_name("default") == "default");
    CHECK(config_section_profile_name("profile dev") == "dev");
    CHECK(config_section_profile_name("profile   dev  ") == "dev");
    CHECK(config_section_profile_name("profile \"my profile\"") == "my profile");
    CHECK(config_section_profile_name("profile 'x y'") == "x y");
    CHECK(config_section_profile_name("profile default") == "default");
    CHECK_FALSE(config_section_profile_name("dev"));
    CHECK_FALSE(config_section_profile_name("profile"));
    CHECK_FALSE(config_section_profile_name("profile a b"));
    CHECK_FALSE(config_section_profile_name("profilefoo bar"));
    CHECK_FALSE(config_section_profile_name("profile \"unbalanced"));
    CHECK_FALSE(config_section_profile_name("sso-session corp"));
    CHECK_FALSE(config_section_profile_name("Default"));
}

TEST_CASE("profiles: files at their default and overridden locations", "[aws][config]") {
    const auto p = load(env_with({}, "[default]\naws_access_key_id = A\n", "[default]\nregion = eu-west-1\n"));
    CHECK(p.name() == "default");
    CHECK(p.credentials_path == creds_path);
    CHECK(p.config_path == config_path);
    CHECK(p.credentials_file_exists);
    CHECK(p.config_file_exists);
    CHECK(p.get("aws_access_key_id") == "A");
    CHECK(p.get("region") == "eu-west-1");

    const auto moved = fake_environment({{"HOME", "/home/u"},
                                         {"AWS_SHARED_CREDENTIALS_FILE", "~/c"},
                                         {"AWS_CONFIG_FILE", "/etc/aws-config"}},
                                        {{"/home/u/c", "[default]\naws_access_key_id = B\n"},
                                         {"/etc/aws-config", "[default]\nregion = us-east-2\n"}});
    const auto q = load(moved);
    CHECK(q.credentials_path == "/home/u/c");
    CHECK(q.config_path == "/etc/aws-config");
    CHECK(q.get("aws_access_key_id") == "B");
    CHECK(q.get("region") == "us-east-2");
}

TEST_CASE("profiles: [profile x] in the config file, [x] in the credentials file", "[aws][config]") {
    const auto env = env_with({}, "[dev]\naws_access_key_id = FROMCREDS\n[profile dev]\nregion = wrong\n",
                              "[dev]\nregion = wrong\n[profile dev]\nregion = us-west-2\noutput = json\n");
    const auto p = load(env, std::string("dev"));
    REQUIRE(p.credentials_section);
    REQUIRE(p.config_section);
    CHECK(p.credentials_section->at("aws_access_key_id") == "FROMCREDS");
    CHECK_FALSE(p.credentials_section->contains("region"));
    CHECK(p.config_section->at("region") == "us-west-2");
    CHECK(p.get("output") == "json");
}

TEST_CASE("profiles: the credentials file overrides the config file key by key", "[aws][config]") {
    const auto env = env_with({}, "[default]\nregion = from-creds\naws_access_key_id = C\n",
                              "[default]\nregion = from-config\noutput = text\naws_access_key_id = K\n");
    const auto p = load(env);
    CHECK(p.get("region") == "from-creds");
    CHECK(p.get("aws_access_key_id") == "C");
    CHECK(p.get("output") == "text");
    CHECK_FALSE(p.get("nothing"));
}

TEST_CASE("profiles: [profile default] wins over [default] in the config file", "[aws][config]") {
    for (const char* config : {"[default]\nregion = a\n[profile default]\nregion = b\n",
                               "[profile default]\nregion = b\n[default]\nregion = a\n"}) {
        INFO(config);
        CHECK(load(env_with({}, "", config)).get("region") == "b");
    }
}

TEST_CASE("profiles: an explicitly chosen profile must exist, the default need not", "[aws][config]") {
    const auto env = env_with({{"AWS_PROFILE", "ghost"}}, "[default]\n", "[profile other]\n");
    const auto by_env = load_profile(env, select_profile(env, std::nullopt));
    REQUIRE_FALSE(by_env.ok());
    CHECK(by_env.code() == "profile_not_found");
    CHECK(by_env.err().message.find("ghost") != std::string::npos);
    CHECK(by_env.err().message.find("AWS_PROFILE") != std::string::npos);
    CHECK(by_env.err().message.find(creds_path) != std::string::npos);
    CHECK(by_env.err().message.find(config_path) != std::string::npos);

    const auto by_flag = load_profile(env, select_profile(env, std::string("nope")));
    REQUIRE_FALSE(by_flag.ok());
    CHECK(by_flag.code() == "profile_not_found");
    CHECK(by_flag.err().message.find("--profile") != std::string::npos);

    // A profile that only exists in one file is found.
    CHECK(load(env, std::string("other")).found());

    // No files at all and no explicit profile: fine, nothing found.
    const auto empty = load(env_with({}, "", ""));
    CHECK_FALSE(empty.found());
    CHECK_FALSE(empty.credentials_file_exists);
    CHECK_FALSE(empty.config_file_exists);
}

TEST_CASE("profiles: a malformed or unreadable file is an error, not ignored", "[aws][config]") {
    const auto bad = load_profile(env_with({}, "[default]\naws_secret_access_key\n", ""), select_profile(env_with({}, "", ""), {}));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.code() == "bad_ini");
    CHECK(bad.err().message.starts_with(std::string(creds_path) + ":2:"));

    auto unreadable = env_with({}, "", "");
    unreadable.read_file = [](const std::string& path) -> result<std::optional<std::string>> {
        return make_error("file_read_error", "cannot read " + path + ": Permission denied");
    };
    const auto r = load_profile(unreadable, select_profile(unreadable, {}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "file_read_error");
}

TEST_CASE("region: --region > AWS_REGION > AWS_DEFAULT_REGION > profile > us-east-1", "[aws][config]") {
    const std::string config = "[default]\nregion = eu-west-1\n";
    const auto p = load(env_with({}, "", config));
    auto region = [&](vars_t vars, std::optional<std::string> flag) {
        const auto r = resolve_region(env_with(std::move(vars), "", config), flag, p);
        REQUIRE(r.ok());
        return r->name + "|" + r->source;
    };
    const vars_t both{{"AWS_REGION", "us-west-1"}, {"AWS_DEFAULT_REGION", "us-west-2"}};
    CHECK(region(both, std::string("ap-south-1")) == "ap-south-1|--region");
    CHECK(region(both, std::nullopt) == "us-west-1|AWS_REGION");
    CHECK(region({{"AWS_DEFAULT_REGION", "us-west-2"}}, std::nullopt) == "us-west-2|AWS_DEFAULT_REGION");
    CHECK(region({{"AWS_REGION", ""}, {"AWS_DEFAULT_REGION", ""}}, std::string()) ==
          "eu-west-1|region of profile \"default\"");

    const auto none = load(env_with({}, "", "[default]\nregion =\n"));
    const auto fallback = resolve_region(env_with({}, "", ""), std::nullopt, none);
    REQUIRE(fallback.ok());
    CHECK(fallback->name == "us-east-1");
    CHECK(fallback->source == "default");
}

TEST_CASE("region: names are validated as botocore does", "[aws][config]") {
    CHECK(valid_region_name("us-east-1"));
    CHECK(valid_region_name("cn-north-1"));
    CHECK(valid_region_name("a"));
    CHECK(valid_region_name(std::string(63, 'a')));
    CHECK_FALSE(valid_region_name(std::string(64, 'a')));
    CHECK_FALSE(valid_region_name(""));
    CHECK_FALSE(valid_region_name("-us-east-1"));
    CHECK_FALSE(valid_region_name("us-east-1-"));
    CHECK_FALSE(valid_region_name("us_east_1"));
    CHECK_FALSE(valid_region_name("us-east-1.evil.com"));
    CHECK_FALSE(valid_region_name("us-east-1/x"));

    const auto p = load(env_with({}, "", "[default]\nregion = not a region\n"));
    const auto r = resolve_region(env_with({}, "", ""), std::nullopt, p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "bad_region");
    CHECK(r.err().message.find("profile \"default\"") != std::string::npos);
    const auto flag = resolve_region(env_with({}, "", ""), std::string("evil.com/"), p);
    REQUIRE_FALSE(flag.ok());
    CHECK(flag.code() == "bad_region");
    CHECK(flag.err().message.find("--region") != std::string::npos);
}

TEST_CASE("endpoint settings: FIPS and dual-stack requests are refused, not ignored", "[aws][config]") {
    const auto plain = load(env_with({}, "", "[default]\nregion = us-east-1\n"));
    CHECK(check_endpoint_settings(env_with({}, "", ""), plain).ok());
    CHECK(check_endpoint_settings(env_with({{"AWS_USE_FIPS_ENDPOINT", "false"}}, "", ""), plain).ok());

    const auto fips_env = check_endpoint_settings(env_with({{"AWS_USE_FIPS_ENDPOINT", "TRUE"}}, "", ""), plain);
    REQUIRE_FALSE(fips_env.ok());
    CHECK(fips_env.code() == "unsupported_endpoint");
    CHECK(fips_env.err().message.find("AWS_USE_FIPS_ENDPOINT") != std::string::npos);

    const auto dual = load(env_with({}, "", "[default]\nuse_dualstack_endpoint = true\n"));
    const auto dual_profile = check_endpoint_settings(env_with({}, "", ""), dual);
    REQUIRE_FALSE(dual_profile.ok());
    CHECK(dual_profile.code() == "unsupported_endpoint");
    CHECK(dual_profile.err().message.find("use_dualstack_endpoint") != std::string::npos);
    // The variable overrides the profile, as in botocore.
    CHECK(check_endpoint_settings(env_with({{"AWS_USE_DUALSTACK_ENDPOINT", "false"}}, "", ""), dual).ok());
}
