#include "ec2/resolver.hpp"

#include "ec2/ec2_client.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <numeric>
#include <set>

using namespace stsauth;
using namespace stsauth::ec2;
using namespace stsauth::ec2::testing;
using namespace std::chrono_literals;

namespace {

std::string id_n(int n) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "i-%017x", n);
    return buf;
}

https_ec2_client_config client_cfg(std::string region, std::string endpoint = {}) {
    https_ec2_client_config c;
    c.region = std::move(region);
    c.endpoint = std::move(endpoint);
    return c;
}

std::string name_n(int n) { return "ip-10-0-" + std::to_string(n / 256) + "-" + std::to_string(n % 256) + ".us-west-2.compute.internal"; }

/// A fake EC2 over TLS on loopback, the real HTTPS client pointed at it with connect_override,
/// and the resolver under test. The cache clock can be moved forward.
struct ec2_fixture {
    test_cert cert{{std::string(test_host)}};
    fake_ec2 ec2;
    fake_server server{[this](const seen_request& r) { return ec2.handle(r); }, cert.pem};
    // Before io: the resolver reads them from io's threads until those are joined.
    std::atomic<std::int64_t> clock_offset_ms{0};
    std::atomic<int> hook_calls{0};
    io_runner io;
    std::shared_ptr<https_ec2_client> client;
    std::unique_ptr<describe_instances_resolver> resolver;

    https_ec2_client_config client_config() const {
        https_ec2_client_config c;
        c.region = std::string(test_region);
        c.connect_override = server.address();
        c.ca_file = cert.ca_file;
        return c;
    }

    resolver_config config() {
        resolver_config c;
        c.now = [this] { return std::chrono::steady_clock::now() + std::chrono::milliseconds(clock_offset_ms.load()); };
        c.on_call = [this] { ++hook_calls; };
        return c;
    }

    void start(resolver_config rc) { start(std::move(rc), client_config()); }
    void start(resolver_config rc, https_ec2_client_config cc) {
        client = std::make_shared<https_ec2_client>(io.ioc(), std::move(cc),
                                                    std::make_shared<static_credentials_source>(example_credentials(), "test"));
        resolver = std::make_unique<describe_instances_resolver>(io.ioc(), client, std::move(rc));
    }

    void advance(std::chrono::milliseconds d) { clock_offset_ms += d.count(); }

    /// One lookup, waited for.
    result<std::string> lookup(const std::string& id) {
        collector<std::string> c;
        resolver->private_dns_name(id, c.callback());
        REQUIRE(c.wait(1));
        return c.results().front();
    }
};

}  // namespace

TEST_CASE("resolver: resolves through EC2 and caches the name for its TTL") {
    ec2_fixture f;
    f.ec2.set_instance(id_n(1), name_n(1));
    f.start(f.config());

    auto r = f.lookup(id_n(1));
    REQUIRE(r.ok());
    CHECK(*r == name_n(1));
    CHECK(f.ec2.calls() == 1);

    f.advance(14min);
    auto cached = f.lookup(id_n(1));
    REQUIRE(cached.ok());
    CHECK(*cached == name_n(1));
    CHECK(f.ec2.calls() == 1);
    CHECK(f.resolver->stats().cache_hits == 1);

    f.advance(2min);  // past 15 minutes: asked again
    f.ec2.set_instance(id_n(1), "ip-10-9-9-9.us-west-2.compute.internal");
    auto fresh = f.lookup(id_n(1));
    REQUIRE(fresh.ok());
    CHECK(*fresh == "ip-10-9-9-9.us-west-2.compute.internal");
    CHECK(f.ec2.calls() == 2);
    CHECK(f.resolver->describe_instances_calls() == 2);
    CHECK(f.hook_calls == 2);
    CHECK(f.ec2.auth_failures() == 0);
}

TEST_CASE("resolver: unknown instances are negative-cached briefly") {
    ec2_fixture f;
    f.start(f.config());

    auto r = f.lookup(id_n(7));
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "ec2_instance_not_found");
    CHECK(f.ec2.calls() == 1);

    f.advance(9s);
    auto again = f.lookup(id_n(7));
    REQUIRE_FALSE(again.ok());
    CHECK(again.code() == "ec2_instance_not_found");
    CHECK(f.ec2.calls() == 1);
    CHECK(f.resolver->stats().negative_hits == 1);

    f.advance(2s);  // past 10 s: the instance may exist now
    f.ec2.set_instance(id_n(7), name_n(7));
    auto now_known = f.lookup(id_n(7));
    REQUIRE(now_known.ok());
    CHECK(*now_known == name_n(7));
    CHECK(f.ec2.calls() == 2);
}

