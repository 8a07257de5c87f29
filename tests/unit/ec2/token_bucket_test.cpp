#include "ec2/token_bucket.hpp"

#include <catch2/catch.hpp>

using namespace stsauth::ec2;
using namespace std::chrono_literals;

TEST_CASE("token bucket: burst, then the rate") {
    const auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket b(15, 5, t0);
    for (int i = 0; i < 5; ++i) CHECK(b.try_take(t0));
    CHECK_FALSE(b.try_take(t0));
    CHECK(b.wait_time(t0) > 66ms);
    CHECK(b.wait_time(t0) <= 67ms);
    CHECK_FALSE(b.try_take(t0 + 60ms));
    CHECK(b.try_take(t0 + 67ms));
    CHECK_FALSE(b.try_take(t0 + 67ms));
    // Never more than the burst, however long it waited.
    const auto later = t0 + 1h;
    CHECK(b.tokens(later) == Approx(5.0));
    for (int i = 0; i < 5; ++i) CHECK(b.try_take(later));
    CHECK_FALSE(b.try_take(later));
    CHECK(b.wait_time(later + 1s) == token_bucket::clock::duration::zero());
}

TEST_CASE("token bucket: a clock going backwards takes nothing back") {
    const auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket b(1, 1, t0);
    CHECK(b.try_take(t0));
    CHECK_FALSE(b.try_take(t0 - 10s));
    CHECK(b.try_take(t0 + 1s));
}
