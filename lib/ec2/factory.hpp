#pragma once
/// \file
/// Composition of the EC2 resolver at start-up: region, credentials, HTTPS client, resolver.

#include "aws/environment.hpp"
#include "ec2/ec2_client.hpp"
#include "ec2/resolver.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace stsauth::ec2 {

struct ec2_settings {
    /// "" : AWS_REGION, AWS_DEFAULT_REGION, the profile's region, then the instance's region
    /// from IMDS, then us-east-1 (the reference: SDK region, else IMDS region).
    std::string region;
    std::string endpoint;          ///< "https://HOST[:PORT]"; "" for ec2.<region>.<domain>
    std::string sts_endpoint;      ///< AssumeRole's; "" for sts.<region>.<domain>
    std::string connect_override;  ///< "HOST:PORT", for EC2 and STS (tests, proxies)
    std::string ca_file;           ///< extra trust anchors, for EC2 and STS
    std::chrono::milliseconds call_timeout{4000};
    std::string role_arn;    ///< server.ec2DescribeInstancesRoleARN: sign with AssumeRole of it
    std::string source_arn;  ///< server.sourceARN (only used with role_arn)
    resolver_config resolver;
};

struct ec2_setup {
    std::unique_ptr<describe_instances_resolver> resolver;
    std::string region;
    /// "server config", "AWS_REGION", "instance metadata", "default (<why IMDS gave none>)", ...
    std::string region_source;
    std::string host;           ///< endpoint host
    std::string credentials;    ///< where the credentials come from (never the credentials)
};

/// Builds the resolver. May block at start-up for an IMDS region lookup (a few seconds at most).
/// Throws std::invalid_argument or std::runtime_error with a message naming the setting or the
/// source at fault (credentials: lib/aws's and IMDS's reasons, never a secret).
ec2_setup make_ec2_resolver(boost::asio::io_context& ioc, ec2_settings settings, const aws::environment& env);

}  // namespace stsauth::ec2
