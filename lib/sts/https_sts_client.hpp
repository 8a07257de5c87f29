#pragma once
/// \file
/// https_sts_client: the production sts_client over Boost.Beast + Asio SSL (SPEC-decisions A3).
/// Beast and Asio stay in the .cpp; this header only forward-declares io_context.

#include "sts/sts_client.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}
namespace stsauth::http {
class io_pool;
}

namespace stsauth::sts {

namespace detail {
class https_sts_client_impl;
}

/// "stsauth/<project version>".
std::string default_user_agent();

/// `server.sts.*` (SPEC-decisions A1). Validated by the https_sts_client constructor.
struct https_sts_client_config {
    /// Whole exchange, per attempt (resolve, connect, handshake, write, read). The first attempt's
    /// clock starts when the call is submitted, so it includes any wait for a free connection (as
    /// Go's Client.Timeout does); the one retry of a failed pooled connection gets its own.
    std::chrono::milliseconds timeout{10'000};
    /// "HOST:PORT" ("[v6]:PORT" for IPv6) to open every connection to instead of resolving the
    /// token's host. SNI, the certificate name check and the Host header stay the token's host.
    std::string connect_override;
    /// Extra PEM CA bundle, trusted in addition to the system store.
    std::string ca_file;
    /// Open connections per STS host; calls beyond it queue (FIFO).
    std::size_t max_connections_per_host = 1024;
    /// Response body limit; a larger body is a bad_response ("sts_body_too_large").
    std::size_t max_body_bytes = 65536;
    std::string user_agent = default_user_agent();
    /// Ours: an idle pooled connection is closed after this long (Go's transport uses 90 s; STS
    /// front ends drop idle connections sooner, and reusing a dropped one costs a retry).
    std::chrono::milliseconds idle_timeout{45'000};
};

/// Counters and gauges for metrics (a consistent snapshot).
struct sts_client_stats {
    std::size_t open_connections = 0;  ///< connections open or being opened, all hosts
    std::size_t idle_connections = 0;  ///< of which idle in the pool
    std::size_t in_flight = 0;         ///< upstream calls not finished (running or queued)
    std::size_t queued = 0;            ///< of which waiting for a connection
    std::uint64_t requests_sent = 0;       ///< HTTP requests written (retries included)
    std::uint64_t connections_opened = 0;  ///< TCP connections established
    std::uint64_t retries = 0;             ///< retries of a failed pooled connection
    std::uint64_t shared_calls = 0;        ///< calls answered by another call's request
};

/// GetCallerIdentity over HTTPS:
/// - `GET <target>` with `Host: <host>`, `x-k8s-aws-id`, `Accept: application/json`,
///   `User-Agent`; HTTP/1.1 keep-alive; redirects never followed;
/// - TLS 1.2+, peer verified against the system store plus `ca_file`, SNI and host-name check
///   against the request's host (also with `connect_override`);
/// - per-host keep-alive pool bounded by `max_connections_per_host`, FIFO queue beyond it; a
///   pooled connection that fails before any response byte (and not by timeout) is retried once
///   on a fresh connection, nothing else is retried;
/// - one deadline per attempt covering every phase; body capped at `max_body_bytes`; a 1xx
///   answer is a bad_response and its connection is not reused;
/// - concurrent calls with the same (dedupe_key, cluster_id) share one upstream request.
/// Thread-safe; all I/O and callbacks run on the io_context (or the io_pool's contexts) given at
/// construction. Destroying the client closes idle connections and fails queued calls
/// ("sts_shutdown"); calls already on the wire finish (bounded by `timeout`) and then close. The
/// io_context must outlive the client's pending work.
class https_sts_client final : public sts_client {
public:
    /// Throws std::invalid_argument for an invalid config (naming the `server.sts.*` key) and
    /// std::runtime_error when `ca_file` cannot be loaded: start-up only.
    https_sts_client(boost::asio::io_context& ioc, https_sts_client_config config);
    /// One lane per pool context, each with its share of `max_connections_per_host` (never
    /// fewer than one connection a lane: with fewer connections than contexts, fewer lanes). A
    /// call made on a pool thread uses that thread's lane, so its exchange and its callback stay
    /// on that thread; a call from any other thread takes the lanes in turn. Concurrent calls
    /// for the same token still share one request, whichever lanes they come from.
    https_sts_client(stsauth::http::io_pool& pool, https_sts_client_config config);
    ~https_sts_client() override;
    https_sts_client(const https_sts_client&) = delete;
    https_sts_client& operator=(const https_sts_client&) = delete;

    void get_caller_identity(sts_request request, callback cb) override;

    sts_client_stats stats() const;

private:
    std::shared_ptr<detail::https_sts_client_impl> impl_;
};

}  // namespace stsauth::sts
