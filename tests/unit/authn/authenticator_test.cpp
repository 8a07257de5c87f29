#include "authn/authenticator.hpp"
#include "authn/identity.hpp"
#include "fakes/fake_sts_client.hpp"
#include "mapping/sources.hpp"
#include "support/mapping_chain.hpp"
#include "support/token_maker.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace stsauth;
using namespace std::chrono;
using stsauth::testing::chain_from;
using stsauth::testing::fake_sts_client;

namespace {

const auto t0 = system_clock::time_point{} + hours(24 * 365 * 50);  // 2019-12-...

constexpr std::string_view mappings = R"(
server:
  mapRoles:
  - rolearn: arn:aws:iam::111122223333:role/Admin
    username: "admin:{{SessionName}}"
    groups: [system:masters]
  - rolearn: arn:aws:iam::111122223333:role/Node
    username: "system:node:{{EC2PrivateDNSName}}"
    groups: [system:nodes, system:bootstrappers]
  mapUsers:
  - userarn: arn:aws:iam::111122223333:user/alice
    username: alice
    groups: [devs]
  mapAccounts: ["444455556666"]
)";

class fake_ec2 final : public authn::ec2_resolver {
public:
    std::map<std::string, std::string> names;
    std::vector<std::string> asked;
    void private_dns_name(std::string id, callback cb) override {
        asked.push_back(id);
        if (auto it = names.find(id); it != names.end()) cb(it->second);
        else cb(make_error("instance_not_found", "EC2 does not know the instance"));
    }
};

struct harness {
    fake_sts_client sts;
    fake_ec2 ec2;
    std::shared_ptr<const authn::mapping_chain> chain = chain_from(mappings);
    system_clock::time_point now = t0;
    authn::authenticator auth;

    explicit harness(milliseconds cache_ttl = milliseconds(60'000), bool with_ec2 = true)
        : auth(make_config(cache_ttl), sts, [this] { return chain; }, with_ec2 ? &ec2 : nullptr,
               [this] { return now; }) {}

    static authn::authenticator_config make_config(milliseconds ttl) {
        authn::authenticator_config c;
        c.cluster_id = "test-cluster";
        c.cache_ttl = ttl;
        return c;
    }

    authn::decision review(const std::string& token) {
        std::optional<authn::decision> out;
        auth.authenticate(token, [&](authn::decision d) { out = std::move(d); });
        REQUIRE(out.has_value());
        return std::move(*out);
    }

    std::string token(system_clock::time_point signed_at) {
        stsauth::testing::token_spec spec;
        spec.time = signed_at;
        return stsauth::testing::make_token(spec);
    }
};

}  // namespace

TEST_CASE("a locally invalid token is denied without any STS call", "[authn]") {
    harness h;
    const auto d = h.review("k8s-aws-v2.abc");
    CHECK(d.kind == authn::verdict::denied);
    CHECK(d.reason == "bad_prefix");
    CHECK(d.metric_result == "invalid_token");
    CHECK(h.sts.calls() == 0);

    const auto expired = h.review(h.token(t0 - minutes(16)));
    CHECK(expired.reason == "expired");
    CHECK(h.sts.calls() == 0);
}

TEST_CASE("mapped role: STS request carries the rebuilt target and the cluster id", "[authn]") {
    harness h;
    h.sts.next = fake_sts_client::identity("arn:aws:sts::111122223333:assumed-role/Admin/alice", "111122223333",
                                           "AROAEXAMPLEID:alice");
    const auto d = h.review(h.token(t0 - minutes(1)));
    REQUIRE(d.kind == authn::verdict::authenticated);
    CHECK(d.username == "admin:alice");
    CHECK(d.groups == std::vector<std::string>{"system:masters"});
    CHECK(d.metric_result == "success");
    CHECK(d.backend == "MountedFile");
    CHECK(d.sts_region == "us-west-2");
    REQUIRE(d.identity);
    CHECK(d.identity->canonical_arn == "arn:aws:iam::111122223333:role/Admin");
    CHECK(d.identity->user_id == "AROAEXAMPLEID");
    CHECK(d.identity->session_name == "alice");
    CHECK(d.identity->access_key_id == "AKIDEXAMPLE");
    CHECK(d.identity->sts_endpoint == "sts.us-west-2.amazonaws.com");
    const auto reqs = h.sts.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].host == "sts.us-west-2.amazonaws.com");
    CHECK(reqs[0].cluster_id == "test-cluster");
    CHECK(reqs[0].target.rfind("/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=", 0) == 0);
    CHECK(reqs[0].dedupe_key.size() == 64);
}

