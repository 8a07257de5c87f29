#pragma once
/// \file
/// Fault injection settings and request statistics of the fake STS. Both are plain values owned
/// by the server's single I/O thread; this file only models, validates and renders them.

#include "common/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>

namespace stsauth::fakests {

/// Body size of `--oversize-body` given without a value: one byte over stsauth's 64 KiB cap.
inline constexpr std::size_t default_oversize_bytes = 64 * 1024 + 1;

/// The faults applied to every STS/EC2 request (never to the /_faults and /_stats endpoints).
/// Rates are probabilities in [0, 1], drawn independently per request in this order: reset,
/// throttle, error; then a redirect if one is set. Latency delays every answer (a timer, other
/// requests proceed); slow_body trickles the body of every answer over that duration;
/// oversize_bytes pads every answer's body with trailing spaces (still valid JSON/XML) to that
/// size; xml answers STS in XML whatever the Accept header says. `body` (when not empty) replaces
/// the answer to every request the fake would have answered with success (the signature was
/// verified) by that text, as `application/json` with status `body_status`: malformed or oddly
/// shaped STS answers, identities with odd ARNs or user ids.
struct fault_settings {
    std::chrono::milliseconds latency{0};
    double throttle_rate = 0;
    double error_rate = 0;
    double reset_rate = 0;
    std::chrono::milliseconds slow_body{0};
    std::size_t oversize_bytes = 0;  ///< 0: off
    std::string redirect;            ///< Location of a 302; empty: off
    bool xml = false;
    std::string body;     ///< replacement body of successful answers; empty: off
    int body_status = 200;  ///< HTTP status sent with `body`
};

/// Rates within [0, 1], durations >= 0 and <= 10 minutes. Error code "bad_fault" naming the field.
status validate(const fault_settings& f);

/// Applies a JSON object to `f`: keys `latency_ms`, `throttle_rate`, `error_rate`, `reset_rate`,
/// `slow_body_ms` (numbers), `oversize_body` (bytes, or true for default_oversize_bytes, false
/// for off), `redirect` (string, "" off), `xml` (bool), `body` (string, "" off), `body_status`
/// (100-599), and `clear` (true: every fault off first). Keys not given keep their value. All or nothing: on error `f` is unchanged.
/// Error codes "bad_json", "bad_fault".
status apply_faults_json(fault_settings& f, std::string_view json);

/// The settings as a JSON object with the keys above.
std::string faults_json(const fault_settings& f);

/// The fault chosen for one request.
enum class injected_fault { none, reset, throttle, error, redirect };
injected_fault pick_fault(const fault_settings& f, std::mt19937_64& rng);

/// Counts of STS/EC2 requests: total, by action ("unknown" when none) and by outcome
/// ("success", an AWS error code, "reset", "redirect").
class request_stats {
public:
    void record(std::string_view action, std::string_view outcome);
    void reset();
    std::uint64_t total() const noexcept { return total_; }
    /// `{"total":N,"by_action":{...},"by_outcome":{...}}`
    std::string json() const;

private:
    std::uint64_t total_ = 0;
    std::map<std::string, std::uint64_t, std::less<>> by_action_;
    std::map<std::string, std::uint64_t, std::less<>> by_outcome_;
};

}  // namespace stsauth::fakests
