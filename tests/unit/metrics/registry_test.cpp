#include "metrics/registry.hpp"
#include "metrics/text_format.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace stsauth::metrics;

TEST_CASE("values are formatted as Go's strconv 'g' -1", "[metrics][format]") {
    CHECK(format_value(0) == "0");
    CHECK(format_value(1) == "1");
    CHECK(format_value(-1) == "-1");
    CHECK(format_value(0.005) == "0.005");
    CHECK(format_value(2.5) == "2.5");
    CHECK(format_value(0.1 + 0.2) == "0.30000000000000004");
    CHECK(format_value(123456) == "123456");
    CHECK(format_value(1048576) == "1.048576e+06");
    CHECK(format_value(1e6) == "1e+06");
    CHECK(format_value(12345678) == "1.2345678e+07");
    CHECK(format_value(0.0001) == "0.0001");
    CHECK(format_value(0.00001) == "1e-05");
    CHECK(format_value(1.7e9) == "1.7e+09");
    CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("label values and help text are escaped", "[metrics][format]") {
    CHECK(escape_label_value(R"(a\b"c)" "\n" "d") == R"(a\\b\"c\nd)");
    CHECK(escape_help("back\\slash \"quoted\"\nnext") == "back\\\\slash \"quoted\"\\nnext");

    registry r;
    r.add_counter("esc_total", "Help with \\ and\nnewline.", {"path"}).with({"C:\\dir \"x\"\n"}).inc();
    CHECK(r.expose() ==
          "# HELP esc_total Help with \\\\ and\\nnewline.\n"
          "# TYPE esc_total counter\n"
          "esc_total{path=\"C:\\\\dir \\\"x\\\"\\n\"} 1\n");
}

TEST_CASE("exposition of a small registry is exact", "[metrics][exposition]") {
    registry r;
    auto& req = r.add_counter("demo_requests_total", "Requests.", {"method", "code"});
    auto& temp = r.add_gauge("demo_temperature", "Temperature.");
    auto& lat = r.add_histogram("demo_latency_seconds", "Latency.", {"route"}, {0.1, 1, 2.5});
    r.add_counter("demo_unused_total", "Never used, has labels.", {"x"});

    req.with({"GET", "200"}).inc(3);
    req.with({"POST", "500"}).inc();
    req.with({"GET", "404"}).inc();
    temp.with({}).set(-2.5);
    auto& a = lat.with({"/a"});
    a.observe(0.05);
    a.observe(0.1);   // le is inclusive
    a.observe(2);
    a.observe(30);

    // Families sorted by name; labels sorted by name (code before method); children sorted by
    // label values; a labelled family with no child is omitted; histograms are cumulative.
    CHECK(r.expose() ==
          "# HELP demo_latency_seconds Latency.\n"
          "# TYPE demo_latency_seconds histogram\n"
          "demo_latency_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
          "demo_latency_seconds_bucket{route=\"/a\",le=\"1\"} 2\n"
          "demo_latency_seconds_bucket{route=\"/a\",le=\"2.5\"} 3\n"
          "demo_latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
          "demo_latency_seconds_sum{route=\"/a\"} 32.15\n"
          "demo_latency_seconds_count{route=\"/a\"} 4\n"
          "# HELP demo_requests_total Requests.\n"
          "# TYPE demo_requests_total counter\n"
          "demo_requests_total{code=\"200\",method=\"GET\"} 3\n"
          "demo_requests_total{code=\"404\",method=\"GET\"} 1\n"
          "demo_requests_total{code=\"500\",method=\"POST\"} 1\n"
          "# HELP demo_temperature Temperature.\n"
          "# TYPE demo_temperature gauge\n"
          "demo_temperature -2.5\n");
}

TEST_CASE("with() finds an existing child by its values, in declared order", "[metrics]") {
    registry r;
    auto& req = r.add_counter("lookup_total", "Lookups.", {"method", "code"});  // sorted: code, method
    auto& a = req.with({"GET", "200"});
    auto& b = req.with({"GET", "20"});    // a prefix of another child's value
    auto& c = req.with({"GE", "200"});
    auto& d = req.with({"POST", "200"});
    CHECK(&req.with({"GET", "200"}) == &a);
    CHECK(&req.with({"GET", "20"}) == &b);
    CHECK(&req.with({"GE", "200"}) == &c);
    CHECK(&req.with({"POST", "200"}) == &d);
    CHECK(&a != &b);
    CHECK(&a != &c);
    CHECK(&a != &d);
    const std::vector<std::string> owned = {"GET", "200"};
    CHECK(&req.with(std::span<const std::string>(owned)) == &a);
    CHECK_THROWS_AS(req.with({"GET"}), std::invalid_argument);
}

TEST_CASE("an unlabelled histogram is exported from registration on", "[metrics][exposition]") {
    registry r;
    r.add_histogram("h_seconds", "H.", {}, {1, 2});
    CHECK(r.expose() ==
          "# HELP h_seconds H.\n"
          "# TYPE h_seconds histogram\n"
          "h_seconds_bucket{le=\"1\"} 0\n"
          "h_seconds_bucket{le=\"2\"} 0\n"
          "h_seconds_bucket{le=\"+Inf\"} 0\n"
          "h_seconds_sum 0\n"
          "h_seconds_count 0\n");
}

TEST_CASE("histogram bucket boundaries", "[metrics][histogram]") {
    registry r;
    auto& h = r.add_histogram("b", "B.", {}, default_buckets()).with({});
    for (double v : {0.0, 0.005, 0.0051, 0.01, 10.0, 10.5, -1.0}) h.observe(v);
    const auto s = h.collect();
    REQUIRE(s.cumulative.size() == 12);
    CHECK(s.cumulative[0] == 3);   // -1, 0, 0.005 <= .005
    CHECK(s.cumulative[1] == 5);   // 0.0051, 0.01 <= .01
    CHECK(s.cumulative[10] == 6);  // 10 <= 10
    CHECK(s.cumulative[11] == 7);  // 10.5 -> +Inf
    CHECK(s.count == 7);
    CHECK(s.sum == Approx(0.005 + 0.0051 + 0.01 + 10 + 10.5 - 1));
    CHECK(default_buckets() == std::vector<double>{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10});
}

TEST_CASE("concurrent updates from several threads sum correctly", "[metrics][concurrency]") {
    registry r;
    auto& fam = r.add_counter("c_total", "C.", {"k"});
    auto& g = r.add_gauge("g", "G.").with({});
    auto& h = r.add_histogram("h", "H.", {}, {1}).with({});
    constexpr int threads = 8;
    constexpr int per_thread = 20000;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            auto& mine = fam.with({t % 2 ? "odd" : "even"});  // child created concurrently
            for (int i = 0; i < per_thread; ++i) {
                mine.inc();
                fam.with({"shared"}).inc();
                g.inc();
                g.dec(0.5);
                h.observe(i % 2 ? 0.5 : 2);
            }
        });
    }
    for (auto& th : pool) th.join();
    CHECK(fam.with({"shared"}).value() == threads * per_thread);
    CHECK(fam.with({"odd"}).value() == threads / 2 * per_thread);
    CHECK(fam.with({"even"}).value() == threads / 2 * per_thread);
    CHECK(g.value() == threads * per_thread * 0.5);
    const auto s = h.collect();
    CHECK(s.count == threads * per_thread);
    CHECK(s.cumulative[0] == threads * per_thread / 2);
    CHECK(s.sum == Approx(threads * per_thread / 2 * 2.5));
}