TEST_CASE("the verified identity is cached, mapping is re-evaluated on every review", "[authn]") {
    harness h;
    h.sts.next = fake_sts_client::identity("arn:aws:iam::111122223333:user/alice", "111122223333", "AIDAEXAMPLE");
    const auto token = h.token(t0 - minutes(1));
    CHECK(h.review(token).username == "alice");
    const auto again = h.review(token);
    CHECK(again.username == "alice");
    CHECK(again.cache_hit);
    CHECK(h.sts.calls() == 1);

    // A mapping change applies at once, even to a cached identity.
    h.chain = chain_from("server: {}\n");
    const auto unmapped = h.review(token);
    CHECK(unmapped.cache_hit);
    CHECK(unmapped.kind == authn::verdict::denied);
    CHECK(unmapped.metric_result == "uknown_user");
    CHECK(h.sts.calls() == 1);

    // The entry dies with the cache TTL.
    h.now += seconds(61);
    h.review(token);
    CHECK(h.sts.calls() == 2);
}

TEST_CASE("a cached identity's mapping is kept per mapping chain and redone for a new one", "[authn]") {
    harness h;
    // A chain whose mapping counts its calls (as the access-entries chain maps through chain->map).
    auto counting_chain = [](std::shared_ptr<int> calls, std::string username) {
        auto c = std::make_shared<authn::mapping_chain>(*chain_from(mappings));
        c->map = [calls, username](const mapping::identity& id) -> mapping::mapping_outcome {
            ++*calls;
            mapping::matched m;
            m.backend = "AccessEntries";
            m.username_template = username + ":{{SessionName}}";
            m.group_templates = {"g1", "g2"};
            (void)id;
            return m;
        };
        return std::shared_ptr<const authn::mapping_chain>(std::move(c));
    };
    auto calls = std::make_shared<int>(0);
    h.chain = counting_chain(calls, "first");
    h.sts.next = fake_sts_client::identity("arn:aws:sts::111122223333:assumed-role/Admin/alice", "111122223333",
                                           "AROAEXAMPLEID:alice");
    const auto token = h.token(t0 - minutes(1));
    const auto miss = h.review(token);
    REQUIRE(miss.kind == authn::verdict::authenticated);
    CHECK(miss.username == "first:alice");
    CHECK(*calls == 1);

    // The first hit maps and keeps the answer; later hits under the same chain reuse it.
    for (int i = 0; i < 3; ++i) {
        const auto hit = h.review(token);
        CHECK(hit.cache_hit);
        CHECK(hit.kind == authn::verdict::authenticated);
        CHECK(hit.username == "first:alice");
        CHECK(hit.groups == std::vector<std::string>{"g1", "g2"});
        CHECK(hit.backend == "AccessEntries");
        CHECK(hit.reason == "ok");
        CHECK(hit.sts_region == miss.sts_region);
        CHECK_FALSE(hit.sts.has_value());
        REQUIRE(hit.identity);
        CHECK(hit.identity->arn == "arn:aws:sts::111122223333:assumed-role/Admin/alice");
        CHECK(hit.identity->canonical_arn == "arn:aws:iam::111122223333:role/Admin");
    }
    CHECK(*calls == 2);
    CHECK(h.sts.calls() == 1);

    // A new chain (a reload) applies at once, and the old one is not kept alive by the memo.
    std::weak_ptr<const authn::mapping_chain> old = h.chain;
    auto calls2 = std::make_shared<int>(0);
    h.chain = counting_chain(calls2, "second");
    CHECK(old.expired());
    CHECK(h.review(token).username == "second:alice");
    CHECK(h.review(token).username == "second:alice");
    CHECK(*calls2 == 1);

    // A denial under a chain is kept as well, and undone by the next chain.
    h.chain = chain_from("server: {}\n");
    CHECK(h.review(token).reason == "not_mapped");
    CHECK(h.review(token).reason == "not_mapped");
    h.chain = chain_from(mappings);
    CHECK(h.review(token).username == "admin:alice");
    CHECK(h.sts.calls() == 1);
}

