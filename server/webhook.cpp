#include "webhook.hpp"

#include "tokenreview/tokenreview.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace stsauth::server {
namespace {

using clock = std::chrono::steady_clock;

constexpr std::string_view json_type = "application/json";

http::response json_response(unsigned status, std::string body) {
    http::response r;
    r.status = status;
    r.content_type = std::string(json_type);
    r.body = std::move(body);
    return r;
}

double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }

double seconds_since(clock::time_point t) { return seconds(clock::now() - t); }

/// Appends `d` in milliseconds with three decimals (`66.300`), rounded to the microsecond: in
/// integers, which costs a tenth of formatting a double, on a line written for every review.
void append_ms(fmt::memory_buffer& line, clock::duration d) {
    const auto us = std::chrono::round<std::chrono::microseconds>(d).count();
    const auto whole = fmt::format_int(us / 1000);
    const auto frac = static_cast<unsigned>(us % 1000);
    line.append(whole.data(), whole.data() + whole.size());
    const char digits[4] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
                            static_cast<char>('0' + frac % 10)};
    line.append(digits, digits + 4);
}

std::string_view verdict_name(authn::verdict v) {
    switch (v) {
        case authn::verdict::authenticated: return "authenticated";
        case authn::verdict::denied: return "denied";
        case authn::verdict::throttled: return "sts_throttled";
        case authn::verdict::unavailable: return "sts_unavailable";
    }
    return "unknown";
}

