#include "faults.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>

namespace stsauth::fakests {
namespace {

using namespace std::chrono;

error bad_fault(std::string message) { return make_error("bad_fault", std::move(message)); }

bool is_rate(double r) { return std::isfinite(r) && r >= 0.0 && r <= 1.0; }

constexpr milliseconds max_delay = minutes(10);

result<milliseconds> read_ms(const nlohmann::json& v, const char* key) {
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > static_cast<double>(max_delay.count()))
        return bad_fault(std::string(key) + " must be a number of milliseconds in [0, 600000]");
    return milliseconds(static_cast<std::int64_t>(v.get<double>()));
}

result<double> read_rate(const nlohmann::json& v, const char* key) {
    if (!v.is_number() || !is_rate(v.get<double>())) return bad_fault(std::string(key) + " must be a number in [0, 1]");
    return v.get<double>();
}

}  // namespace

status validate(const fault_settings& f) {
    if (!is_rate(f.throttle_rate)) return bad_fault("throttle rate must be in [0, 1]");
    if (!is_rate(f.error_rate)) return bad_fault("error rate must be in [0, 1]");
    if (!is_rate(f.reset_rate)) return bad_fault("reset rate must be in [0, 1]");
    if (f.latency < milliseconds(0) || f.latency > max_delay) return bad_fault("latency must be in [0, 600000] ms");
    if (f.slow_body < milliseconds(0) || f.slow_body > max_delay) return bad_fault("slow body must be in [0, 600000] ms");
    if (f.body_status < 100 || f.body_status > 599) return bad_fault("body status must be in [100, 599]");
    if (f.body.size() > 64u * 1024 * 1024) return bad_fault("body must be at most 64 MiB");
    return ok_status();
}

status apply_faults_json(fault_settings& f, std::string_view json) {
    const auto doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return make_error("bad_json", "body must be one JSON object");
    fault_settings next = f;
    if (auto it = doc.find("clear"); it != doc.end()) {
        if (!it->is_boolean()) return bad_fault("clear must be a boolean");
        if (it->get<bool>()) next = fault_settings{};
    }
    for (const auto& [key, v] : doc.items()) {
        if (key == "clear") continue;
        if (key == "latency_ms" || key == "slow_body_ms") {
            auto ms = read_ms(v, key.c_str());
            if (!ms.ok()) return ms.err();
            (key == "latency_ms" ? next.latency : next.slow_body) = *ms;
        } else if (key == "throttle_rate" || key == "error_rate" || key == "reset_rate") {
            auto rate = read_rate(v, key.c_str());
            if (!rate.ok()) return rate.err();
            (key == "throttle_rate" ? next.throttle_rate : key == "error_rate" ? next.error_rate : next.reset_rate) = *rate;
        } else if (key == "oversize_body") {
            if (v.is_boolean()) {
                next.oversize_bytes = v.get<bool>() ? default_oversize_bytes : 0;
            } else if (v.is_number_unsigned() && v.get<std::uint64_t>() <= 64u * 1024 * 1024) {
                next.oversize_bytes = static_cast<std::size_t>(v.get<std::uint64_t>());
            } else {
                return bad_fault("oversize_body must be a boolean or a byte count up to 64 MiB");
            }
        } else if (key == "redirect") {
            if (!v.is_string()) return bad_fault("redirect must be a string (empty: off)");
            next.redirect = v.get<std::string>();
        } else if (key == "xml") {
            if (!v.is_boolean()) return bad_fault("xml must be a boolean");
            next.xml = v.get<bool>();
        } else if (key == "body") {
            if (!v.is_string()) return bad_fault("body must be a string (empty: off)");
            next.body = v.get<std::string>();
        } else if (key == "body_status") {
            if (!v.is_number_integer() || v.get<std::int64_t>() < 100 || v.get<std::int64_t>() > 599)
                return bad_fault("body_status must be an HTTP status in [100, 599]");
            next.body_status = static_cast<int>(v.get<std::int64_t>());
        } else {
            return bad_fault("unknown fault '" + key + "'");
        }
    }
    if (auto st = validate(next); !st.ok()) return st;
    f = std::move(next);
    return ok_status();
}

std::string faults_json(const fault_settings& f) {
    nlohmann::ordered_json doc;
    doc["latency_ms"] = f.latency.count();
    doc["throttle_rate"] = f.throttle_rate;
    doc["error_rate"] = f.error_rate;
    doc["reset_rate"] = f.reset_rate;
    doc["slow_body_ms"] = f.slow_body.count();
    doc["oversize_body"] = f.oversize_bytes;
    doc["redirect"] = f.redirect;
    doc["xml"] = f.xml;
    doc["body"] = f.body;
    doc["body_status"] = f.body_status;
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

injected_fault pick_fault(const fault_settings& f, std::mt19937_64& rng) {
    // A rate of 1 always fires and 0 never does, whatever the draw.
    auto fires = [&](double rate) {
        const double draw = std::generate_canonical<double, 53>(rng);
        return rate >= 1.0 || draw < rate;
    };
    if (fires(f.reset_rate)) return injected_fault::reset;
    if (fires(f.throttle_rate)) return injected_fault::throttle;
    if (fires(f.error_rate)) return injected_fault::error;
    if (!f.redirect.empty()) return injected_fault::redirect;
    return injected_fault::none;
}

void request_stats::record(std::string_view action, std::string_view outcome) {
    ++total_;
    auto bump = [](auto& map, std::string_view key) {
        auto it = map.find(key);
        if (it == map.end()) it = map.emplace(std::string(key), 0).first;
        ++it->second;
    };
    bump(by_action_, action.empty() ? std::string_view("unknown") : action);
    bump(by_outcome_, outcome);
}

void request_stats::reset() {
    total_ = 0;
    by_action_.clear();
    by_outcome_.clear();
}

std::string request_stats::json() const {
    nlohmann::ordered_json doc;
    doc["total"] = total_;
    doc["by_action"] = nlohmann::json::object();
    for (const auto& [k, v] : by_action_) doc["by_action"][k] = v;
    doc["by_outcome"] = nlohmann::json::object();
    for (const auto& [k, v] : by_outcome_) doc["by_outcome"][k] = v;
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace stsauth::fakests