TEST_CASE("registration is get-or-create and checks definitions", "[metrics][registry]") {
    registry r;
    auto& a = r.add_counter("x_total", "X.", {"a"});
    CHECK(&r.add_counter("x_total", "X.", {"a"}) == &a);
    CHECK_THROWS_AS(r.add_counter("x_total", "Other help.", {"a"}), std::logic_error);
    CHECK_THROWS_AS(r.add_counter("x_total", "X.", {"b"}), std::logic_error);
    CHECK_THROWS_AS(r.add_gauge("x_total", "X.", {"a"}), std::logic_error);
    auto& h = r.add_histogram("h", "H.", {}, {1, 2});
    CHECK(&r.add_histogram("h", "H.", {}, {1, 2}) == &h);
    CHECK_THROWS_AS(r.add_histogram("h", "H.", {}, {1, 3}), std::logic_error);

    CHECK_THROWS_AS(r.add_counter("bad-name", "B."), std::invalid_argument);
    CHECK_THROWS_AS(r.add_counter("ok", "B.", {"__reserved"}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_counter("ok", "B.", {"a", "a"}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_histogram("hh", "B.", {"le"}, {1}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_histogram("hh", "B.", {}, {2, 1}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_histogram("hh", "B.", {}, {}), std::invalid_argument);
    CHECK_THROWS_AS(a.with({}), std::invalid_argument);
    CHECK_THROWS_AS(a.with({"1", "2"}), std::invalid_argument);
    CHECK(valid_metric_name("aws_iam_authenticator:x_total"));
    CHECK_FALSE(valid_metric_name("1x"));
    CHECK(valid_label_name("StsRegion"));
    CHECK_FALSE(valid_label_name("a-b"));
}

TEST_CASE("collectors interleave with registered families by name", "[metrics][registry]") {
    registry r;
    r.add_gauge("b_gauge", "B.").with({}).set(2);
    r.add_collector([](std::vector<collected_family>& out) {
        out.push_back({"a_collected", "A.", metric_type::counter, {{{}, 1.5}}});
        out.push_back({"c_collected", "C.", metric_type::gauge, {{{{"z", "1"}, {"y", "2"}}, 7}}});
        out.push_back({"d_empty", "D.", metric_type::gauge, {}});
    });
    CHECK(r.expose() ==
          "# HELP a_collected A.\n# TYPE a_collected counter\na_collected 1.5\n"
          "# HELP b_gauge B.\n# TYPE b_gauge gauge\nb_gauge 2\n"
          "# HELP c_collected C.\n# TYPE c_collected gauge\nc_collected{y=\"2\",z=\"1\"} 7\n");
}