TEST_CASE("resolver: an empty private DNS name is an error and is never cached") {
    ec2_fixture f;
    f.ec2.set_instance(id_n(3), "");
    f.start(f.config());

    auto r = f.lookup(id_n(3));
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "ec2_empty_dns_name");
    auto again = f.lookup(id_n(3));
    REQUIRE_FALSE(again.ok());
    CHECK(again.code() == "ec2_empty_dns_name");
    CHECK(f.ec2.calls() == 2);

    f.ec2.set_instance(id_n(3), name_n(3));  // EC2 caught up
    auto later = f.lookup(id_n(3));
    REQUIRE(later.ok());
    CHECK(*later == name_n(3));
}

TEST_CASE("resolver: a private DNS name that is not a DNS name is refused") {
    ec2_fixture f;
    f.ec2.set_instance(id_n(4), "evil:name");
    f.start(f.config());
    auto r = f.lookup(id_n(4));
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "ec2_bad_dns_name");
}

TEST_CASE("resolver: ids that are not EC2 instance ids are refused without a call") {
    ec2_fixture f;
    f.start(f.config());
    for (const std::string bad : {"i-ABCDEF12", "i-aaaaa", "i-0123456789abcdef", "", "i-0123abcd&x=y"}) {
        auto r = f.lookup(bad);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "ec2_malformed_instance_id");
    }
    CHECK(f.ec2.calls() == 0);
}

TEST_CASE("resolver: 100 concurrent lookups of one id make one call") {
    ec2_fixture f;
    f.ec2.set_instance(id_n(9), name_n(9));
    f.ec2.set_delay(50ms);
    f.start(f.config());

    collector<std::string> c;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 25; ++i) f.resolver->private_dns_name(id_n(9), c.callback());
        });
    }
    for (auto& t : threads) t.join();
    REQUIRE(c.wait(100));
    for (const auto& r : c.results()) {
        REQUIRE(r.ok());
        CHECK(*r == name_n(9));
    }
    CHECK(f.ec2.calls() == 1);
    CHECK(f.ec2.batch_sizes() == std::vector<std::size_t>{1});
    const auto s = f.resolver->stats();
    CHECK(s.joined + s.cache_hits == 99);
}

TEST_CASE("resolver: 100 distinct ids are batched into few calls") {
    ec2_fixture f;
    for (int i = 0; i < 100; ++i) f.ec2.set_instance(id_n(i), name_n(i));
    f.start(f.config());

    collector<std::string> c;
    std::map<std::string, std::string> expected;
    for (int i = 0; i < 100; ++i) f.resolver->private_dns_name(id_n(i), c.callback());
    REQUIRE(c.wait(100));
    std::multiset<std::string> got;
    for (const auto& r : c.results()) {
        REQUIRE(r.ok());
        got.insert(*r);
    }
    std::multiset<std::string> want;
    for (int i = 0; i < 100; ++i) want.insert(name_n(i));
    CHECK(got == want);
    const auto sizes = f.ec2.batch_sizes();
    CHECK(sizes.size() <= 5);
    CHECK(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}) == 100);
    CHECK(f.resolver->describe_instances_calls() == sizes.size());
}

TEST_CASE("resolver: batches never exceed max_batch_ids") {
    ec2_fixture f;
    for (int i = 0; i < 25; ++i) f.ec2.set_instance(id_n(i), name_n(i));
    auto cfg = f.config();
    cfg.max_batch_ids = 10;
    cfg.batch_flush_ids = 1000;
    cfg.batch_window = 100ms;
    f.start(cfg);
    collector<std::string> c;
    for (int i = 0; i < 25; ++i) f.resolver->private_dns_name(id_n(i), c.callback());
    REQUIRE(c.wait(25));
    for (const auto& r : c.results()) CHECK(r.ok());
    for (auto n : f.ec2.batch_sizes()) CHECK(n <= 10);
    CHECK(f.ec2.calls() >= 3);
}

