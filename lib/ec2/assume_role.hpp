#pragma once
/// \file
/// `server.ec2DescribeInstancesRoleARN` (SPEC-reference §9): DescribeInstances is signed with
/// the credentials of sts:AssumeRole of that role (60 minutes), obtained with the server's own
/// credentials and cached until shortly before they expire. With `server.sourceARN`, the
/// AssumeRole request carries `x-amz-source-account` and `x-amz-source-arn` (confused-deputy
/// protection), signed. API: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
///
/// Unlike the reference, the `--ec2-describeInstances-qps/-burst` limiter is not applied to
/// AssumeRole (one call an hour) but to DescribeInstances itself (the resolver).

#include "common/result.hpp"
#include "ec2/credentials.hpp"
#include "ec2/describe_instances.hpp"
#include "ec2/ec2_client.hpp"
#include "sigv4/sigv4.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace stsauth::ec2 {

inline constexpr std::string_view sts_api_version = "2011-06-15";

// ---- pure ------------------------------------------------------------------------------------

/// `arn:<partition>:iam::<12 digits>:role/<path/>name`. Error "bad_role_arn".
status check_role_arn(std::string_view arn);
/// The account of `source_arn` (an ARN with a 12-digit account). Error "bad_source_arn".
result<std::string> source_account(std::string_view source_arn);
/// "stsauth-<unix time in ns>", like the Go SDK's "aws-go-sdk-<unix time in ns>".
std::string default_session_name(std::chrono::system_clock::time_point now);

struct assume_role_params {
    std::string role_arn;
    std::string session_name;
    std::chrono::seconds duration{3600};
    std::string source_arn;  ///< "" for none
    std::string host;        ///< Host header
    std::string region;      ///< signing region
    std::chrono::system_clock::time_point now;
    std::string user_agent;  ///< sent, not signed; empty: no header
};

/// POST / with `Action=AssumeRole&Version=2011-06-15&RoleArn=..&RoleSessionName=..&DurationSeconds=..`,
/// SigV4 header-signed for service `sts` with `base`. Errors: "bad_role_arn", "bad_source_arn",
/// "bad_request" (empty host/region, session name not 2..64 of [\w+=,.@-], duration not 900..43200).
result<http_request> build_assume_role(const assume_role_params& params, const sigv4::credentials& base);

/// 200: `AssumeRoleResponse/AssumeRoleResult/Credentials/{AccessKeyId, SecretAccessKey,
/// SessionToken, Expiration}`. Otherwise STS's `ErrorResponse/Error/{Code, Message}`. Errors:
/// "assume_role_denied" (4xx from STS, its code and message in ours), "assume_role_unavailable"
/// (5xx, Throttling), "assume_role_bad_response" (never quoting the body: it holds a secret).
result<timed_credentials> interpret_assume_role_response(unsigned http_status, std::string_view body);

// ---- source ------------------------------------------------------------------------------------

struct assume_role_config {
    std::string role_arn;
    std::string source_arn;  ///< "" for none
    std::string region;      ///< STS regional endpoint and signing region
    std::string endpoint;    ///< "" for https://sts.<region>.<domain>, else "https://HOST[:PORT]"
    std::string connect_override;
    std::string ca_file;
    std::chrono::seconds duration{3600};
    std::chrono::milliseconds timeout{4000};
    std::chrono::seconds refresh_before{std::chrono::minutes(5)};
    std::string user_agent = default_user_agent();
};

namespace detail {
struct assume_role_state;
class cached_credentials;
}

/// Credentials of sts:AssumeRole, cached like imds_credentials_source (answered at once while
/// valid, refreshed in the background within `refresh_before` of Expiration, kept while a refresh
/// fails). Errors: the base source's, or those of interpret_assume_role_response /
/// "assume_role_unavailable" for a transport failure.
class assume_role_credentials_source final : public credentials_source {
public:
    using clock_fn = std::function<std::chrono::system_clock::time_point()>;
    /// Throws std::invalid_argument naming `server.ec2DescribeInstancesRoleARN`,
    /// `server.sourceARN` or the endpoint for a bad config; std::runtime_error for a bad CA file.
    assume_role_credentials_source(boost::asio::io_context& ioc, assume_role_config config,
                                   std::shared_ptr<credentials_source> base,
                                   clock_fn clock = [] { return std::chrono::system_clock::now(); });
    ~assume_role_credentials_source() override;
    assume_role_credentials_source(const assume_role_credentials_source&) = delete;
    assume_role_credentials_source& operator=(const assume_role_credentials_source&) = delete;

    void get(callback cb) override;
    std::string describe() const override;

private:
    std::shared_ptr<detail::assume_role_state> state_;
    std::shared_ptr<detail::cached_credentials> cache_;
};

}  // namespace stsauth::ec2
