#pragma once
/// \file
/// The HTTP face of `stsauth server`: routes (A7), TokenReview in and out (A4), one log line and
/// the reference metrics per review (A8). No Beast here: it works on http::request/response.

#include "authn/authenticator.hpp"
#include "http/message.hpp"
#include "metrics/metrics.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_set>

namespace stsauth::server {

struct webhook_options {
    bool legacy_deny_status = false;  ///< deny with 403 like the reference
    std::unordered_set<std::string> scrubbed_accounts;
};

class webhook {
public:
    using ready_fn = std::function<bool()>;

    webhook(authn::authenticator& auth, metrics::registry& registry, metrics::reference_metrics& ref,
            metrics::stsauth_metrics& own, webhook_options options, ready_fn ready);

    /// The main (TLS) listener's handler.
    void handle(http::request&& req, http::responder respond);
    /// The plain health listener's handler: /readyz and /metrics as on the main port; every
    /// other path answers `ok`, as the reference's health port does.
    void handle_health(http::request&& req, http::responder respond);

    /// After SIGTERM: /readyz answers 503.
    void set_draining() noexcept { draining_.store(true); }

private:
    void authenticate(http::request&& req, http::responder respond);
    http::response readyz() const;
    http::response metrics_page() const;
    void malformed(http::responder& respond, unsigned status, std::string_view text,
                   std::chrono::steady_clock::time_point started);

    authn::authenticator& auth_;
    metrics::registry& registry_;
    metrics::reference_metrics& ref_;
    metrics::stsauth_metrics& own_;
    webhook_options options_;
    ready_fn ready_;
    std::atomic<bool> draining_{false};
    mutable std::mutex scrape_mu_;
    mutable std::uint64_t evictions_seen_ = 0;
};

}  // namespace stsauth::server
