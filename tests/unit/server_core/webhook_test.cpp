// POST /authenticate through server::webhook: the review's log line (A8) field by field, for an
// authenticated review, a cache hit, a scrubbed account and a denial; never the token; the STS
// call's share of the latency when there was one.
#include "webhook.hpp"

#include "fakes/fake_sts_client.hpp"
#include "support/log_capture.hpp"
#include "support/mapping_chain.hpp"
#include "support/token_maker.hpp"

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>

using namespace stsauth;
using stsauth::testing::chain_from;
using stsauth::testing::log_capture;

namespace {

constexpr std::string_view mappings = R"(
server:
  mapRoles:
  - rolearn: arn:aws:iam::111122223333:role/Admin
    username: "admin:{{SessionName}}"
    groups: [system:masters, ops]
  mapAccounts: ["444455556666"]
)";

struct fixture {
    testing::fake_sts_client sts;
    std::shared_ptr<const authn::mapping_chain> chain = chain_from(mappings);
    authn::authenticator auth{config(), sts, [this] { return chain; }, nullptr,
                              [] { return std::chrono::system_clock::now(); }};
    metrics::registry registry;
    metrics::reference_metrics ref{registry};
    metrics::stsauth_metrics own{registry, "test"};
    server::webhook_options options = make_options();
    server::webhook hook{auth, registry, ref, own, options, [] { return true; }};

    static authn::authenticator_config config() {
        authn::authenticator_config c;
        c.cluster_id = "test-cluster";
        return c;
    }
    static server::webhook_options make_options() {
        server::webhook_options o;
        o.scrubbed_accounts = {"444455556666"};
        return o;
    }

    http::response review(const std::string& token) {
        std::optional<http::response> answer;
        start_review(token, answer);
        REQUIRE(answer);
        return std::move(*answer);
    }

    /// Sends the review; `answer` is set when the webhook answers (at once, unless sts.hold).
    void start_review(const std::string& token, std::optional<http::response>& answer) {
        http::request r;
        r.method = "POST";
        r.target = "/authenticate";
        r.body = R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":")" + token + R"("}})";
        r.remote = "127.0.0.1:4242";
        hook.handle(std::move(r), [&answer](http::response a) { answer = std::move(a); });
    }
};

std::string signed_token(const std::string& key_id = "AKIDEXAMPLE") {
    testing::token_spec spec;
    spec.access_key_id = key_id;
    spec.time = std::chrono::system_clock::now() - std::chrono::seconds(10);
    return testing::make_token(spec);
}

// The line up to latency_ms, which varies; then the latency's shape and what follows it.
void check_line(const std::string& log, const std::string& head, const std::string& tail) {
    INFO(log);
    REQUIRE(log.size() > head.size());
    CHECK(log.substr(0, head.size()) == head);
    const std::regex rest(" latency_ms=[0-9]+\\.[0-9]{3}" + tail + "\n");
    CHECK(std::regex_match(log.substr(head.size()), rest));
}

// The sts_ms field after latency_ms, for a review that asked STS (its value varies too).
const std::string sts_ms = " sts_ms=[0-9]+\\.[0-9]{3}";

// The number after `key=` in a log line.
double field_ms(const std::string& line, const std::string& key) {
    const auto at = line.find(" " + key + "=");
    REQUIRE(at != std::string::npos);
    return std::stod(line.substr(at + key.size() + 2));
}

}  // namespace

TEST_CASE("webhook: one log line per review, field by field", "[webhook]") {
    fixture f;
    log_capture log(spdlog::level::info);
    f.sts.next = testing::fake_sts_client::identity("arn:aws:sts::111122223333:assumed-role/Admin/alice", "111122223333",
                                                    "AROAEXAMPLEID:alice");
    const std::string t = signed_token();
    REQUIRE(f.review(t).status == 200);
    check_line(log.take(),
               "info review outcome=authenticated reason=ok arn=arn:aws:sts::111122223333:assumed-role/Admin/alice "
               "username=admin:alice groups=[system:masters,ops] backend=MountedFile sts_region=us-west-2 cache_hit=false",
               sts_ms);

    // The same token again: answered from the cache, the same line but for cache_hit and no STS time.
    REQUIRE(f.review(t).status == 200);
    check_line(log.take(),
               "info review outcome=authenticated reason=ok arn=arn:aws:sts::111122223333:assumed-role/Admin/alice "
               "username=admin:alice groups=[system:masters,ops] backend=MountedFile sts_region=us-west-2 cache_hit=true",
               "");
    CHECK(f.sts.calls() == 1);
}

TEST_CASE("webhook: a scrubbed account's line has neither ARN nor username", "[webhook]") {
    fixture f;
    log_capture log(spdlog::level::info);
    f.sts.next = testing::fake_sts_client::identity("arn:aws:iam::444455556666:user/bob", "444455556666", "AIDAEXAMPLE");
    REQUIRE(f.review(signed_token()).status == 200);
    check_line(log.take(),
               "info review outcome=authenticated reason=ok arn= username= groups=[] backend=MountedFile "
               "sts_region=us-west-2 cache_hit=false",
               sts_ms);
}

TEST_CASE("webhook: a denial is a warning with its reason and detail, never the token", "[webhook]") {
    fixture f;
    log_capture log(spdlog::level::info);
    const std::string t = "k8s-aws-v1.bm90LWEtdXJs";
    REQUIRE(f.review(t).status == 200);
    const std::string line = log.take();
    check_line(line,
               "warning review outcome=denied reason=bad_scheme arn= username= groups=[] backend= sts_region= "
               "cache_hit=false",
               " detail=missing protocol scheme in pre-signed URL");
    CHECK(line.find("bm90LWEtdXJs") == std::string::npos);
    CHECK(f.sts.calls() == 0);

    // Not mapped: STS answered, the ARN is logged, the reason says why.
    f.sts.next = testing::fake_sts_client::identity("arn:aws:iam::111122223333:user/mallory", "111122223333", "AIDAMALLORY");
    REQUIRE(f.review(signed_token("AKIDOTHER")).status == 200);
    check_line(log.take(),
               "warning review outcome=denied reason=not_mapped arn=arn:aws:iam::111122223333:user/mallory username= "
               "groups=[] backend= sts_region=us-west-2 cache_hit=false",
               sts_ms + " detail=identity is not mapped");
}

TEST_CASE("webhook: sts_ms is the time STS took to answer, within latency_ms", "[webhook]") {
    fixture f;
    log_capture log(spdlog::level::info);
    f.sts.next = testing::fake_sts_client::identity("arn:aws:sts::111122223333:assumed-role/Admin/alice", "111122223333",
                                                    "AROAEXAMPLEID:alice");
    f.sts.hold = true;
    std::optional<http::response> answer;
    f.start_review(signed_token(), answer);
    REQUIRE_FALSE(answer);  // waiting for STS
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    f.sts.release();
    REQUIRE(answer);
    CHECK(answer->status == 200);
    const std::string line = log.take();
    INFO(line);
    const double sts = field_ms(line, "sts_ms");
    const double latency = field_ms(line, "latency_ms");
    CHECK(sts >= 30.0);
    CHECK(sts <= latency);
    CHECK(latency < sts + 1000.0);  // the rest is the review's own work, not another wait
}