TEST_CASE("a cached node identity asks EC2 on every review (its name is not kept)", "[authn]") {
    harness h;
    h.ec2.names["i-0c6f21bf1f24f9708"] = "ip-172-31-27-14.us-west-2.compute.internal";
    h.sts.next = fake_sts_client::identity("arn:aws:sts::111122223333:assumed-role/Node/i-0c6f21bf1f24f9708",
                                           "111122223333", "AROANODE:i-0c6f21bf1f24f9708");
    const auto token = h.token(t0 - minutes(1));
    for (int i = 0; i < 3; ++i) {
        const auto d = h.review(token);
        REQUIRE(d.kind == authn::verdict::authenticated);
        CHECK(d.username == "system:node:ip-172-31-27-14.us-west-2.compute.internal");
    }
    CHECK(h.ec2.asked.size() == 3);
    CHECK(h.sts.calls() == 1);
    // EC2 forgets the instance: the next review is denied, not answered from an old name.
    h.ec2.names.clear();
    CHECK(h.review(token).reason == "instance_not_found");
}

TEST_CASE("cache entries never outlive the token's 15-minute validity", "[authn]") {
    harness h(milliseconds(hours(1)));
    h.sts.next = fake_sts_client::identity("arn:aws:iam::111122223333:user/alice", "111122223333", "AIDAEXAMPLE");
    const auto token = h.token(t0 - minutes(14));
    CHECK(h.review(token).kind == authn::verdict::authenticated);
    h.now += seconds(61);  // now 15 min 1 s after signing: locally expired before any cache lookup
    CHECK(h.review(token).reason == "expired");
    CHECK(h.sts.calls() == 1);
}

TEST_CASE("sweep_cache drops expired identities on the authenticator's clock, without a lookup", "[authn]") {
    harness h;
    h.sts.next = fake_sts_client::identity("arn:aws:iam::111122223333:user/alice", "111122223333", "AIDAEXAMPLE");
    h.review(h.token(t0 - minutes(1)));
    h.review(h.token(t0 - minutes(2)));
    REQUIRE(h.auth.cache_statistics().entries == 2);
    h.now += seconds(59);
    CHECK(h.auth.sweep_cache() == 0);
    CHECK(h.auth.cache_statistics().entries == 2);
    h.now += seconds(1);
    CHECK(h.auth.sweep_cache() == 2);
    CHECK(h.auth.cache_statistics().entries == 0);
    CHECK(h.auth.cache_statistics().expired == 2);
    CHECK(h.auth.cache_statistics().evictions == 0);
}

TEST_CASE("cache disabled with a zero TTL", "[authn]") {
    harness h(milliseconds(0));
    h.sts.next = fake_sts_client::identity("arn:aws:iam::111122223333:user/alice", "111122223333", "AIDAEXAMPLE");
    const auto token = h.token(t0 - minutes(1));
    h.review(token);
    h.review(token);
    CHECK(h.sts.calls() == 2);
}

