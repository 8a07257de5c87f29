#include "aws/credentials.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace stsauth;
using namespace stsauth::aws;

namespace {

constexpr const char* creds_path = "/home/u/.aws/credentials";
constexpr const char* config_path = "/home/u/.aws/config";

using vars_t = std::map<std::string, std::string, std::less<>>;

struct setup {
    environment env;
    profile prof;
};

setup make(vars_t vars, std::string credentials = {}, std::string config = {},
           std::optional<std::string> profile_flag = {}) {
    vars.emplace("HOME", "/home/u");
    std::map<std::string, std::string, std::less<>> files;
    if (!credentials.empty()) files.emplace(creds_path, std::move(credentials));
    if (!config.empty()) files.emplace(config_path, std::move(config));
    auto env = fake_environment(std::move(vars), std::move(files));
    auto p = load_profile(env, select_profile(env, profile_flag));
    if (!p) FAIL(p.err().message);
    return {env, std::move(*p)};
}

result<sigv4::credentials> resolve(const setup& s) { return default_credential_chain(s.env, s.prof).resolve(); }

sigv4::credentials resolve_ok(const setup& s) {
    auto r = resolve(s);
    if (!r) FAIL(r.code() + ": " + r.err().message);
    return std::move(*r);
}

const vars_t env_keys{{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "env-secret"}};
const std::string creds_default = "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n";

}  // namespace

TEST_CASE("credentials: environment variables, with and without a session token", "[aws][credentials]") {
    const auto c = resolve_ok(make(env_keys));
    CHECK(c.access_key_id == "AKIDENV");
    CHECK(c.secret_access_key.reveal() == "env-secret");
    CHECK(c.session_token.empty());

    auto with_token = env_keys;
    with_token.emplace("AWS_SESSION_TOKEN", "env-token");
    CHECK(resolve_ok(make(with_token)).session_token.reveal() == "env-token");

    // botocore reads the legacy AWS_SECURITY_TOKEN first.
    auto both = with_token;
    both.emplace("AWS_SECURITY_TOKEN", "legacy-token");
    CHECK(resolve_ok(make(both)).session_token.reveal() == "legacy-token");
    auto empty_legacy = with_token;
    empty_legacy.emplace("AWS_SECURITY_TOKEN", "");
    CHECK(resolve_ok(make(empty_legacy)).session_token.reveal() == "env-token");
}

