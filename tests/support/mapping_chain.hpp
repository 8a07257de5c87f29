#pragma once
// Test support: a mapping chain of one MountedFile backend loaded from config YAML text.

#include "authn/authenticator.hpp"
#include "mapping/sources.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string_view>

namespace stsauth::testing {

inline std::shared_ptr<const authn::mapping_chain> chain_from(std::string_view config_yaml) {
    auto loaded = mapping::load_mounted_file_text(config_yaml);
    REQUIRE(loaded.ok());
    auto chain = std::make_shared<authn::mapping_chain>();
    chain->backends.push_back(
        {"MountedFile", std::make_shared<const mapping::mapping_set>(std::move(loaded->mappings)), {}});
    return chain;
}

}  // namespace stsauth::testing