TEST_CASE("STS outcomes map to the four verdicts", "[authn]") {
    harness h;
    const auto token = h.token(t0 - minutes(1));

    h.sts.next = fake_sts_client::failure(sts::outcome_kind::throttled, "sts_throttled", 400);
    auto d = h.review(token);
    CHECK(d.kind == authn::verdict::throttled);
    CHECK(d.metric_result == "sts_throttling");
    REQUIRE(d.sts);
    CHECK(d.sts->http_status == 400);

    h.sts.next = fake_sts_client::failure(sts::outcome_kind::unavailable, "sts_timeout", 0);
    d = h.review(token);
    CHECK(d.kind == authn::verdict::unavailable);
    CHECK(d.reason == "sts_timeout");
    CHECK(d.metric_result == "sts_error");

    h.sts.next = fake_sts_client::failure(sts::outcome_kind::bad_response, "sts_redirect", 302);
    CHECK(h.review(token).kind == authn::verdict::unavailable);
    CHECK(h.sts.calls() == 3);  // failures are not cached

    h.sts.next = fake_sts_client::failure(sts::outcome_kind::rejected, "sts_rejected", 403);
    d = h.review(token);
    CHECK(d.kind == authn::verdict::denied);
    CHECK(d.reason == "sts_rejected");
    CHECK(d.metric_result == "sts_error");
    // A 403 is cached as a negative entry.
    d = h.review(token);
    CHECK(d.kind == authn::verdict::denied);
    CHECK(d.cache_hit);
    CHECK(h.sts.calls() == 4);
}

TEST_CASE("identities STS vouches for but that cannot be parsed are denied as STS errors", "[authn]") {
    harness h;
    const auto token = h.token(t0 - minutes(1));
    h.sts.next = fake_sts_client::identity("arn", "111122223333", "X");
    CHECK(h.review(token).metric_result == "sts_error");
    h.sts.next = fake_sts_client::identity("arn:aws:iam::123456789012:role/Alice", "123456789012", "not:vailid:userid");
    auto d = h.review(h.token(t0 - minutes(2)));
    CHECK(d.reason == "malformed_user_id");
    CHECK(d.kind == authn::verdict::denied);
    h.sts.next = fake_sts_client::identity("arn:aws:iam::123456789012:role/Alice", "123456789012", "AROAZZ");
    CHECK(h.review(h.token(t0 - minutes(3))).reason == "malformed_user_id");
}

TEST_CASE("unmapped principal, mapAccounts and the node template", "[authn]") {
    harness h;
    h.sts.next = fake_sts_client::identity("arn:aws:sts::999999999999:assumed-role/Other/x", "999999999999", "AROAX:x");
    auto d = h.review(h.token(t0 - minutes(1)));
    CHECK(d.kind == authn::verdict::denied);
    CHECK(d.reason == "not_mapped");
    CHECK(d.metric_result == "uknown_user");

    h.sts.next = fake_sts_client::identity("arn:aws:sts::444455556666:assumed-role/Any/x", "444455556666", "AROAY:x");
    d = h.review(h.token(t0 - minutes(2)));
    CHECK(d.kind == authn::verdict::authenticated);
    CHECK(d.username == "arn:aws:iam::444455556666:role/Any");
    CHECK(d.groups.empty());

    h.ec2.names["i-0c6f21bf1f24f9708"] = "ip-172-31-27-14.us-west-2.compute.internal";
    h.sts.next = fake_sts_client::identity("arn:aws:sts::111122223333:assumed-role/Node/i-0c6f21bf1f24f9708",
                                           "111122223333", "AROANODE:i-0c6f21bf1f24f9708");
    d = h.review(h.token(t0 - minutes(3)));
    REQUIRE(d.kind == authn::verdict::authenticated);
    CHECK(d.username == "system:node:ip-172-31-27-14.us-west-2.compute.internal");
    CHECK(d.groups == std::vector<std::string>{"system:nodes", "system:bootstrappers"});
    CHECK(h.ec2.asked == std::vector<std::string>{"i-0c6f21bf1f24f9708"});

    // An instance EC2 doesn't know, and a session that is not an instance id: denied.
    h.sts.next = fake_sts_client::identity("arn:aws:sts::111122223333:assumed-role/Node/i-0000000000000000a",
                                           "111122223333", "AROANODE:i-0000000000000000a");
    CHECK(h.review(h.token(t0 - minutes(4))).reason == "instance_not_found");
    h.sts.next = fake_sts_client::identity("arn:aws:sts::111122223333:assumed-role/Node/alice", "111122223333",
                                           "AROANODE:alice");
    CHECK(h.review(h.token(t0 - minutes(5))).reason == "no_instance_id");
}

