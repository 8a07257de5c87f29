#pragma once
/// \file
/// The load harness's own HTTPS/1.1 client, for what wrk cannot do: an open-loop fixed-rate mode
/// (latency measured from each request's scheduled time, so a slow server cannot hide its
/// queueing: no coordinated omission), a fixed request count (callgrind runs), N simultaneous
/// requests on N connections (in-flight sharing) and a probe that waits for an answer to change
/// (reload timing). Keep-alive TLS connections, all opened and handshaken before the clock
/// starts. Loopback only: the target must be an IP literal on 127.0.0.0/8 or ::1.
///
/// The bodies it sends are tokens; they are never printed.

#include "common/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace stsauth::load {

/// What one request carries.
enum class request_kind {
    review,  ///< POST `path` with a TokenReview of the next token
    get,     ///< GET `path` (no token): the /healthz baseline
    sts,     ///< GET the token's presigned URL, as stsauth forwards it to STS (host header, x-k8s-aws-id)
    body,    ///< POST `path` with the next line of the tokens file as the JSON body (e.g. SubjectAccessReviews)
};

enum class run_mode {
    closed,  ///< each connection sends its next request as soon as it has the answer (max throughput)
    rate,    ///< open loop: request i is due at start + i / rate, sent on an idle connection or queued
    burst,   ///< one request per connection, all written at once, then wait for every answer
    probe,   ///< one connection; repeat a request every `probe_interval` until the body contains `probe_until`
};

struct run_options {
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;
    std::string server_name = "localhost";  ///< SNI and the name the certificate must match
    std::string ca_file;                    ///< PEM trusted for the server; required
    request_kind kind = request_kind::review;
    std::string path = "/authenticate";
    std::string cluster_id;                 ///< x-k8s-aws-id for request_kind::sts
    std::vector<std::string> tokens;        ///< used in order; wrapped around when exhausted
    run_mode mode = run_mode::closed;
    std::size_t connections = 16;
    double rate = 0;                        ///< requests per second (rate mode)
    /// Rate mode: the shortest sleep between two timer wakeups (requests falling due meanwhile go
    /// out at the next wakeup, an answer's included; their lag counts in the latency).
    std::chrono::microseconds tick{100};
    std::chrono::milliseconds duration{5000};
    std::uint64_t max_requests = 0;         ///< 0: no limit (closed and rate modes stop at whichever comes first)
    std::chrono::milliseconds request_timeout{10'000};
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds probe_interval{5};
    std::string probe_until;
};

/// The rate mode's open-loop schedule: request i is due `i / rate` seconds after the start, and
/// the client's timer sleeps at least `tick` between two wakeups (requests falling due meanwhile
/// go out together at the next wakeup, or earlier when an answer wakes the client; their lag
/// counts in their latency).
struct rate_clock {
    using duration = std::chrono::steady_clock::duration;
    double rate = 1;                ///< requests per second, > 0
    std::uint64_t total = 0;        ///< requests in the run
    std::chrono::microseconds tick{0};

    /// When request i is due, from the start.
    duration due_at(std::uint64_t i) const;
    /// How many requests are due `elapsed` after the start (request 0 is due at once), ≤ total.
    std::uint64_t due_by(duration elapsed) const;
    /// When a wakeup at `now` with `scheduled` requests released so far should sleep until.
    duration next_wake(std::uint64_t scheduled, duration now) const;
};

struct run_report {
    std::uint64_t sent = 0;
    std::uint64_t completed = 0;       ///< answers received (any status)
    std::uint64_t token_wraps = 0;     ///< times the token list was started again
    std::map<std::string, std::uint64_t> errors;    ///< connect, handshake, write, read, timeout, protocol
    std::map<unsigned, std::uint64_t> statuses;
    std::uint64_t authenticated = 0;   ///< 200 with "authenticated":true
    std::uint64_t denied = 0;          ///< "authenticated":false
    std::map<std::string, std::uint64_t> denied_reasons;  ///< status.error of denied answers
    std::uint64_t other = 0;           ///< answers that are neither
    double elapsed_s = 0;              ///< first send to last answer (or deadline)
    double send_spread_ms = 0;         ///< burst: first to last request written
    std::vector<std::uint32_t> latencies_us;  ///< one per completed request, sorted: answer - scheduled time
    /// The two parts of each latency, sorted: the client's own delay (write started - scheduled
    /// time: waiting for an idle connection, or a late client) and the server's share as the
    /// client sees it (answer - write started: network, TLS, the server's queue and work).
    std::vector<std::uint32_t> send_lag_us, service_us;
    std::size_t max_queued = 0;        ///< rate mode: most requests ever waiting for a connection
    double cpu_s = 0;                  ///< the client's own CPU time (user + system) from the first send to the end
    double runq_s = 0;                 ///< the same span's wait for a CPU while runnable (schedstat)
    bool probe_matched = false;

    std::uint64_t error_count() const;
    /// Nearest-rank percentile in milliseconds (p in [0, 100]); 0 without samples.
    double percentile_ms(double p) const;
    /// The same over any sorted sample vector (microseconds in, milliseconds out).
    static double percentile_ms(const std::vector<std::uint32_t>& sorted_us, double p);
    double rps() const { return elapsed_s > 0 ? static_cast<double>(completed) / elapsed_s : 0; }
};

/// Runs one load. Fails before sending anything when the options are unusable (no CA, not a
/// loopback address, no tokens for a token kind) or when not every connection could be opened.
result<run_report> run_load(const run_options& options);

/// `key=value` lines (sorted percentiles, counters), the format scripts/bench.sh reads.
std::string format_report(const run_report& report);

}  // namespace stsauth::load
