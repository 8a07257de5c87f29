// Fuzz target: the DynamicFile mapping source (lib/mapping/dynamic_file: load_dynamic_file), with
// and without dynamicfileUserIDStrict.
//
// Input: the JSON file EKS access entries are written to.
//
// Properties:
//   - errors carry a documented code: bad_json exactly when the text is not one JSON object,
//     invalid_mapping otherwise;
//   - only the JSON value matters, not its spelling: the canonical re-encoding (nlohmann dump,
//     escapes and white space normalised) loads to the same summary, Version and
//     LastUpdatedDateTime;
//   - keys are case-insensitive: the same value with every object key upper-cased loads the same.

#include "fuzz_support.hpp"
#include "mapping/dynamic_file.hpp"
#include "mapping_summary.hpp"
#include "yaml_tools.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

using namespace stsauth;
using json = nlohmann::json;

namespace {

struct dynamic_summary {
    fuzz::mapping_summary mappings;
    std::string version;
    std::string last_updated;
    friend bool operator==(const dynamic_summary&, const dynamic_summary&) = default;
};

dynamic_summary summarize(const result<mapping::loaded_dynamic_file>& r) {
    dynamic_summary s;
    if (!r) {
        s.mappings = fuzz::summarize(result<mapping::loaded_mappings>(r.err()));
        return s;
    }
    s.mappings = fuzz::summarize(result<mapping::loaded_mappings>(r->loaded));
    s.version = r->version;
    s.last_updated = r->last_updated_date_time;
    return s;
}

// Every object key upper-cased, at every level; nullopt when two keys would collide (the
// original is then refused for a repeated key, the copy would silently merge them).
std::optional<json> recase(const json& j) {
    if (j.is_array()) {
        json out = json::array();
        for (const auto& item : j) {
            auto c = recase(item);
            if (!c) return std::nullopt;
            out.push_back(std::move(*c));
        }
        return out;
    }
    if (!j.is_object()) return j;
    json out = json::object();
    for (const auto& [key, value] : j.items()) {
        auto upper = fuzz::ascii_upper(key);
        if (out.contains(upper)) return std::nullopt;
        auto c = recase(value);
        if (!c) return std::nullopt;
        out[upper] = std::move(*c);
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    const json doc = json::parse(text, nullptr, false);
    for (const bool strict : {false, true}) {
        const auto loaded = mapping::load_dynamic_file(text, strict);
        if (doc.is_discarded() || !doc.is_object()) {
            FUZZ_CHECK(!loaded.ok() && loaded.code() == "bad_json");
            continue;
        }
        FUZZ_CHECK(loaded.ok() || loaded.code() == "invalid_mapping");
        if (loaded) FUZZ_CHECK(loaded->loaded.mappings.user_id_strict() == strict);
        const auto summary = summarize(loaded);

        FUZZ_CHECK(summarize(mapping::load_dynamic_file(doc.dump(), strict)) == summary);
        if (const auto upper = recase(doc)) FUZZ_CHECK(summarize(mapping::load_dynamic_file(upper->dump(), strict)) == summary);
    }
    return 0;
}