TEST_CASE("node template without an EC2 client is denied", "[authn]") {
    harness h(milliseconds(60'000), false);
    h.sts.next = fake_sts_client::identity("arn:aws:sts::111122223333:assumed-role/Node/i-0c6f21bf1f24f9708",
                                           "111122223333", "AROANODE:i-0c6f21bf1f24f9708");
    const auto d = h.review(h.token(t0 - minutes(1)));
    CHECK(d.kind == authn::verdict::denied);
    CHECK(d.reason == "ec2_unavailable");
}

TEST_CASE("make_identity follows the reference's UserId rules", "[authn]") {
    auto root = authn::make_identity({"arn:aws:iam::123456789012:root", "123456789012", "123456789012"}, "AK", "h");
    REQUIRE(root.ok());
    CHECK(root->user_id == "123456789012");
    CHECK(root->session_name.empty());
    auto fed = authn::make_identity(
        {"arn:aws:sts::123456789012:federated-user/Alice", "123456789012", "123456789012:Alice"}, "AK", "h");
    REQUIRE(fed.ok());
    CHECK(fed->user_id == "123456789012:Alice");
    CHECK(fed->canonical_arn == "arn:aws:sts::123456789012:federated-user/Alice");
    auto role = authn::make_identity({"arn:aws:iam::123456789012:role/Alice", "123456789012", "Alice:session-name"}, "AK", "h");
    REQUIRE(role.ok());
    CHECK(role->user_id == "Alice");
    CHECK(role->session_name == "session-name");
    CHECK(authn::make_identity({"arn", "1", "x"}, "AK", "h").code() == "bad_arn");
}

TEST_CASE("make_identity refuses an Account that is not its Arn's account", "[authn]") {
    for (const auto& [arn, account, user_id] :
         {std::tuple{"arn:aws:sts::111122223333:assumed-role/Admin/s", "444455556666", "AROAEXAMPLE:s"},
          std::tuple{"arn:aws:iam::111122223333:user/alice", "444455556666", "AIDAEXAMPLE"},
          std::tuple{"arn:aws:iam::111122223333:root", "", "111122223333"},
          std::tuple{"arn:aws:iam::111122223333:role/Admin", "11112222333", "AROAEXAMPLE:s"},
          std::tuple{"arn:aws:sts::111122223333:federated-user/F", "111122223333 ", "111122223333:F"}}) {
        INFO(arn << " " << account);
        auto id = authn::make_identity({arn, account, user_id}, "AK", "h");
        REQUIRE_FALSE(id.ok());
        CHECK(id.code() == "sts_identity_mismatch");
        CHECK(id.err().message.find('"' + std::string(account) + '"') != std::string::npos);
        CHECK(id.err().message.find("\"111122223333\"") != std::string::npos);
    }
    CHECK(authn::make_identity({"arn:aws:iam::111122223333:user/alice", "111122223333", "AIDAEXAMPLE"}, "AK", "h").ok());
}

TEST_CASE("an STS answer whose Account differs from its Arn's is denied and not cached", "[authn]") {
    harness h;
    // mapUsers maps alice; the uid would have come from the other account.
    h.sts.next = fake_sts_client::identity("arn:aws:iam::111122223333:user/alice", "444455556666", "AIDAEXAMPLE");
    const auto token = h.token(t0 - minutes(1));
    auto d = h.review(token);
    CHECK(d.kind == authn::verdict::denied);
    CHECK(d.reason == "sts_identity_mismatch");
    CHECK(d.metric_result == "sts_error");
    CHECK(d.username.empty());
    CHECK(d.detail.find("444455556666") != std::string::npos);
    CHECK(d.detail.find("111122223333") != std::string::npos);
    CHECK(h.auth.cache_statistics().entries == 0);
    d = h.review(token);  // asked again, not answered from a cache entry
    CHECK_FALSE(d.cache_hit);
    CHECK(d.reason == "sts_identity_mismatch");
    CHECK(h.sts.calls() == 2);

    // The same principal with a consistent answer is authenticated.
    h.sts.next = fake_sts_client::identity("arn:aws:iam::111122223333:user/alice", "111122223333", "AIDAEXAMPLE");
    CHECK(h.review(token).username == "alice");
}

TEST_CASE("identical tokens in flight reach the STS client with the same dedupe key", "[authn]") {
    harness h;
    h.sts.hold = true;
    h.sts.next = fake_sts_client::identity("arn:aws:iam::111122223333:user/alice", "111122223333", "AIDAEXAMPLE");
    const auto token = h.token(t0 - minutes(1));
    int done = 0;
    for (int i = 0; i < 3; ++i) h.auth.authenticate(token, [&](authn::decision d) { done += d.username == "alice"; });
    const auto reqs = h.sts.requests();
    REQUIRE(reqs.size() == 3);
    CHECK(reqs[0].dedupe_key == reqs[1].dedupe_key);
    CHECK(reqs[1].dedupe_key == reqs[2].dedupe_key);
    h.sts.release();
    CHECK(done == 3);
}

TEST_CASE("a cache hit answers from the entry alone: same identity facts, no STS call, exact bytes only", "[authn]") {
    harness h;
    h.sts.next = fake_sts_client::identity("arn:aws:sts::111122223333:assumed-role/Admin/alice", "111122223333",
                                           "AROAEXAMPLEID:alice");
    const auto token = h.token(t0 - minutes(1));
    const auto first = h.review(token);
    REQUIRE(first.kind == authn::verdict::authenticated);
    const auto hit = h.review(token);
    REQUIRE(hit.cache_hit);
    CHECK(hit.kind == authn::verdict::authenticated);
    CHECK(hit.username == "admin:alice");
    CHECK(hit.sts_region == "us-west-2");  // what validation found, kept in the entry
    REQUIRE(hit.identity);
    CHECK(hit.identity->access_key_id == "AKIDEXAMPLE");
    CHECK(hit.identity->sts_endpoint == "sts.us-west-2.amazonaws.com");
    CHECK(hit.identity->session_name == "alice");
    CHECK(h.sts.calls() == 1);

    // Any other bytes miss the entry and go through validation again: a one-character change is
    // a new token (valid locally, so STS is asked); a padded one is refused locally.
    std::string changed = token;
    changed.back() = changed.back() == 'A' ? 'B' : 'A';
    const auto other = h.review(changed);
    CHECK_FALSE(other.cache_hit);
    CHECK(h.sts.calls() == 2);
    const auto padded = h.review(token + "=");
    CHECK_FALSE(padded.cache_hit);
    CHECK(padded.metric_result == "invalid_token");
    CHECK(h.sts.calls() == 2);
}

TEST_CASE("a token over maxTokenBytes is refused for its size, never looked up", "[authn]") {
    harness h;
    const std::string huge = "k8s-aws-v1." + std::string(token::default_max_token_bytes, 'a');
    const auto d = h.review(huge);
    CHECK(d.kind == authn::verdict::denied);
    CHECK(d.reason == "token_too_large");
    CHECK(d.metric_result == "invalid_token");
    CHECK_FALSE(d.cache_hit);
    CHECK(h.auth.cache_statistics().misses == 0);  // not even a cache lookup
    CHECK(h.sts.calls() == 0);
}
