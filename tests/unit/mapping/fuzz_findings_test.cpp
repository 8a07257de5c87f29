// Inputs the fuzzers found that once hung or crashed the loaders.
#include "mapping/dynamic_file.hpp"
#include "mapping/sources.hpp"

#include <catch2/catch.hpp>

using namespace stsauth;

TEST_CASE("a ConfigMap manifest with a stray top-level comma is refused, not looped on", "[mapping][fuzz]") {
    CHECK(mapping::load_configmap_manifest(",").code() == "bad_configmap");
    CHECK(mapping::load_configmap_manifest(R"({"apiVersion":"v1","kind":"ConfigMap","data":{}},)").code() ==
          "bad_configmap");
    CHECK(mapping::load_configmap_manifest("kind: ConfigMap\n---\nkind: ConfigMap\n").code() == "bad_configmap");
    CHECK(mapping::load_configmap_manifest("---\nkind: ConfigMap\ndata: {}\n").ok());
}

TEST_CASE("a DynamicFile number beyond double's range is a load error, not a crash", "[mapping][fuzz]") {
    const auto r = mapping::load_dynamic_file(R"({"Version":"1","mapAccounts":[1e309]})", false);
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "bad_json");
}