TEST_CASE("credentials: legacy AWS_ACCESS_KEY/AWS_SECRET_KEY are not read (as botocore)", "[aws][credentials]") {
    const auto r = resolve(make({{"AWS_ACCESS_KEY", "AKID"}, {"AWS_SECRET_KEY", "s"}}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "no_credentials");
}

TEST_CASE("credentials: partial environment credentials are an error", "[aws][credentials]") {
    for (const vars_t& vars : {vars_t{{"AWS_ACCESS_KEY_ID", "AKID"}},
                               vars_t{{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", ""}}}) {
        const auto r = resolve(make(vars, creds_default));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "partial_credentials");
        CHECK(r.err().message.find("AWS_SECRET_ACCESS_KEY") != std::string::npos);
    }
    // A secret without an access key id: the environment has nothing (botocore), files are used.
    CHECK(resolve_ok(make({{"AWS_SECRET_ACCESS_KEY", "s"}}, creds_default)).access_key_id == "AKIDFILE");
    CHECK(resolve_ok(make({{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", "s"}}, creds_default)).access_key_id ==
          "AKIDFILE");
}

TEST_CASE("credentials: environment beats files, AWS_PROFILE does not disable it, --profile does",
          "[aws][credentials]") {
    const std::string creds = creds_default + "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev-secret\n";
    CHECK(resolve_ok(make(env_keys, creds)).access_key_id == "AKIDENV");

    auto with_profile_env = env_keys;
    with_profile_env.emplace("AWS_PROFILE", "dev");
    CHECK(resolve_ok(make(with_profile_env, creds)).access_key_id == "AKIDENV");

    CHECK(resolve_ok(make(env_keys, creds, {}, std::string("dev"))).access_key_id == "AKIDDEV");
    CHECK(resolve_ok(make({{"AWS_PROFILE", "dev"}}, creds)).access_key_id == "AKIDDEV");
}

TEST_CASE("credentials: credentials file before config file, tokens from either", "[aws][credentials]") {
    const std::string config = "[default]\naws_access_key_id = AKIDCONF\naws_secret_access_key = conf-secret\n"
                               "aws_session_token = conf-token\n"
                               "[profile dev]\naws_access_key_id = AKIDCONFDEV\naws_secret_access_key = s\n"
                               "aws_session_token = conf-dev-token\n";
    const auto c = resolve_ok(make({}, creds_default, config));
    CHECK(c.access_key_id == "AKIDFILE");
    CHECK(c.secret_access_key.reveal() == "file-secret");
    CHECK(c.session_token.empty());  // not borrowed from the config file's section

    const auto from_config = resolve_ok(make({}, {}, config, std::string("dev")));
    CHECK(from_config.access_key_id == "AKIDCONFDEV");
    CHECK(from_config.session_token.reveal() == "conf-dev-token");

    const auto tokens = resolve_ok(make({}, "[default]\naws_access_key_id = A\naws_secret_access_key = s\n"
                                            "aws_session_token = new\naws_security_token = legacy\n"));
    CHECK(tokens.session_token.reveal() == "legacy");
    const auto empty_legacy = resolve_ok(make({}, "[default]\naws_access_key_id = A\naws_secret_access_key = s\n"
                                                  "aws_session_token = new\naws_security_token =\n"));
    CHECK(empty_legacy.session_token.reveal() == "new");
}

TEST_CASE("credentials: the repository's sample files", "[aws][credentials]") {
    const vars_t vars{{"AWS_SHARED_CREDENTIALS_FILE", STSAUTH_TEST_DATA_DIR "/aws/credentials"},
                      {"AWS_CONFIG_FILE", STSAUTH_TEST_DATA_DIR "/aws/config"}};
    const auto files = process_environment().read_file;
    auto with = [&](vars_t extra, std::optional<std::string> flag) {
        extra.insert(vars.begin(), vars.end());
        auto e = fake_environment(extra);
        e.read_file = files;
        auto p = load_profile(e, select_profile(e, flag));
        REQUIRE(p.ok());
        return default_credential_chain(e, *p).resolve();
    };
    const auto dev = with({}, std::string("dev"));
    REQUIRE(dev.ok());
    CHECK(dev->access_key_id == "AKIDCREDSDEV");
    CHECK(dev->session_token.reveal() == "creds-dev-token");
    const auto literal = with({}, std::string("profile dev"));
    REQUIRE(literal.ok());
    CHECK(literal->access_key_id == "AKIDLITERAL");
    const auto def = with({}, std::nullopt);
    REQUIRE(def.ok());
    CHECK(def->access_key_id == "AKIDDEFAULT");
    CHECK(with({}, std::string("assume")).code() == "unsupported_credential_source");
    CHECK(with({}, std::string("sso")).code() == "unsupported_credential_source");
    CHECK(with({}, std::string("quoted name")).code() == "no_credentials");
}

TEST_CASE("credentials: partial profile keys are an error", "[aws][credentials]") {
    for (const char* creds : {"[default]\naws_access_key_id = A\n", "[default]\naws_access_key_id = A\naws_secret_access_key =\n",
                              "[default]\naws_access_key_id =\naws_secret_access_key = s\n"}) {
        INFO(creds);
        const auto r = resolve(make({}, creds));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "partial_credentials");
        CHECK(r.err().message.find(creds_path) != std::string::npos);
    }
    const auto r = resolve(make({}, {}, "[default]\naws_access_key_id = A\n"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "partial_credentials");
    CHECK(r.err().message.find(config_path) != std::string::npos);
}

TEST_CASE("credentials: configured but unsupported sources fail instead of falling through", "[aws][credentials]") {
    struct unsupported_case {
        const char* name;
        vars_t vars;
        std::string credentials;
        std::string config;
        const char* mentions;
    };
    const std::string keys = "aws_access_key_id = A\naws_secret_access_key = s\n";
    const unsupported_case cases[] = {
        {"role_arn in config", {}, "[default]\n" + keys, "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = x\n",
         "role_arn"},
        {"role_arn in credentials", {}, "[default]\n" + keys + "role_arn = arn:aws:iam::1:role/r\n", {}, "role_arn"},
        {"web identity env", {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"}, {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"}},
         "[default]\n" + keys, {}, "AWS_WEB_IDENTITY_TOKEN_FILE"},
        {"web identity profile", {}, {}, "[default]\nrole_arn = arn:aws:iam::1:role/r\nweb_identity_token_file = /t\n" + keys,
         "web_identity_token_file"},
        {"sso", {}, {}, "[default]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n" + keys, "sso_session"},
        {"legacy sso", {}, {}, "[default]\nsso_start_url = https://x\n", "sso_start_url"},
        {"credential_process", {}, {}, "[default]\ncredential_process = /bin/creds\n" + keys, "credential_process"},
        {"container", {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials"}}, {}, {},
         "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"},
        {"pod identity", {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"}}, {}, {},
         "AWS_CONTAINER_CREDENTIALS_FULL_URI"},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        const auto r = resolve(make(c.vars, c.credentials, c.config));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "unsupported_credential_source");
        CHECK(r.err().message.find(c.mentions) != std::string::npos);
        CHECK(r.err().message.find("not supported yet") != std::string::npos);
    }
}

TEST_CASE("credentials: sources after the one that answers are not consulted", "[aws][credentials]") {
    // Keys in the credentials file come before credential_process (botocore's order)...
    const auto before = resolve_ok(make({}, creds_default, "[default]\ncredential_process = /bin/creds\n"));
    CHECK(before.access_key_id == "AKIDFILE");
    // ...environment keys come before everything, including a profile's role_arn.
    CHECK(resolve_ok(make(env_keys, {}, "[default]\nrole_arn = arn:aws:iam::1:role/r\n")).access_key_id == "AKIDENV");
    // Web identity needs both variables, as botocore.
    CHECK(resolve_ok(make({{"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"}}, creds_default)).access_key_id == "AKIDFILE");
    // Container variables only matter when nothing before them answered.
    CHECK(resolve_ok(make({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/x"}}, creds_default)).access_key_id ==
          "AKIDFILE");
}

TEST_CASE("credentials: nothing found names every place looked at", "[aws][credentials]") {
    const auto r = resolve(make({}, "[other]\n", {}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "no_credentials");
    const auto& m = r.err().message;
    CHECK(m.find("AWS_ACCESS_KEY_ID") != std::string::npos);
    CHECK(m.find(std::string(creds_path) + " (no profile \"default\")") != std::string::npos);
    CHECK(m.find(std::string(config_path) + " (file not found)") != std::string::npos);
    CHECK(m.find("instance metadata") != std::string::npos);
    CHECK(m.find("container") != std::string::npos);

    // With --profile the environment is not consulted, so not listed.
    const auto flagged = resolve(make(env_keys, "[dev]\nregion = x\n", {}, std::string("dev")));
    REQUIRE_FALSE(flagged.ok());
    CHECK(flagged.code() == "no_credentials");
    CHECK(flagged.err().message.find("AWS_ACCESS_KEY_ID/") == std::string::npos);
    CHECK(flagged.err().message.find("profile \"dev\" has no aws_access_key_id") != std::string::npos);
}

TEST_CASE("credentials: no error message or description carries a secret", "[aws][credentials]") {
    const vars_t vars{{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "SECRETENV"},
                      {"AWS_SESSION_TOKEN", "TOKENENV"}};
    const std::string creds = "[default]\naws_access_key_id = AKIDF\naws_secret_access_key = SECRETFILE\n"
                              "aws_session_token = TOKENFILE\nrole_arn = arn:aws:iam::1:role/r\n";
    const auto s = make({}, creds);
    const auto chain = default_credential_chain(s.env, s.prof);
    const auto r = chain.resolve();
    REQUIRE_FALSE(r.ok());
    const auto s2 = make(vars, creds);
    for (const std::string& text : {r.err().message, chain.where(), default_credential_chain(s2.env, s2.prof).where()}) {
        INFO(text);
        for (const char* secret_value : {"SECRETENV", "TOKENENV", "SECRETFILE", "TOKENFILE"})
            CHECK(text.find(secret_value) == std::string::npos);
    }
}

TEST_CASE("credentials: the chain is open for new providers", "[aws][credentials]") {
    struct fake_provider final : credential_provider {
        std::string where() const override { return "fake"; }
        result<std::optional<sigv4::credentials>> retrieve() const override {
            return std::optional<sigv4::credentials>{sigv4::credentials{"AKIDFAKE", secret<std::string>("s"), {}}};
        }
    };
    credential_chain chain;
    chain.add(std::make_unique<unsupported_provider>("nothing", "x", nullptr));
    chain.add(std::make_unique<fake_provider>());
    CHECK(chain.size() == 2);
    CHECK(chain.where() == "nothing; fake");
    const auto r = chain.resolve();
    REQUIRE(r.ok());
    CHECK(r->access_key_id == "AKIDFAKE");
    const auto empty = credential_chain{}.resolve();
    CHECK(empty.code() == "no_credentials");
}
