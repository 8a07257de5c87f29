#include "ec2/ec2_client.hpp"

#include "ec2/transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <stdexcept>
#include <utility>

#ifndef STSAUTH_VERSION
#define STSAUTH_VERSION "0.0.0"
#endif

namespace stsauth::ec2 {

std::string default_user_agent() { return "stsauth/" STSAUTH_VERSION; }

struct detail::https_ec2_client_state {
    boost::asio::io_context& ioc;
    https_ec2_client_config config;
    std::shared_ptr<credentials_source> credentials;
    https_ec2_client::clock_fn clock;
    std::shared_ptr<tls_client_context> tls;
    https_endpoint endpoint;
};

namespace {

error transport_error(const error& e) {
    if (e.code == "body_too_large") {
        return make_error(std::string(errc::bad_response), "DescribeInstances answer too large: " + e.message);
    }
    return make_error(std::string(errc::unavailable), "EC2 DescribeInstances call failed: " + e.code + ": " + e.message);
}

}  // namespace

https_ec2_client::https_ec2_client(boost::asio::io_context& ioc, https_ec2_client_config config,
                                   std::shared_ptr<credentials_source> credentials, clock_fn clock)
    : state_(std::make_shared<detail::https_ec2_client_state>(detail::https_ec2_client_state{ioc, std::move(config), std::move(credentials), std::move(clock), nullptr, {}})) {
    auto& s = *state_;
    if (!s.credentials) throw std::invalid_argument("EC2 client: no credentials source");
    if (s.config.region.empty()) throw std::invalid_argument("EC2 region: empty");
    if (s.config.timeout.count() <= 0) throw std::invalid_argument("EC2 timeout: must be positive");
    if (s.config.max_body_bytes == 0) throw std::invalid_argument("EC2 max body bytes: must be at least 1");
    const auto default_host = default_endpoint_host(s.config.region);
    if (default_host.empty()) throw std::invalid_argument("EC2 region: \"" + s.config.region + "\" is not a valid region name");
    s.endpoint = make_https_endpoint("EC2 endpoint", s.config.endpoint, default_host, s.config.connect_override);
    s.tls = std::make_shared<tls_client_context>(s.config.ca_file);
}

https_ec2_client::~https_ec2_client() = default;

const std::string& https_ec2_client::host() const noexcept { return state_->endpoint.target.host; }

void https_ec2_client::describe_instances(std::vector<std::string> ids, callback cb) {
    auto st = state_;
    // Credential sources may answer before returning: hop to the io_context so that `cb` never
    // runs inside this call.
    st->credentials->get([st, ids = std::move(ids), cb = std::move(cb)](result<sigv4::credentials> creds) mutable {
        boost::asio::post(st->ioc, [st, ids = std::move(ids), cb = std::move(cb), creds = std::move(creds)]() mutable {
            if (!creds) {
                return cb(make_error(std::string(errc::credentials),
                                     "no credentials to sign DescribeInstances: " + creds.err().message));
            }
            request_params params{st->endpoint.host_header, st->config.region, st->clock(), st->config.user_agent};
            auto req = build_describe_instances(ids, *creds, params);
            if (!req) return cb(req.err());
            const http_limits limits{st->config.timeout, st->config.max_body_bytes};
            async_http_exchange(st->ioc, st->tls, st->endpoint.target, std::move(*req), limits,
                                [st, cb = std::move(cb)](result<http_response> r) {
                                    if (!r) return cb(transport_error(r.err()));
                                    cb(interpret_response(r->status, r->body, st->config.max_body_bytes));
                                });
        });
    });
}

}  // namespace stsauth::ec2