TEST_CASE("resolver: an unknown id in a batch does not fail the others") {
    ec2_fixture f;
    for (int i = 0; i < 10; ++i) f.ec2.set_instance(id_n(i), name_n(i));
    auto cfg = f.config();
    cfg.qps = 1000;
    cfg.burst = 100;
    cfg.batch_window = 200ms;

    SECTION("EC2 names the unknown ids: they are answered, the rest is sent again as one batch") {
        f.start(cfg);
        collector<std::string> c;
        for (int i = 0; i < 10; ++i) f.resolver->private_dns_name(id_n(i), c.callback());
        f.resolver->private_dns_name(id_n(500), c.callback());
        f.resolver->private_dns_name(id_n(501), c.callback());
        REQUIRE(c.wait(12));
        int ok = 0, not_found = 0;
        for (const auto& r : c.results()) {
            if (r.ok()) {
                ++ok;
            } else {
                CHECK(r.code() == "ec2_instance_not_found");
                ++not_found;
            }
        }
        CHECK(ok == 10);
        CHECK(not_found == 2);
        CHECK(f.ec2.batch_sizes() == std::vector<std::size_t>{12, 10});
        CHECK(f.resolver->stats().single_calls == 0);
        // The unknown ids are negative-cached like single lookups.
        auto again = f.lookup(id_n(500));
        CHECK(again.code() == "ec2_instance_not_found");
        CHECK(f.ec2.calls() == 2);
    }
    SECTION("EC2's message names no id: every id of the batch is retried alone") {
        f.ec2.name_ids_in_errors(false);
        f.start(cfg);
        collector<std::string> c;
        for (int i = 0; i < 10; ++i) f.resolver->private_dns_name(id_n(i), c.callback());
        f.resolver->private_dns_name(id_n(500), c.callback());
        REQUIRE(c.wait(11));
        int ok = 0;
        for (const auto& r : c.results()) {
            if (r.ok()) {
                ++ok;
            } else {
                CHECK(r.code() == "ec2_instance_not_found");
            }
        }
        CHECK(ok == 10);
        const auto sizes = f.ec2.batch_sizes();
        REQUIRE(sizes.size() == 12);
        CHECK(sizes[0] == 11);
        CHECK(std::all_of(sizes.begin() + 1, sizes.end(), [](std::size_t n) { return n == 1; }));
        CHECK(f.resolver->stats().single_calls == 11);
    }
}

TEST_CASE("resolver: DescribeInstances calls are rate-limited by a token bucket") {
    ec2_fixture f;
    for (int i = 0; i < 8; ++i) f.ec2.set_instance(id_n(i), name_n(i));
    auto cfg = f.config();
    cfg.qps = 20;  // one token every 50 ms
    cfg.burst = 2;
    cfg.max_batch_ids = 1;
    cfg.batch_window = 0ms;
    cfg.lookup_timeout = 20s;
    f.start(cfg);

    const auto start = std::chrono::steady_clock::now();
    collector<std::string> c;
    for (int i = 0; i < 8; ++i) f.resolver->private_dns_name(id_n(i), c.callback());
    REQUIRE(c.wait(8));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    for (const auto& r : c.results()) CHECK(r.ok());
    CHECK(f.ec2.calls() == 8);
    // Two calls from the burst, then one per 50 ms: the last leaves at least 300 ms after the start.
    CHECK(elapsed >= 290ms);
    const auto seen = f.server.requests();
    REQUIRE(seen.size() == 8);
    CHECK(seen.back().at - seen.front().at >= 280ms);
}

TEST_CASE("resolver: a lookup that takes too long gets a timeout, exactly once") {
    ec2_fixture f;
    f.ec2.set_instance(id_n(5), name_n(5));
    f.ec2.set_delay(1500ms);
    auto cfg = f.config();
    cfg.lookup_timeout = 200ms;
    f.start(cfg);

    collector<std::string> first;
    const auto start = std::chrono::steady_clock::now();
    f.resolver->private_dns_name(id_n(5), first.callback());
    REQUIRE(first.wait(1));
    CHECK(std::chrono::steady_clock::now() - start < 1400ms);
    REQUIRE_FALSE(first.results().front().ok());
    CHECK(first.results().front().code() == "ec2_timeout");
    CHECK(f.resolver->stats().timeouts == 1);

    // The answer arrives later and is cached: lookups join the call (and may time out too) until
    // it does, then hit the cache. No second call, and the first callback was called only once.
    result<std::string> r = make_error("none", "");
    for (int i = 0; i < 30 && !r.ok(); ++i) r = f.lookup(id_n(5));
    REQUIRE(r.ok());
    CHECK(*r == name_n(5));
    CHECK(f.ec2.calls() == 1);
    CHECK(first.size() == 1);
}

