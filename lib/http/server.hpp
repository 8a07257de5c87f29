#pragma once
/// \file
/// The async HTTP/1.1 server (HTTPS main listener and the plain health listener are the same
/// code): one session per connection on its own strand, strict request framing (A11), limits
/// and deadlines (A1 `server.limits`), keep-alive, graceful drain (A7).
///
/// Usage:
/// ```
/// boost::asio::io_context ioc;
/// http::server srv(ioc, {.address = "127.0.0.1", .port = 21362, .tls = holder}, handler);
/// if (auto s = srv.start(); !s) ...;          // binds and starts accepting
/// // N threads run ioc.run()  (or: http::io_pool pool(n); http::server srv(pool, ...); pool.run())
/// srv.drain();                                // SIGTERM: stop accepting, close idle conns
/// srv.wait_drained(grace);                    // from a non-io thread (or async_wait_drained)
/// srv.stop();                                 // close whatever is left
/// ```

#include "common/result.hpp"
#include "http/message.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace stsauth::http {

class tls_context_holder;
class io_pool;

/// Per-connection limits (A1 `server.limits`, A11).
struct limits {
    std::size_t max_body_bytes = 65536;    ///< larger declared body: 413 at once; larger chunked body: 413
    std::size_t max_header_bytes = 8192;   ///< request line + fields + empty line; over: 414 / 431
    std::size_t max_connections = 4096;    ///< further connections are closed at accept
    /// Whole-request deadline from its first byte (headers and body), also the TLS handshake
    /// deadline and the wait for the first request of a new connection.
    std::chrono::milliseconds read_timeout{10'000};
    std::chrono::milliseconds idle_timeout{90'000};   ///< keep-alive wait for the next request
    std::chrono::milliseconds write_timeout{10'000};  ///< writing one response (or 100 Continue)
    /// Closing a connection: TLS close_notify exchange, or (plain) the bounded read of what the
    /// peer still sends after our FIN, so an early error answer is not lost to a reset.
    std::chrono::milliseconds linger_timeout{2'000};
    /// TLS handshakes in progress at once (from the ClientHello's first bytes to the end of the
    /// handshake). A handshake holds ~25 KiB until it ends (OpenSSL's 16 KiB message buffer, key
    /// shares, transcript): 1,000 connections opened at once would hold ~25 MiB together.
    /// Further connections wait, holding nothing but their socket, until one ends.
    std::size_t max_handshakes = 64;
    /// When no handshake has ended or started for this long while connections wait (peers that
    /// stall mid-handshake hold every slot), the waiting connections go ahead anyway: a few
    /// stalled peers can delay new connections by this much, never block them.
    std::chrono::milliseconds handshake_stall{100};
};

struct server_config {
    /// IP literal or host name (resolved once at start()); empty: all interfaces
    /// ("::" dual-stack, or 0.0.0.0 without IPv6), as the reference's health listener.
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;  ///< 0: an ephemeral port, see server::port()
    /// TLS contexts for new connections; null: plain HTTP (the health listener).
    std::shared_ptr<const tls_context_holder> tls;
    struct limits limits;
    std::string name = "http";  ///< for logs ("main", "health")
};

/// Counters for metrics and tests; monotonic except connections and in_flight.
struct server_stats {
    std::size_t connections = 0;           ///< open now
    std::size_t in_flight = 0;             ///< requests handed to the handler, response not yet written
    std::uint64_t accepted = 0;            ///< connections accepted and served
    std::uint64_t rejected_connections = 0;  ///< closed at accept (max_connections, draining)
    std::uint64_t tls_handshake_failures = 0;
    std::uint64_t timeouts = 0;            ///< connections closed by a read/idle/write deadline
    std::uint64_t bad_requests = 0;        ///< rejected by the server itself (4xx/5xx before the handler)
    std::uint64_t requests = 0;            ///< handed to the handler
    std::size_t handshakes_in_progress = 0;  ///< TLS handshakes holding a slot now
    std::uint64_t handshakes_queued = 0;   ///< TLS handshakes that waited for a slot (max_handshakes)
    std::uint64_t handshake_stall_releases = 0;  ///< waiting handshakes let through by handshake_stall
};

/// All member functions are thread-safe. Destroy the server before its io_context.
class server {
public:
    /// `handler` is called on the connection's strand for each valid request.
    server(boost::asio::io_context& ioc, server_config config, handler handler);
    /// Connections are spread round-robin over the pool's contexts and stay on theirs (no strand:
    /// each context has one thread); the listener, its timers and drain waiters use context 0.
    /// `handler` is called on the connection's context thread.
    server(io_pool& pool, server_config config, handler handler);
    /// Stops (as stop()). Sessions still running keep the shared state alive until they end.
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds, listens and starts accepting. Error code: "listen_failed" (address and reason).
    status start();
    /// The bound port (useful with port 0); 0 before start().
    std::uint16_t port() const noexcept;

    /// Closes the listening socket; connections already accepted continue. Thread-safe.
    void stop_accepting();
    /// stop_accepting(), then: connections idle in keep-alive (or not yet sending) are closed,
    /// requests being read or handled complete and are answered with `Connection: close`.
    void drain();
    bool draining() const noexcept;

    /// Blocks until no request is in flight or `timeout` passes; true when drained. Must not be
    /// called from a thread that runs the io_context's handlers.
    bool wait_drained(std::chrono::steady_clock::duration timeout);
    /// Calls `done(drained)` once (on the io_context) when in-flight reaches zero or `timeout`
    /// passes.
    void async_wait_drained(std::chrono::steady_clock::duration timeout, std::function<void(bool)> done);

    /// Closes the listener and every connection now (after drain, for what is left).
    void stop();

    server_stats stats() const;

    struct state;  ///< implementation, shared with the sessions

private:
    std::shared_ptr<state> state_;
};

}  // namespace stsauth::http
