#pragma once
/// \file
/// The EC2 DescribeInstances client: the `ec2_api` interface the resolver calls, and
/// `https_ec2_client`, its implementation over HTTPS (one connection per call; calls are rare:
/// batched, cached and rate-limited by the resolver).

#include "common/result.hpp"
#include "ec2/credentials.hpp"
#include "ec2/describe_instances.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace stsauth::ec2 {

/// DescribeInstances for a list of instance ids.
class ec2_api {
public:
    using callback = std::function<void(result<std::vector<instance_info>>)>;
    virtual ~ec2_api() = default;
    /// `ids`: 1..1000 instance ids. `cb` is called exactly once, never before this returns.
    /// Errors: the errc codes of describe_instances.hpp.
    virtual void describe_instances(std::vector<std::string> ids, callback cb) = 0;

protected:
    ec2_api() = default;
    ec2_api(const ec2_api&) = default;
    ec2_api& operator=(const ec2_api&) = default;
};

namespace detail {
struct https_ec2_client_state;
}

/// "stsauth/<project version>".
std::string default_user_agent();

struct https_ec2_client_config {
    std::string region;  ///< signing region, and the default endpoint's
    /// "" for `https://ec2.<region>.<partition domain>`, else "https://HOST[:PORT]" (an
    /// `ec2Endpoint`-style override, e.g. a VPC endpoint); the host is the TLS name and the Host.
    std::string endpoint;
    /// "HOST:PORT" to connect to instead of resolving the endpoint's host (tests, proxies); SNI,
    /// certificate check and Host stay the endpoint's host.
    std::string connect_override;
    std::string ca_file;  ///< extra PEM trust anchors, on top of the system store
    std::chrono::milliseconds timeout{4000};  ///< one call, every phase
    std::size_t max_body_bytes = 16 * 1024 * 1024;
    std::string user_agent = default_user_agent();
};

/// DescribeInstances over HTTPS (POST, form body, SigV4 header signing for service `ec2`).
/// Transport failures and timeouts are errc::unavailable; credential failures
/// errc::credentials; an answer above `max_body_bytes` errc::bad_response.
class https_ec2_client final : public ec2_api {
public:
    using clock_fn = std::function<std::chrono::system_clock::time_point()>;
    /// Throws std::invalid_argument for an invalid config (naming the setting) and
    /// std::runtime_error when `ca_file` cannot be loaded: start-up only.
    https_ec2_client(boost::asio::io_context& ioc, https_ec2_client_config config,
                     std::shared_ptr<credentials_source> credentials,
                     clock_fn clock = [] { return std::chrono::system_clock::now(); });
    ~https_ec2_client() override;
    https_ec2_client(const https_ec2_client&) = delete;
    https_ec2_client& operator=(const https_ec2_client&) = delete;

    void describe_instances(std::vector<std::string> ids, callback cb) override;

    /// The endpoint host calls go to (for the start-up log).
    const std::string& host() const noexcept;

private:
    std::shared_ptr<detail::https_ec2_client_state> state_;
};

}  // namespace stsauth::ec2
