#include "config/duration.hpp"

#include <catch2/catch.hpp>

using namespace stsauth::config;
using namespace std::chrono_literals;

TEST_CASE("Go durations parse as time.ParseDuration", "[config][duration]") {
    CHECK(*parse_go_duration("10s") == 10s);
    CHECK(*parse_go_duration("1m30s") == 90s);
    CHECK(*parse_go_duration("500ms") == 500ms);
    CHECK(*parse_go_duration("1.5h") == 90min);
    CHECK(*parse_go_duration("2h45m") == 165min);
    CHECK(*parse_go_duration("1h1m1s1ms1us1ns") == 1h + 1min + 1s + 1ms + 1us + 1ns);
    CHECK(*parse_go_duration("1\xC2\xB5s") == 1us);   // micro sign
    CHECK(*parse_go_duration("1\xCE\xBCs") == 1us);   // Greek mu
    CHECK(*parse_go_duration(".5s") == 500ms);
    CHECK(*parse_go_duration("1.s") == 1s);
    CHECK(*parse_go_duration("0") == 0s);
    CHECK(*parse_go_duration("+5s") == 5s);
    CHECK(*parse_go_duration("-5s") == -5s);
    CHECK(*parse_go_duration("0.000000001s") == 1ns);
    CHECK(*parse_go_duration("9223372036854775807ns") == duration::max());
    CHECK(*parse_go_duration("-9223372036854775808ns") == duration::min());
}

TEST_CASE("bad Go durations are refused with bad_duration", "[config][duration]") {
    for (const char* bad : {"", "10", "1.5", "s", ".s", "10x", "10S", "1m30", "1 s", "--1s", "9223372036854775808ns",
                            "3000000h", "1e3s", "+", "-"}) {
        INFO(bad);
        auto d = parse_go_duration(bad);
        REQUIRE_FALSE(d.ok());
        CHECK(d.code() == "bad_duration");
    }
    CHECK(parse_go_duration("10").err().message.find("missing unit") != std::string::npos);
}

TEST_CASE("durations format as Go's Duration.String", "[config][duration]") {
    CHECK(format_go_duration(0s) == "0s");
    CHECK(format_go_duration(10s) == "10s");
    CHECK(format_go_duration(90s) == "1m30s");
    CHECK(format_go_duration(1h) == "1h0m0s");
    CHECK(format_go_duration(500ms) == "500ms");
    CHECK(format_go_duration(1500us) == "1.5ms");
    CHECK(format_go_duration(1500ns) == "1.5\xC2\xB5s");
    CHECK(format_go_duration(7ns) == "7ns");
    CHECK(format_go_duration(-2s) == "-2s");
    CHECK(format_go_duration(1s + 500ms) == "1.5s");
    CHECK(format_go_duration(duration::min()) == "-2562047h47m16.854775808s");
}