/// The review's log line: `review outcome=… reason=… arn=… username=… groups=[a,b] backend=…
/// sts_region=… cache_hit=true|false latency_ms=1.234[ sts_ms=0.987][ detail=…]`, sts_ms when
/// the review asked STS (its share of latency_ms). Put together by appending:
/// it is written for every review, and parsing a ten-field format string each time cost more
/// than the rest of the line.
void log_review(spdlog::level::level_enum level, const authn::decision& d, bool scrubbed, clock::duration latency) {
    fmt::memory_buffer line;
    auto put = [&line](std::string_view s) { line.append(s.data(), s.data() + s.size()); };
    put("review outcome=");
    put(verdict_name(d.kind));
    put(" reason=");
    put(d.reason);
    put(" arn=");
    if (d.identity && !scrubbed) put(d.identity->arn);
    put(" username=");
    if (!scrubbed) put(d.username);
    put(" groups=[");
    for (std::size_t i = 0; i < d.groups.size(); ++i) {
        if (i > 0) put(",");
        put(d.groups[i]);
    }
    put("] backend=");
    put(d.backend);
    put(" sts_region=");
    put(d.sts_region);
    put(d.cache_hit ? " cache_hit=true" : " cache_hit=false");
    put(" latency_ms=");
    append_ms(line, latency);
    if (d.sts) {
        put(" sts_ms=");
        append_ms(line, d.sts->elapsed);
    }
    if (!d.detail.empty()) {
        put(" detail=");
        put(d.detail);
    }
    spdlog::default_logger_raw()->log(level, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace

webhook::webhook(authn::authenticator& auth, metrics::registry& registry, metrics::reference_metrics& ref,
                 metrics::stsauth_metrics& own, webhook_options options, ready_fn ready)
    : auth_(auth), registry_(registry), ref_(ref), own_(own), options_(std::move(options)), ready_(std::move(ready)) {}

void webhook::handle(http::request&& req, http::responder respond) {
    const auto path = req.path();
    if (path == "/authenticate") return authenticate(std::move(req), std::move(respond));
    if (path == "/healthz" || path == "/livez") return respond(http::text_response(200, "ok"));
    if (path == "/readyz") return respond(readyz());
    if (path == "/metrics") return respond(metrics_page());
    respond(http::text_response(404, "404 page not found\n"));  // Go http.NotFound: http.Error adds '\n'
}

void webhook::handle_health(http::request&& req, http::responder respond) {
    const auto path = req.path();
    if (path == "/readyz") return respond(readyz());
    if (path == "/metrics") return respond(metrics_page());
    respond(http::text_response(200, "ok"));
}

http::response webhook::readyz() const {
    if (draining_.load()) return http::text_response(503, "draining");
    if (!ready_()) return http::text_response(503, "mappings not loaded yet");
    return http::text_response(200, "ok");
}

http::response webhook::metrics_page() const {
    const auto cache = auth_.cache_statistics();
    own_.cache_entries.set(static_cast<double>(cache.entries));
    {
        std::lock_guard lock(scrape_mu_);
        if (cache.evictions > evictions_seen_) own_.cache_evictions.inc(cache.evictions - evictions_seen_);
        evictions_seen_ = cache.evictions;
    }
    http::response r;
    r.content_type = std::string(metrics::exposition_content_type);
    r.body = registry_.expose();
    return r;
}

void webhook::malformed(http::responder& respond, unsigned status, std::string_view text, clock::time_point started) {
    ref_.authenticate_latency.with({metrics::result_label::malformed_request}).observe(seconds_since(started));
    respond(http::text_response(status, std::string(text) + '\n'));  // as Go's http.Error (SPEC-reference §1.7)
}

void webhook::authenticate(http::request&& req, http::responder respond) {
    const auto started = clock::now();
    if (req.method != "POST") return malformed(respond, 405, "expected POST", started);
    if (req.body.empty()) return malformed(respond, 400, "expected a request body", started);
    auto review = tokenreview::decode(req.body);
    if (!review) {
        spdlog::warn("malformed TokenReview from {}: {}", req.remote, review.err().code);
        return malformed(respond, 400, "expected a request body to be a TokenReview: " + review.err().code, started);
    }

    own_.reviews_in_flight.inc();
    const auto version = review->version;
    auth_.authenticate(review->token.reveal(), [this, version, started, respond = std::move(respond)](
                                                   authn::decision d) {
        own_.reviews_in_flight.dec();
        if (d.cache_hit) own_.cache_hits.inc();
        else if (d.sts) own_.cache_misses.inc();  // a miss is exactly a review that asked STS

        // The reference's STS metrics, labelled by the token's STS region.
        if (d.sts) {
            if (d.sts->http_status == 0) ref_.sts_connection_failures.with({d.sts_region}).inc();
            else ref_.sts_responses.with({std::to_string(d.sts->http_status), d.sts_region}).inc();
            if (d.sts->kind == sts::outcome_kind::throttled) ref_.sts_throttling.with({d.sts_region}).inc();
        }
        const bool scrubbed = d.identity && options_.scrubbed_accounts.contains(d.identity->account_id);

        http::response r;
        if (d.kind == authn::verdict::authenticated) {
            const auto& id = *d.identity;
            r = json_response(200, tokenreview::encode_authenticated(
                                       version,
                                       {id.arn, id.canonical_arn, id.account_id, id.user_id, id.session_name,
                                        id.access_key_id},
                                       d.username, d.groups, scrubbed));
        } else {
            unsigned status = 200;
            if (d.kind == authn::verdict::denied && options_.legacy_deny_status) status = 403;
            if (d.kind == authn::verdict::throttled) status = 429;
            if (d.kind == authn::verdict::unavailable) status = 503;
            r = json_response(status, tokenreview::encode_denied(version, d.reason));
            if (status == 503) r.headers.emplace_back("Retry-After", "1");
            own_.denials.with({d.reason}).inc();
        }

        const auto latency = clock::now() - started;
        ref_.authenticate_latency.with({d.metric_result}).observe(seconds(latency));

        // One line per review (A8). Never the token; the ARN only for accounts not scrubbed.
        const auto level = d.kind == authn::verdict::authenticated ? spdlog::level::info : spdlog::level::warn;
        if (spdlog::should_log(level)) log_review(level, d, scrubbed, latency);
        respond(std::move(r));
    });
}

}  // namespace stsauth::server
