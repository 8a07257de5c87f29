// Fuzz target: the MountedFile mapping source (lib/mapping/sources: load_mounted_file_text,
// load_mounted_file).
//
// Input: a whole config file (YAML or JSON) whose `server` map holds mapRoles/mapUsers/mapAccounts.
//
// Properties:
//   - errors carry a documented code (bad_yaml exactly when yaml-cpp cannot read the text,
//     invalid_mapping otherwise);
//   - the text entry point and the node entry point agree: load_mounted_file_text(text) and
//     load_mounted_file(<server node of the parsed text>) summarise equal (mapping_summary.hpp:
//     outcome, index sizes, warning codes, answers to fixed lookups);
//   - keys are case-insensitive at every level: the same document with every key upper-cased
//     loads to the same summary;
//   - lookups never return an SSO entry unless SSORoleMatch is on (checked by summarize()).

#include "common/encoding.hpp"
#include "fuzz_support.hpp"
#include "mapping/sources.hpp"
#include "mapping_summary.hpp"
#include "yaml_tools.hpp"

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

using namespace stsauth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    const auto loaded = mapping::load_mounted_file_text(text);
    if (!loaded) FUZZ_CHECK(loaded.code() == "bad_yaml" || loaded.code() == "invalid_mapping");
    const auto summary = fuzz::summarize(loaded);

    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception&) {
        FUZZ_CHECK(!loaded.ok() && loaded.code() == "bad_yaml");
        return 0;
    }
    if (!root.IsMap()) return 0;
    YAML::Node server;
    int servers = 0;
    for (auto it = root.begin(); it != root.end(); ++it) {
        if (!it->first.IsScalar()) return 0;  // refused by the text entry point only
        if (encoding::iequals(it->first.Scalar(), "server")) {
            server.reset(it->second);
            ++servers;
        }
    }
    if (servers != 1) return 0;

    FUZZ_CHECK(fuzz::summarize(mapping::load_mounted_file(server)) == summary);

    std::size_t budget = fuzz::yaml_node_budget;
    if (const auto upper = fuzz::recase_keys(server, budget))
        FUZZ_CHECK(fuzz::summarize(mapping::load_mounted_file(*upper)) == summary);
    return 0;
}