TEST_CASE("resolver: EC2 failures are reported and not cached") {
    ec2_fixture f;
    f.ec2.set_instance(id_n(1), name_n(1));

    SECTION("throttling") {
        f.ec2.force_reply(canned_reply{503, ec2_error_xml("RequestLimitExceeded", "Request limit exceeded.")});
        f.start(f.config());
        auto r = f.lookup(id_n(1));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "ec2_throttled");
        f.ec2.force_reply(std::nullopt);
        auto ok = f.lookup(id_n(1));
        REQUIRE(ok.ok());
        CHECK(f.ec2.calls() == 2);
    }
    SECTION("service error") {
        f.ec2.force_reply(canned_reply{500, ec2_error_xml("InternalError", "An internal error has occurred")});
        f.start(f.config());
        auto r = f.lookup(id_n(1));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "ec2_unavailable");
        CHECK(r.err().message.find("InternalError") != std::string::npos);
    }
    SECTION("garbage answer") {
        f.ec2.force_reply(canned_reply{200, "<html>captive portal</html>"});
        f.start(f.config());
        CHECK(f.lookup(id_n(1)).code() == "ec2_bad_response");
    }
    SECTION("oversized answer") {
        f.ec2.force_reply(canned_reply{200, std::string(4096, ' ')});
        auto cc = f.client_config();
        cc.max_body_bytes = 1024;
        f.start(f.config(), cc);
        auto r = f.lookup(id_n(1));
        CHECK(r.code() == "ec2_bad_response");
        CHECK(r.err().message.find("too large") != std::string::npos);
    }
    SECTION("redirect") {
        f.ec2.force_reply(canned_reply{302, ""});
        f.start(f.config());
        CHECK(f.lookup(id_n(1)).code() == "ec2_bad_response");
    }
    SECTION("wrong credentials") {
        f.start(f.config());
        f.client = std::make_shared<https_ec2_client>(
            f.io.ioc(), f.client_config(),
            std::make_shared<static_credentials_source>(example_credentials("unexpected-token"), "test"));
        f.resolver = std::make_unique<describe_instances_resolver>(f.io.ioc(), f.client, f.config());
        auto r = f.lookup(id_n(1));
        CHECK(r.code() == "ec2_auth_failure");
        CHECK(f.ec2.auth_failures() == 1);
    }
    SECTION("the HTTP call times out") {
        f.ec2.set_hang(true);
        auto cc = f.client_config();
        cc.timeout = 300ms;
        f.start(f.config(), cc);
        auto r = f.lookup(id_n(1));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "ec2_unavailable");
        CHECK(r.err().message.find("timeout") != std::string::npos);
        CHECK(f.resolver->stats().timeouts == 0);
    }
}

TEST_CASE("resolver: TLS is verified") {
    ec2_fixture f;
    f.ec2.set_instance(id_n(1), name_n(1));
    SECTION("an untrusted certificate") {
        auto cc = f.client_config();
        cc.ca_file.clear();
        f.start(f.config(), cc);
        auto r = f.lookup(id_n(1));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "ec2_unavailable");
        CHECK(r.err().message.find("TLS handshake") != std::string::npos);
    }
    SECTION("a certificate for another name") {
        auto cc = f.client_config();
        cc.endpoint = "https://ec2.eu-west-1.amazonaws.com";
        f.start(f.config(), cc);
        auto r = f.lookup(id_n(1));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "ec2_unavailable");
        CHECK(r.err().message.find("TLS handshake") != std::string::npos);
    }
    CHECK(f.ec2.calls() == 0);
}

TEST_CASE("resolver: nothing listening") {
    ec2_fixture f;
    auto cc = f.client_config();
    cc.connect_override = "127.0.0.1:" + std::to_string(unused_port());
    f.start(f.config(), cc);
    auto r = f.lookup(id_n(1));
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "ec2_unavailable");
}

