// Unit tests of the load harness's pure parts: bulk tokens are distinct and pass stsauth's own
// validation, token families never overlap, and the load client refuses unusable options before
// sending anything.

#include "client.hpp"
#include "tokens.hpp"

#include "token/token.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>

using namespace stsauth;
using namespace std::chrono_literals;

namespace {

load::token_batch_spec spec_at(std::chrono::system_clock::time_point now) {
    load::token_batch_spec spec;
    spec.count = 250;
    spec.first_key = 10;
    spec.keys = 20;
    spec.window = 60s;
    spec.cluster_id = "stsauth-load";
    spec.now = now;
    return spec;
}

const auto t0 = std::chrono::sys_days{std::chrono::year{2025} / 3 / 14} + 12h;

}  // namespace

TEST_CASE("bulk tokens are distinct, valid for stsauth and signed within the window") {
    auto tokens = load::make_tokens(spec_at(t0));
    REQUIRE(tokens);
    REQUIRE(tokens->size() == 250);
    CHECK(std::set<std::string>(tokens->begin(), tokens->end()).size() == 250);

    const token::validation_config cfg;
    std::set<std::string> keys;
    for (const auto& t : *tokens) {
        auto v = token::validate(t, cfg, t0 + 1s);
        REQUIRE(v);
        CHECK(v->host == "sts.us-west-2.amazonaws.com");
        CHECK(v->signed_at <= t0);
        CHECK(v->signed_at >= t0 - 60s);
        keys.insert(v->access_key_id);
    }
    CHECK(keys.size() == 20);
    CHECK(keys.count(load::access_key_id(10)) == 1);
    CHECK(keys.count(load::access_key_id(29)) == 1);
    CHECK(keys.count(load::access_key_id(30)) == 0);
}

TEST_CASE("tokens of disjoint key ranges never coincide, even signed in the same second") {
    auto a = load::make_tokens(spec_at(t0));
    auto spec = spec_at(t0);
    spec.first_key = 30;
    auto b = load::make_tokens(spec);
    REQUIRE(a);
    REQUIRE(b);
    std::set<std::string> all(a->begin(), a->end());
    all.insert(b->begin(), b->end());
    CHECK(all.size() == 500);
}

TEST_CASE("the same key and second give the same token: the generator is deterministic") {
    auto a = load::make_tokens(spec_at(t0));
    auto b = load::make_tokens(spec_at(t0 + 500ms));
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a == *b);
}

TEST_CASE("asking for more tokens than keys x seconds is refused") {
    auto spec = spec_at(t0);
    spec.count = 20 * 61 + 1;
    auto r = load::make_tokens(spec);
    REQUIRE_FALSE(r);
    CHECK(r.code() == "too_many_tokens");
    spec.count = 20 * 61;
    CHECK(load::make_tokens(spec));
    spec.keys = 0;
    auto none = load::make_tokens(spec);
    REQUIRE_FALSE(none);
    CHECK(none.code() == "no_keys");
}

TEST_CASE("make_token's refusals come through") {
    auto spec = spec_at(t0);
    spec.cluster_id = "";
    auto r = load::make_tokens(spec);
    REQUIRE_FALSE(r);
    CHECK(r.code() == "bad_cluster_id");
}

TEST_CASE("the fake STS credentials name every key with its caller") {
    const auto yaml = load::fake_sts_config({"123456789012", "Load"}, 3);
    CHECK(yaml.find("accessKeyId: AKIALOAD000000000002") != std::string::npos);
    CHECK(yaml.find("accessKeyId: AKIALOAD000000000003") == std::string::npos);
    CHECK(yaml.find("arn: arn:aws:sts::123456789012:assumed-role/Load/load-1\n") != std::string::npos);
    CHECK(yaml.find("account: \"123456789012\"") != std::string::npos);
}

TEST_CASE("a TokenReview body is the apiserver's v1 request") {
    CHECK(load::token_review_body("k8s-aws-v1.abc") ==
          R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},)"
          R"("spec":{"token":"k8s-aws-v1.abc"},"status":{"user":{}}})");
}

