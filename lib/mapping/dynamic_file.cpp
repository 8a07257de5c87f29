#include "mapping/dynamic_file.hpp"

#include "common/encoding.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <cstdint>

namespace stsauth::mapping {
namespace {

using json = nlohmann::json;

std::string_view type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::object: return "an object";
        case json::value_t::array: return "an array";
        case json::value_t::string: return "a string";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::null: return "null";
        case json::value_t::binary: return "binary";
        case json::value_t::discarded: return "nothing";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float: return "a number";
    }
    return "a value";
}

error wrong_type(std::string_view label, std::string_view expected, const json& v) {
    return make_error("invalid_mapping", fmt::format("{}: expected {}, found {}", label, expected, type_name(v)));
}

// Members of `obj` whose key equals one of `names` ignoring case (nullptr when absent).
// Values are moved out of the DOM (it is thrown away afterwards).
template <std::size_t N>
result<std::array<json*, N>> pick(json& obj, std::string_view label, const std::array<std::string_view, N>& names) {
    std::array<json*, N> found{};
    for (const auto& [key, value] : obj.items()) {
        for (std::size_t i = 0; i < N; ++i) {
            if (!encoding::iequals(key, names[i])) continue;
            if (found[i] != nullptr) {
                return make_error("invalid_mapping",
                                  fmt::format("{}.{}: key appears more than once (keys are case-insensitive)", label, names[i]));
            }
            found[i] = &value;
        }
    }
    return found;
}

status get_string(json* v, std::string_view label, std::string& out) {
    if (v == nullptr || v->is_null()) return ok_status();
    if (!v->is_string()) return wrong_type(label, "a string", *v);
    out = std::move(v->get_ref<std::string&>());
    return ok_status();
}

status get_strings(json* v, std::string_view label, std::vector<std::string>& out) {
    if (v == nullptr || v->is_null()) return ok_status();
    if (!v->is_array()) return wrong_type(label, "an array of strings", *v);
    out.reserve(v->size());
    for (std::size_t i = 0; i < v->size(); ++i) {
        std::string s;
        if (auto st = get_string(&(*v)[i], fmt::format("{}[{}]", label, i), s); !st) return st;
        out.push_back(std::move(s));
    }
    return ok_status();
}

template <class M, class Fill>
status get_entries(json* v, std::string_view key, std::vector<M>& out, Fill&& fill) {
    if (v == nullptr || v->is_null()) return ok_status();
    if (!v->is_array()) return wrong_type(key, "an array", *v);
    out.reserve(v->size());
    for (std::size_t i = 0; i < v->size(); ++i) {
        const auto label = fmt::format("{}[{}]", key, i);
        json& item = (*v)[i];
        if (!item.is_object()) return wrong_type(label, "an object", item);
        M m;
        if (auto st = fill(item, label, m); !st) return st;
        out.push_back(std::move(m));
    }
    return ok_status();
}

}  // namespace

result<loaded_dynamic_file> load_dynamic_file(std::string_view json_text, bool user_id_strict) {
    json root;
    try {
        root = json::parse(json_text);
    } catch (const json::parse_error& e) {
        // e.what() quotes the text around the error; only the offset is reported.
        return make_error("bad_json", fmt::format("DynamicFile is not valid JSON (syntax error at byte {})", e.byte));
    } catch (const json::exception&) {
        // e.g. a number beyond double's range (out_of_range 406), found by fuzzing.
        return make_error("bad_json", "DynamicFile is not valid JSON (a value is out of range)");
    }
    if (!root.is_object()) return make_error("bad_json", "DynamicFile: expected a JSON object");
    auto top = pick<5>(root, "DynamicFile", {"Version", "LastUpdatedDateTime", "mapRoles", "mapUsers", "mapAccounts"});
    if (!top) return top.err();
    loaded_dynamic_file out;
    if (auto st = get_string((*top)[0], "Version", out.version); !st) return st.err();
    if (auto st = get_string((*top)[1], "LastUpdatedDateTime", out.last_updated_date_time); !st) return st.err();

    mapping_document doc;
    auto roles = get_entries((*top)[2], "mapRoles", doc.roles, [](json& item, const std::string& label, role_mapping& m) {
        auto f = pick<4>(item, label, {"rolearn", "username", "groups", "userid"});
        if (!f) return status(f.err());
        if (auto st = get_string((*f)[0], label + ".rolearn", m.rolearn); !st) return st;
        if (auto st = get_string((*f)[1], label + ".username", m.username); !st) return st;
        if (auto st = get_strings((*f)[2], label + ".groups", m.groups); !st) return st;
        return get_string((*f)[3], label + ".userid", m.userid);
    });
    if (!roles) return roles.err();
    auto users = get_entries((*top)[3], "mapUsers", doc.users, [](json& item, const std::string& label, user_mapping& m) {
        auto f = pick<4>(item, label, {"userarn", "username", "groups", "userid"});
        if (!f) return status(f.err());
        if (auto st = get_string((*f)[0], label + ".userarn", m.userarn); !st) return st;
        if (auto st = get_string((*f)[1], label + ".username", m.username); !st) return st;
        if (auto st = get_strings((*f)[2], label + ".groups", m.groups); !st) return st;
        return get_string((*f)[3], label + ".userid", m.userid);
    });
    if (!users) return users.err();
    if (auto st = get_strings((*top)[4], "mapAccounts", doc.accounts); !st) return st.err();

    auto loaded = compile(std::move(doc), compile_options{source_kind::dynamic_file, user_id_strict});
    if (!loaded) return loaded.err();
    out.loaded = std::move(*loaded);
    return out;
}

result<backend_mode_file> load_backend_mode_file(std::string_view json_text) {
    json root;
    try {
        root = json::parse(json_text);
    } catch (const json::parse_error& e) {
        return make_error("bad_json",
                          fmt::format("backend-mode file is not valid JSON (syntax error at byte {})", e.byte));
    } catch (const json::exception&) {
        return make_error("bad_json", "backend-mode file is not valid JSON (a value is out of range)");
    }
    if (!root.is_object()) return make_error("bad_json", "backend-mode file: expected a JSON object");
    auto top = pick<3>(root, "backend-mode file", {"Version", "LastUpdatedDateTime", "backendMode"});
    if (!top) return top.err();
    backend_mode_file out;
    std::string modes;
    if (auto st = get_string((*top)[0], "Version", out.version); !st) return st.err();
    if (auto st = get_string((*top)[1], "LastUpdatedDateTime", out.last_updated_date_time); !st) return st.err();
    if (auto st = get_string((*top)[2], "backendMode", modes); !st) return st.err();
    std::size_t pos = 0;
    while (pos < modes.size()) {
        const auto end = modes.find(' ', pos);
        const auto item = modes.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        if (!item.empty()) out.modes.push_back(item);
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return out;
}

result<double> e2e_latency_seconds(std::string_view last_updated_date_time,
                                   std::chrono::system_clock::time_point now) {
    std::int64_t seconds = 0;
    const auto* first = last_updated_date_time.data();
    const auto* last = first + last_updated_date_time.size();
    const auto [ptr, ec] = std::from_chars(first, last, seconds);
    if (last_updated_date_time.empty() || ec != std::errc() || ptr != last || seconds < 0)
        return make_error("bad_timestamp", "LastUpdatedDateTime is not a unix time in seconds");
    const auto now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
    const auto latency = now_s - static_cast<double>(seconds);
    if (latency < 0)
        return make_error("future_timestamp",
                          fmt::format("LastUpdatedDateTime is {:.0f} s in the future", -latency));
    return latency;
}

}  // namespace stsauth::mapping