TEST_CASE("resolver: too many pending lookups are refused") {
    ec2_fixture f;
    f.ec2.set_hang(true);
    auto cfg = f.config();
    cfg.max_pending_ids = 2;
    f.start(cfg);
    collector<std::string> waiting;
    f.resolver->private_dns_name(id_n(1), waiting.callback());
    f.resolver->private_dns_name(id_n(2), waiting.callback());
    f.resolver->private_dns_name(id_n(1), waiting.callback());  // joins: no new id
    auto r = f.lookup(id_n(3));
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "ec2_overloaded");
    CHECK(waiting.size() == 0);
    f.resolver.reset();
    REQUIRE(waiting.wait(3));
    for (const auto& w : waiting.results()) CHECK(w.code() == "ec2_shutdown");
}

TEST_CASE("resolver: destroying it answers waiting lookups") {
    ec2_fixture f;
    f.ec2.set_hang(true);
    f.start(f.config());
    collector<std::string> c;
    f.resolver->private_dns_name(id_n(1), c.callback());
    f.resolver->private_dns_name(id_n(1), c.callback());
    for (int i = 0; i < 400 && f.server.request_count() == 0; ++i) std::this_thread::sleep_for(5ms);
    REQUIRE(f.server.request_count() == 1);
    f.resolver.reset();
    REQUIRE(c.wait(2));
    for (const auto& r : c.results()) CHECK(r.code() == "ec2_shutdown");
}

TEST_CASE("resolver: configuration is validated") {
    io_runner io(1);
    auto api = std::make_shared<https_ec2_client>(io.ioc(), client_cfg("us-west-2"),
                                                  std::make_shared<static_credentials_source>(example_credentials(), "t"));
    const auto bad = [&](auto mutate) {
        resolver_config c;
        mutate(c);
        return describe_instances_resolver(io.ioc(), api, c);
    };
    CHECK_THROWS_WITH(bad([](resolver_config& c) { c.qps = 0; }), Catch::Contains("ec2DescribeInstancesQps"));
    CHECK_THROWS_WITH(bad([](resolver_config& c) { c.burst = 0; }), Catch::Contains("ec2DescribeInstancesBurst"));
    CHECK_THROWS(bad([](resolver_config& c) { c.max_batch_ids = 1001; }));
    CHECK_THROWS(bad([](resolver_config& c) { c.lookup_timeout = 0ms; }));
    CHECK_THROWS(describe_instances_resolver(io.ioc(), nullptr, resolver_config{}));
}

TEST_CASE("https_ec2_client: configuration is validated") {
    io_runner io(1);
    auto creds = std::make_shared<static_credentials_source>(example_credentials(), "t");
    const auto make = [&](https_ec2_client_config c) { return https_ec2_client(io.ioc(), std::move(c), creds); };
    CHECK(make(client_cfg("us-west-2")).host() == "ec2.us-west-2.amazonaws.com");
    CHECK(make(client_cfg("cn-north-1")).host() == "ec2.cn-north-1.amazonaws.com.cn");
    const auto vpce = client_cfg("us-west-2", "https://vpce-1.ec2.us-west-2.vpce.amazonaws.com:8443/");
    CHECK(make(vpce).host() == "vpce-1.ec2.us-west-2.vpce.amazonaws.com");
    CHECK_THROWS(make(client_cfg("")));
    CHECK_THROWS(make(client_cfg("us-west-2/x")));
    CHECK_THROWS(make(client_cfg("us-west-2", "http://ec2.us-west-2.amazonaws.com")));
    CHECK_THROWS(make(client_cfg("us-west-2", "https://user@ec2.us-west-2.amazonaws.com")));
    CHECK_THROWS(make(client_cfg("us-west-2", "https://ec2.us-west-2.amazonaws.com/path")));
    CHECK_THROWS(make(client_cfg("us-west-2", "https://ec2.us-west-2.amazonaws.com:0")));
    auto bad_override = client_cfg("us-west-2");
    bad_override.connect_override = "127.0.0.1";
    CHECK_THROWS(make(bad_override));
    auto bad_ca = client_cfg("us-west-2");
    bad_ca.ca_file = "/nonexistent/ca.pem";
    CHECK_THROWS_AS(make(bad_ca), std::runtime_error);
    CHECK_THROWS(https_ec2_client(io.ioc(), client_cfg("us-west-2"), nullptr));
}