TEST_CASE("the load client refuses unusable options before connecting") {
    load::run_options o;
    o.port = 1;
    o.ca_file = STSAUTH_TEST_DATA_DIR "/load/does-not-exist.pem";
    o.tokens = {"k8s-aws-v1.x"};

    SECTION("a target that is not loopback") {
        o.address = "192.0.2.1";
        auto r = load::run_load(o);
        REQUIRE_FALSE(r);
        CHECK(r.code() == "not_loopback");
    }
    SECTION("a host name instead of an IP literal") {
        o.address = "localhost";
        auto r = load::run_load(o);
        REQUIRE_FALSE(r);
        CHECK(r.code() == "not_loopback");
    }
    SECTION("no CA") {
        o.ca_file.clear();
        auto r = load::run_load(o);
        REQUIRE_FALSE(r);
        CHECK(r.code() == "no_ca");
    }
    SECTION("an unreadable CA") {
        auto r = load::run_load(o);
        REQUIRE_FALSE(r);
        CHECK(r.code() == "bad_ca");
    }
    SECTION("no tokens for reviews") {
        o.tokens.clear();
        auto r = load::run_load(o);
        REQUIRE_FALSE(r);
        CHECK(r.code() == "no_tokens");
    }
    SECTION("a token that holds no presigned URL, for the STS kind") {
        o.kind = load::request_kind::sts;
        for (const char* bad : {"not-a-token", "k8s-aws-v1.!!!", "k8s-aws-v1.aHR0cDovL3gv" /* http://x/ */}) {
            o.tokens = {bad};
            auto r = load::run_load(o);
            REQUIRE_FALSE(r);
            CHECK(r.code() == "bad_token");
        }
    }
    SECTION("rate mode without a rate") {
        o.mode = load::run_mode::rate;
        auto r = load::run_load(o);
        REQUIRE_FALSE(r);
        CHECK(r.code() == "no_rate");
    }
    SECTION("no connection") {
        o.connections = 0;
        auto r = load::run_load(o);
        REQUIRE_FALSE(r);
        CHECK(r.code() == "no_connections");
    }
}

TEST_CASE("the load client fails, without sending, when its connections cannot be opened") {
    load::run_options o;
    o.port = 1;  // nothing listens on tcpmux
    o.ca_file = STSAUTH_TEST_DATA_DIR "/load/trust.pem";
    o.kind = load::request_kind::get;
    o.path = "/healthz";
    o.connections = 3;
    o.connect_timeout = 2s;
    auto r = load::run_load(o);
    REQUIRE_FALSE(r);
    CHECK(r.code() == "open_failed");
}

TEST_CASE("report percentiles are nearest-rank over the sorted samples") {
    load::run_report r;
    for (std::uint32_t i = 1; i <= 1000; ++i) r.latencies_us.push_back(i * 1000);
    CHECK(r.percentile_ms(50) == Approx(500));
    CHECK(r.percentile_ms(99) == Approx(990));
    CHECK(r.percentile_ms(99.9) == Approx(999));
    CHECK(r.percentile_ms(100) == Approx(1000));
    CHECK(load::run_report{}.percentile_ms(99) == 0);

    r.completed = 1000;
    r.elapsed_s = 2;
    r.statuses[200] = 990;
    r.statuses[503] = 10;
    r.errors["timeout"] = 3;
    r.denied_reasons["sts_rejected"] = 10;
    const auto text = load::format_report(r);
    CHECK(text.find("rps=500.0\n") != std::string::npos);
    CHECK(text.find("status_2xx=990\n") != std::string::npos);
    CHECK(text.find("non_2xx=10\n") != std::string::npos);
    CHECK(text.find("errors=3\nerr_timeout=3\n") != std::string::npos);
    CHECK(text.find("denied_sts_rejected=10\n") != std::string::npos);
    CHECK(text.find("p99_ms=990.000\n") != std::string::npos);
    CHECK(text.find("lag_p99_ms=0.000\n") != std::string::npos);  // no samples
}

TEST_CASE("the report splits latency into the client's send lag and the service time") {
    load::run_report r;
    for (std::uint32_t i = 1; i <= 100; ++i) {
        r.send_lag_us.push_back(i * 10);    // 0.01 .. 1 ms
        r.service_us.push_back(i * 1000);   // 1 .. 100 ms
    }
    r.max_queued = 7;
    CHECK(load::run_report::percentile_ms(r.service_us, 99) == Approx(99));
    const auto text = load::format_report(r);
    CHECK(text.find("lag_p50_ms=0.500\nlag_p99_ms=0.990\nlag_p999_ms=1.000\n") != std::string::npos);
    CHECK(text.find("svc_p50_ms=50.000\nsvc_p99_ms=99.000\nsvc_p999_ms=100.000\n") != std::string::npos);
    CHECK(text.find("max_queued=7\n") != std::string::npos);
}
