#pragma once
/// \file
/// EC2 DescribeInstances over the query protocol, the pure part: the signed request and the
/// parsing of EC2's XML answers. No clock (time is a parameter), no I/O.
///
/// API reference: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html
/// Errors: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html

#include "common/result.hpp"
#include "sigv4/sigv4.hpp"

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::ec2 {

inline constexpr std::string_view api_version = "2016-11-15";
inline constexpr std::string_view form_content_type = "application/x-www-form-urlencoded; charset=utf-8";
/// EC2 accepts at most 1000 ids per DescribeInstances call.
inline constexpr std::size_t max_ids_per_call = 1000;

/// True for an EC2 instance id: `i-` and 8 or 17 lower-case hex digits. Stricter than the
/// reference's template check (`^i-(\w{8}|\w{17})$`): anything else is an id EC2 would answer
/// InvalidInstanceID.Malformed for, so it is refused without a call.
bool is_instance_id(std::string_view id) noexcept;

/// The regional endpoint host: `<service>.<region>.<partition DNS suffix>` (amazonaws.com,
/// amazonaws.com.cn, c2s.ic.gov, ...; the partition is the one whose region pattern matches,
/// `aws` when none does). Empty when `region` is not a valid region name.
std::string default_endpoint_host(std::string_view region, std::string_view service = "ec2");

/// `Action=DescribeInstances&Version=2016-11-15&InstanceId.1=<id>&...` (values URI-encoded).
std::string describe_instances_body(std::span<const std::string> instance_ids);

/// A request ready for the wire.
struct http_request {
    std::string method = "POST";
    std::string target = "/";
    std::vector<sigv4::header_field> headers;  ///< Host first; includes Authorization (a secret: never log)
    std::string body;
};

struct request_params {
    std::string host;    ///< Host header (with ":port" when not 443)
    std::string region;  ///< signing region
    std::chrono::system_clock::time_point now;
    std::string user_agent;  ///< sent, not signed; empty: no header
};

/// The signed DescribeInstances request: POST / with the form body, `Content-Type:
/// application/x-www-form-urlencoded; charset=utf-8`, SigV4 header-signed for service `ec2`
/// (signed: host, content-type, x-amz-date, and x-amz-security-token for temporary credentials);
/// `Content-Length` and `User-Agent` are added after signing. Errors: "bad_instance_id" (an id
/// that is_instance_id() refuses), "bad_request" (no ids, more than max_ids_per_call, empty host
/// or region).
result<http_request> build_describe_instances(std::span<const std::string> instance_ids,
                                              const sigv4::credentials& creds, const request_params& params);

/// One instance of a DescribeInstances answer.
struct instance_info {
    std::string instance_id;
    std::string private_dns_name;  ///< as EC2 sent it; may be empty (eventual consistency)
    friend bool operator==(const instance_info&, const instance_info&) = default;
};

/// Parses a 200 answer: `DescribeInstancesResponse/reservationSet/item/instancesSet/item/
/// {instanceId, privateDnsName}` (only those exact paths: the private DNS names of network
/// interfaces deeper in an instance are not the instance's). Error "ec2_bad_response" for
/// malformed XML, another root element, an instance without exactly one instanceId, or more than
/// one privateDnsName; "ec2_response_too_large" beyond `max_bytes`.
result<std::vector<instance_info>> parse_describe_instances(std::string_view body,
                                                            std::size_t max_bytes = 16 * 1024 * 1024);

/// An EC2 error answer, `<Response><Errors><Error><Code/><Message/></Error></Errors>...`.
struct aws_error {
    std::string code;     ///< e.g. "InvalidInstanceID.NotFound"
    std::string message;  ///< EC2's text (names instance ids, never credentials)
};
/// Parses an error body (the first Error). Error "ec2_bad_response" when it is not that shape.
result<aws_error> parse_error_response(std::string_view body);

/// Our error codes for a failed call (what the resolver's callers see, and log).
namespace errc {
inline constexpr std::string_view instance_not_found = "ec2_instance_not_found";    ///< InvalidInstanceID.NotFound, or absent from the answer
inline constexpr std::string_view malformed_instance_id = "ec2_malformed_instance_id";  ///< InvalidInstanceID.Malformed or refused locally
inline constexpr std::string_view empty_dns_name = "ec2_empty_dns_name";            ///< the instance has no private DNS name (yet)
inline constexpr std::string_view bad_dns_name = "ec2_bad_dns_name";                ///< not a DNS name
inline constexpr std::string_view throttled = "ec2_throttled";                      ///< RequestLimitExceeded
inline constexpr std::string_view auth_failure = "ec2_auth_failure";                ///< AuthFailure, UnauthorizedOperation, ...
inline constexpr std::string_view unavailable = "ec2_unavailable";                  ///< 5xx, transport failure, timeout of the call
inline constexpr std::string_view error = "ec2_error";                              ///< any other EC2 error
inline constexpr std::string_view bad_response = "ec2_bad_response";                ///< an answer we cannot read
inline constexpr std::string_view credentials = "ec2_credentials";                  ///< no credentials to sign with
inline constexpr std::string_view timeout = "ec2_timeout";                          ///< the lookup's deadline passed
inline constexpr std::string_view overloaded = "ec2_overloaded";                    ///< too many lookups pending
inline constexpr std::string_view shutdown = "ec2_shutdown";                        ///< the resolver is being destroyed
}  // namespace errc

/// Turns an HTTP answer into instances or one of the errc codes; the message carries EC2's code
/// and message (e.g. "InvalidInstanceID.NotFound: The instance ID 'i-…' does not exist").
/// Redirects are not followed: a 3xx is "ec2_bad_response".
result<std::vector<instance_info>> interpret_response(unsigned http_status, std::string_view body,
                                                      std::size_t max_bytes = 16 * 1024 * 1024);

/// True for the codes of InvalidInstanceID.* errors, after which a batch is retried per id.
bool is_invalid_instance_id(std::string_view code) noexcept;

/// The instance ids (is_instance_id) named in an EC2 error message, in order, without duplicates.
std::vector<std::string> instance_ids_in_message(std::string_view message);

/// A usable private DNS name: 1..253 bytes of letters, digits, '-' and '.', no empty label.
bool is_dns_name(std::string_view name) noexcept;

}  // namespace stsauth::ec2
