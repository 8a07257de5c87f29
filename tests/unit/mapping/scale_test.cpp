// Large mapping sets: 100,000 entries load in well under a second and look up in O(1).
// Times are process CPU time (std::clock), not wall time: the build machine is shared, and the
// bounds are there to catch super-linear behaviour, which would be off by orders of magnitude.

#include "mapping/dynamic_file.hpp"
#include "mapping/sources.hpp"

#include "helpers.hpp"

#include <fmt/format.h>

#include <ctime>

using namespace mapping_test;
using stsauth::make_error;
using stsauth::result;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr double slowdown = 8.0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr double slowdown = 8.0;
#else
constexpr double slowdown = 1.0;
#endif
#else
constexpr double slowdown = 1.0;
#endif

constexpr int entries = 100'000;

template <class Fn>
double cpu_seconds(Fn&& fn) {
    const std::clock_t start = std::clock();
    fn();
    return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

std::string role_name(int i) { return fmt::format("team-{}/Role{}", i % 97, i); }

}  // namespace

TEST_CASE("100,000 DynamicFile entries load fast and look up in O(1)", "[scale]") {
    std::string json = R"({"Version":"1","LastUpdatedDateTime":"1706648530","mapRoles":[)";
    for (int i = 0; i < entries; ++i) {
        if (i) json += ',';
        json += fmt::format(R"({{"rolearn":"arn:aws:iam::111122223333:role/{}","username":"user-{}",)"
                            R"("groups":["group-{}"],"userid":"AROA{:017}"}})",
                            role_name(i), i, i % 10, i);
    }
    json += "]}";

    for (bool strict : {false, true}) {
        result<loaded_dynamic_file> loaded = make_error("unset", "");
        const double load = cpu_seconds([&] { loaded = load_dynamic_file(json, strict); });
        REQUIRE(loaded.ok());
        CHECK(loaded->loaded.mappings.role_count() == entries);
        CHECK(loaded->loaded.warnings.empty());
        INFO("strict=" << strict << " load took " << load << " s");
        CHECK(load < 0.9 * slowdown);  // ~0.3 s of it is nlohmann's parse of the 14 MB

        int hits = 0;
        const double lookups = cpu_seconds([&] {
            for (int i = 0; i < entries; ++i) {
                auto id = role_identity("111122223333", fmt::format("Role{}", i), "s");
                id.user_id = fmt::format("AROA{:017}", i);
                hits += lookup(loaded->loaded.mappings, id) == fmt::format("user-{}", i) ? 1 : 0;
            }
        });
        CHECK(hits == entries);
        INFO("100,000 lookups took " << lookups << " s");
        CHECK(lookups < 0.5 * slowdown);  // a linear scan would be ~10^10 comparisons
    }
}

TEST_CASE("100,000 entries compile into a set in well under a second", "[scale]") {
    mapping_document doc;
    for (int i = 0; i < entries; ++i) {
        doc.users.push_back(user_mapping{fmt::format("arn:aws:iam::111122223333:user/path/User{}", i), "u", {"g"}, ""});
    }
    result<loaded_mappings> loaded = make_error("unset", "");
    const double compile_time = cpu_seconds([&] { loaded = compile(std::move(doc), {}); });
    REQUIRE(loaded.ok());
    CHECK(loaded->mappings.user_count() == entries);
    INFO("compile took " << compile_time << " s");
    CHECK(compile_time < 0.3 * slowdown);
    CHECK(lookup(loaded->mappings, user_identity("111122223333", "user99999")) == "u");
}

TEST_CASE("a large MountedFile config", "[scale]") {
    // yaml-cpp parses about 4 MB/s (100,000 entries: ~2 s in YAML::Load alone, our compile
    // adding ~0.1 s), so this stays at 20,000 entries to keep the suite fast; the bound still
    // exposes anything quadratic.
    constexpr int yaml_entries = 20'000;
    std::string yaml = "server:\n  mapUsers:\n";
    for (int i = 0; i < yaml_entries; ++i) {
        yaml += fmt::format("  - userarn: arn:aws:iam::111122223333:user/User{}\n    username: u{}\n    groups: [g]\n", i, i);
    }
    result<loaded_mappings> loaded = make_error("unset", "");
    const double load = cpu_seconds([&] { loaded = load_mounted_file_text(yaml); });
    REQUIRE(loaded.ok());
    CHECK(loaded->mappings.user_count() == yaml_entries);
    INFO("YAML load took " << load << " s");
    CHECK(load < 1.5 * slowdown);
    CHECK(lookup(loaded->mappings, user_identity("111122223333", "user19999")) == "u19999");
}
