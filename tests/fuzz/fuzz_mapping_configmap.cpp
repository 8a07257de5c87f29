// Fuzz target: the EKSConfigMap mapping source (lib/mapping/sources: load_configmap_manifest,
// load_configmap_data).
//
// Input: read twice, as an aws-auth ConfigMap manifest and as the content of one data value
// (mapRoles, mapUsers or mapAccounts) of a mounted ConfigMap volume.
//
// Properties:
//   - errors carry a documented code (bad_configmap only for the manifest shape); a stream that
//     is not exactly one YAML document is bad_configmap;
//   - the manifest and the volume agree: the data values of a well-formed manifest, loaded with
//     load_configmap_data, summarise as the manifest does; and a manifest written around the
//     input as its mapRoles value loads as the input as a mapRoles file does;
//   - data keys are case-sensitive and other keys ignored: `maproles` or `..data` holding the
//     input load as an empty ConfigMap;
//   - entry keys are case-insensitive: the value with every key upper-cased loads the same.

#include "fuzz_support.hpp"
#include "mapping/sources.hpp"
#include "mapping_summary.hpp"
#include "yaml_tools.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

using namespace stsauth;

namespace {

constexpr std::array<std::string_view, 3> data_keys = {"mapRoles", "mapUsers", "mapAccounts"};

// How many YAML documents the text holds, counted with yaml-cpp's event parser and given up at
// `limit`. The oracle never calls YAML::LoadAll: yaml-cpp 0.7's LoadAll does not return on a stray
// top-level ',' (it yields empty documents forever), so it cannot say whether a stream is one
// document. A text that fails to parse counts as no well-formed manifest (nullopt).
class ignore_events final : public YAML::EventHandler {
public:
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

std::optional<std::size_t> document_count(std::string_view text, std::size_t limit) {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    ignore_events events;
    std::size_t documents = 0;
    try {
        while (documents < limit && parser.HandleNextDocument(events)) ++documents;
    } catch (const YAML::Exception&) {
        return std::nullopt;
    }
    return documents;
}

// The data values of a manifest as the volume would hold them, when the manifest is well formed.
std::optional<std::map<std::string, std::string>> manifest_data(std::string_view text) {
    // Exactly one document (a stray ',' after it makes a second, empty one), read with Load.
    if (document_count(text, 2) != std::optional<std::size_t>(1)) return std::nullopt;
    try {
        const YAML::Node root = YAML::Load(std::string(text));
        if (!root.IsMap()) return std::nullopt;
        const YAML::Node kind = root["kind"];
        if (!kind.IsScalar() || kind.Scalar() != "ConfigMap") return std::nullopt;
        std::map<std::string, std::string> out;
        std::set<std::string> seen;
        const YAML::Node data = root["data"];
        if (!data.IsDefined() || data.IsNull()) return out;
        if (!data.IsMap()) return std::nullopt;
        for (auto it = data.begin(); it != data.end(); ++it) {
            if (!it->first.IsScalar()) continue;
            const std::string& key = it->first.Scalar();
            if (std::find(data_keys.begin(), data_keys.end(), key) == data_keys.end()) continue;  // ignored by both
            if (!seen.insert(key).second) return std::nullopt;  // repeated: which one wins is yaml-cpp's choice
            if (it->second.IsNull()) continue;
            if (!it->second.IsScalar()) return std::nullopt;
            out[key] = it->second.Scalar();
        }
        return out;
    } catch (const YAML::Exception&) {
        return std::nullopt;
    }
}

// Part B §5.2: values the source skips as empty (restated from lib/mapping/sources.hpp).
bool skippable(std::string_view value) {
    constexpr std::string_view space = " \t\r\n\v\f";
    const auto first = value.find_first_not_of(space);
    if (first == std::string_view::npos) return true;
    const auto trimmed = value.substr(first, value.find_last_not_of(space) - first + 1);
    return trimmed == "``" || trimmed == "\"\"" || trimmed == "''";
}

std::optional<std::string> manifest_around(std::string_view value) {
    YAML::Node m(YAML::NodeType::Map);
    m["apiVersion"] = "v1";
    m["kind"] = "ConfigMap";
    m["metadata"]["name"] = "aws-auth";
    m["metadata"]["namespace"] = "kube-system";
    m["data"]["mapRoles"] = std::string(value);
    return fuzz::emit_faithfully(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);

    const auto manifest = mapping::load_configmap_manifest(text);
    if (!manifest)
        FUZZ_CHECK(manifest.code() == "bad_yaml" || manifest.code() == "invalid_mapping" ||
                   manifest.code() == "bad_configmap");
    // Empty streams and streams of several documents (`a: 1\n---\n`, a stray top-level ',') are
    // refused as a whole, never read as their first document.
    if (const auto documents = document_count(text, 2); documents && *documents != 1)
        FUZZ_CHECK(!manifest && manifest.code() == "bad_configmap");
    const auto manifest_summary = fuzz::summarize(manifest);
    if (const auto values = manifest_data(text))
        FUZZ_CHECK(fuzz::summarize(mapping::load_configmap_data(*values)) == manifest_summary);

    const auto empty = fuzz::summarize(mapping::load_configmap_data({}));
    FUZZ_CHECK(empty.ok && empty.roles + empty.sso + empty.users + empty.accounts == 0);
    FUZZ_CHECK(fuzz::summarize(mapping::load_configmap_data({{"maproles", std::string(text)}})) == empty);
    FUZZ_CHECK(fuzz::summarize(mapping::load_configmap_data({{"..data", std::string(text)}})) == empty);

    std::optional<fuzz::mapping_summary> roles_summary;
    for (const auto key : data_keys) {
        const auto loaded = mapping::load_configmap_data({{std::string(key), std::string(text)}});
        if (!loaded) FUZZ_CHECK(loaded.code() == "bad_yaml" || loaded.code() == "invalid_mapping");
        auto summary = fuzz::summarize(loaded);
        if (key == "mapRoles") roles_summary = std::move(summary);
    }

    if (const auto around = manifest_around(text))
        FUZZ_CHECK(fuzz::summarize(mapping::load_configmap_manifest(*around)) == *roles_summary);

    if (skippable(text)) return 0;
    try {
        const YAML::Node value = YAML::Load(std::string(text));
        // Only lists have keys to re-case; a scalar's emitted form could turn into a skipped
        // value (`''1` reads as "" and is written back as `""`), which is a different document.
        if (!value.IsSequence()) return 0;
        std::size_t budget = fuzz::yaml_node_budget;
        if (const auto upper = fuzz::recase_keys(value, budget)) {
            if (const auto upper_text = fuzz::emit_faithfully(*upper)) {
                const auto reloaded = mapping::load_configmap_data({{"mapRoles", *upper_text}});
                FUZZ_CHECK(fuzz::summarize(reloaded) == *roles_summary);
            }
        }
    } catch (const YAML::Exception&) {
        FUZZ_CHECK(!roles_summary->ok && roles_summary->code == "bad_yaml");
    }
    return 0;
}
