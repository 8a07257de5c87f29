// Fault settings (flags and POST /_faults), statistics and the credentials file.

#include "fake_config.hpp"
#include "faults.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace stsauth;
using namespace stsauth::fakests;
using namespace std::chrono_literals;

TEST_CASE("POST /_faults bodies update only the keys given", "[faults]") {
    fault_settings f;
    REQUIRE(apply_faults_json(f, R"({"latency_ms":250,"throttle_rate":0.5,"xml":true})").ok());
    CHECK(f.latency == 250ms);
    CHECK(f.throttle_rate == 0.5);
    CHECK(f.xml);
    REQUIRE(apply_faults_json(f, R"({"error_rate":1,"redirect":"https://x.invalid/","oversize_body":true})").ok());
    CHECK(f.latency == 250ms);
    CHECK(f.error_rate == 1.0);
    CHECK(f.redirect == "https://x.invalid/");
    CHECK(f.oversize_bytes == default_oversize_bytes);
    REQUIRE(apply_faults_json(f, R"({"oversize_body":100000,"slow_body_ms":40,"reset_rate":0.25})").ok());
    CHECK(f.oversize_bytes == 100000);
    CHECK(f.slow_body == 40ms);
    CHECK(f.reset_rate == 0.25);
    REQUIRE(apply_faults_json(f, R"({"clear":true,"xml":true})").ok());
    CHECK(f.latency == 0ms);
    CHECK(f.error_rate == 0);
    CHECK(f.redirect.empty());
    CHECK(f.xml);

    const auto doc = nlohmann::json::parse(faults_json(f));
    CHECK(doc["xml"] == true);
    CHECK(doc["latency_ms"] == 0);
}

TEST_CASE("body and body_status replace successful answers, invalid values are refused", "[faults]") {
    fault_settings f;
    REQUIRE(apply_faults_json(f, R"({"body":"{not json","body_status":200})").ok());
    CHECK(f.body == "{not json");
    CHECK(f.body_status == 200);
    REQUIRE(apply_faults_json(f, R"({"body_status":302})").ok());
    CHECK(f.body == "{not json");
    CHECK(f.body_status == 302);
    CHECK_FALSE(apply_faults_json(f, R"({"body_status":99})").ok());
    CHECK_FALSE(apply_faults_json(f, R"({"body_status":600})").ok());
    CHECK_FALSE(apply_faults_json(f, R"({"body_status":"200"})").ok());
    CHECK_FALSE(apply_faults_json(f, R"({"body":42})").ok());
    CHECK(f.body_status == 302);
    const auto doc = nlohmann::json::parse(faults_json(f));
    CHECK(doc["body"] == "{not json");
    CHECK(doc["body_status"] == 302);
    REQUIRE(apply_faults_json(f, R"({"clear":true})").ok());
    CHECK(f.body.empty());
    CHECK(f.body_status == 200);
}

TEST_CASE("invalid fault bodies are refused whole", "[faults]") {
    fault_settings f;
    f.latency = 5ms;
    for (const auto* body : {R"({"throttle_rate":1.5})", R"({"error_rate":-0.1})", R"({"latency_ms":"10"})",
                             R"({"latency_ms":-1})", R"({"nope":1})", R"({"xml":1})", R"({"redirect":false})",
                             R"({"oversize_body":-5})", R"({"clear":"yes"})", R"({"latency_ms":10,"reset_rate":2})"}) {
        INFO(body);
        const auto st = apply_faults_json(f, body);
        REQUIRE_FALSE(st.ok());
        CHECK(st.code() == "bad_fault");
        CHECK(f.latency == 5ms);
    }
    CHECK(apply_faults_json(f, "[1]").code() == "bad_json");
    CHECK(apply_faults_json(f, "{").code() == "bad_json");
}

TEST_CASE("fault draws: rates 0 and 1 are certain, in order reset, throttle, error, redirect", "[faults]") {
    std::mt19937_64 rng(42);
    fault_settings f;
    CHECK(pick_fault(f, rng) == injected_fault::none);
    f.redirect = "https://x.invalid/";
    CHECK(pick_fault(f, rng) == injected_fault::redirect);
    f.error_rate = 1;
    CHECK(pick_fault(f, rng) == injected_fault::error);
    f.throttle_rate = 1;
    CHECK(pick_fault(f, rng) == injected_fault::throttle);
    f.reset_rate = 1;
    CHECK(pick_fault(f, rng) == injected_fault::reset);

    fault_settings half;
    half.throttle_rate = 0.5;
    int throttled = 0;
    for (int i = 0; i < 2000; ++i) throttled += pick_fault(half, rng) == injected_fault::throttle;
    CHECK(throttled > 800);
    CHECK(throttled < 1200);
}

TEST_CASE("validate() bounds rates and durations", "[faults]") {
    fault_settings f;
    CHECK(validate(f).ok());
    f.throttle_rate = 1.01;
    CHECK(validate(f).code() == "bad_fault");
    f = {};
    f.latency = std::chrono::minutes(11);
    CHECK(validate(f).code() == "bad_fault");
}

TEST_CASE("request statistics", "[faults]") {
    request_stats s;
    s.record("GetCallerIdentity", "success");
    s.record("GetCallerIdentity", "SignatureDoesNotMatch");
    s.record("", "reset");
    CHECK(s.total() == 3);
    auto doc = nlohmann::json::parse(s.json());
    CHECK(doc["total"] == 3);
    CHECK(doc["by_action"]["GetCallerIdentity"] == 2);
    CHECK(doc["by_action"]["unknown"] == 1);
    CHECK(doc["by_outcome"]["SignatureDoesNotMatch"] == 1);
    CHECK(doc["by_outcome"]["reset"] == 1);
    s.reset();
    doc = nlohmann::json::parse(s.json());
    CHECK(doc["total"] == 0);
    CHECK(doc["by_action"].empty());
}

TEST_CASE("the interop tests' credentials file parses", "[config]") {
    std::ifstream in(std::filesystem::path(STSAUTH_TEST_DATA_DIR) / "fakests/credentials.yaml");
    std::ostringstream ss;
    ss << in.rdbuf();
    const auto cfg = parse_config(ss.str());
    REQUIRE(cfg.ok());
    REQUIRE(cfg->credentials.size() == 2);
    CHECK(cfg->credentials[0].session_token.empty());
    CHECK_FALSE(cfg->credentials[1].session_token.empty());
    CHECK(cfg->find_credential("AKIDEXAMPLE")->account == "111122223333");
    CHECK(cfg->find_credential("AKIDOTHER") == nullptr);
    CHECK(cfg->find_instance("i-0123456789abcdef0")->private_dns_name == "ip-10-0-0-1.us-west-2.compute.internal");
}

TEST_CASE("invalid credentials files are refused with the entry named", "[config]") {
    const std::string entry = "  - accessKeyId: AKID1\n    secretAccessKey: s\n    arn: arn:aws:iam::1:user/a\n"
                              "    userId: AIDA1\n    account: \"1\"\n";
    REQUIRE(parse_config("credentials:\n" + entry).ok());
    CHECK(parse_config("").ok());
    struct bad_case {
        std::string yaml;
        std::string mentions;
    };
    for (const auto& c : std::vector<bad_case>{
             {"credentials:\n" + entry + entry, "duplicate accessKeyId"},
             {"credentials:\n  - accessKeyId: AKID1\n    arn: a\n    userId: u\n    account: \"1\"\n", "secretAccessKey"},
             {"credentials:\n" + entry + "    extra: 1\n", "unknown key 'extra'"},
             {"credential:\n" + entry, "unknown top-level key"},
             {"credentials: {}\n", "must be a list"},
             {"credentials:\n  - accessKeyId: [a]\n", "must be a string"},
             {"instances:\n  - instanceId: node-1\n    privateDnsName: x\n", "instances[0]"},
             {"instances:\n  - instanceId: i-01234567\n  - instanceId: i-01234567\n", "duplicate instanceId"},
             {"credentials: [\n", "invalid YAML"},
         }) {
        INFO(c.yaml);
        const auto r = parse_config(c.yaml);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_config");
        CHECK_THAT(r.err().message, Catch::Contains(c.mentions));
        CHECK((r.err().message.find("secret") == std::string::npos || c.mentions == "secretAccessKey"));
    }
}

TEST_CASE("find_credential answers through the index, and stays right when the list is edited after", "[config]") {
    std::string yaml = "credentials:\n";
    for (int i = 0; i < 300; ++i) {
        const auto n = std::to_string(i);
        yaml += "  - {accessKeyId: AKID" + n + ", secretAccessKey: s" + n + ", arn: \"arn:aws:iam::111122223333:user/u" +
                n + "\", userId: AIDA" + n + ", account: \"111122223333\"}\n";
    }
    auto cfg = parse_config(yaml);
    REQUIRE(cfg.ok());
    // A power-of-two table at most half full, one slot per key.
    const auto slots = cfg->credential_index.size();
    CHECK(slots >= 600);
    CHECK((slots & (slots - 1)) == 0);
    CHECK(std::count_if(cfg->credential_index.begin(), cfg->credential_index.end(), [](const credential_slot& s) {
              return s.index != credential_slot::empty_slot;
          }) == 300);
    for (int i = 0; i < 300; ++i) {
        const auto* c = cfg->find_credential("AKID" + std::to_string(i));
        REQUIRE(c != nullptr);
        CHECK(c == &cfg->credentials[static_cast<std::size_t>(i)]);
    }
    CHECK(cfg->find_credential("AKID300") == nullptr);
    CHECK(cfg->find_credential("") == nullptr);

    // Every position shifts and a new key appears: the index is stale, answers are not.
    cfg->credentials.erase(cfg->credentials.begin());
    cfg->credentials.push_back(credential_entry{"AKIDNEW", secret<std::string>("s"), {}, "arn:aws:iam::1:user/new",
                                                "AIDANEW", "1"});
    CHECK(cfg->find_credential("AKID0") == nullptr);
    for (int i = 1; i < 300; ++i) CHECK(cfg->find_credential("AKID" + std::to_string(i))->user_id == "AIDA" + std::to_string(i));
    CHECK(cfg->find_credential("AKIDNEW")->user_id == "AIDANEW");

    // A copy answers with its own entries.
    const auto copy = *cfg;
    CHECK(copy.find_credential("AKID7") == &copy.credentials[6]);
}

TEST_CASE("a colliding or stale index slot never names another key's entry", "[config]") {
    auto cfg = parse_config(
        "credentials:\n"
        "  - {accessKeyId: AKIDA, secretAccessKey: sa, arn: \"arn:aws:iam::1:user/a\", userId: AIDAA, account: \"1\"}\n"
        "  - {accessKeyId: AKIDB, secretAccessKey: sb, arn: \"arn:aws:iam::1:user/b\", userId: AIDAB, account: \"1\"}\n"
        "  - {accessKeyId: AKIDC, secretAccessKey: sc, arn: \"arn:aws:iam::1:user/c\", userId: AIDAC, account: \"1\"}\n");
    REQUIRE(cfg.ok());
    REQUIRE(cfg->find_credential("AKIDB") == &cfg->credentials[1]);

    SECTION("every slot carries AKIDA's hash tag and names AKIDB's entry") {
        const auto tag = static_cast<std::uint32_t>(fake_config::key_hash("AKIDA") >> 32U);
        for (auto& slot : cfg->credential_index) slot = credential_slot{tag, 1};
        CHECK(cfg->find_credential("AKIDA") == &cfg->credentials[0]);
        CHECK(cfg->find_credential("AKIDB") == &cfg->credentials[1]);
        CHECK(cfg->find_credential("AKIDC") == &cfg->credentials[2]);
        CHECK(cfg->find_credential("AKIDX") == nullptr);
        CHECK(cfg->find_credential("") == nullptr);
    }
    SECTION("slots naming positions past the end") {
        for (auto& slot : cfg->credential_index)
            if (slot.index != credential_slot::empty_slot) slot.index = 7;
        CHECK(cfg->find_credential("AKIDA") == &cfg->credentials[0]);
        CHECK(cfg->find_credential("AKIDC") == &cfg->credentials[2]);
        CHECK(cfg->find_credential("AKIDX") == nullptr);
    }
    SECTION("entries swapped after indexing") {
        std::swap(cfg->credentials[0], cfg->credentials[2]);
        CHECK(cfg->find_credential("AKIDA")->user_id == "AIDAA");
        CHECK(cfg->find_credential("AKIDC")->user_id == "AIDAC");
        CHECK(cfg->find_credential("AKIDA") == &cfg->credentials[2]);
    }
    SECTION("an id given twice: the first entry wins, as for a scan") {
        cfg->credentials[2].access_key_id = "AKIDA";
        cfg->index_credentials();
        CHECK(cfg->find_credential("AKIDA") == &cfg->credentials[0]);
        CHECK(cfg->find_credential("AKIDC") == nullptr);
    }
    SECTION("no credentials, no table") {
        cfg->credentials.clear();
        cfg->index_credentials();
        CHECK(cfg->credential_index.empty());
        CHECK(cfg->find_credential("AKIDA") == nullptr);
    }
}
