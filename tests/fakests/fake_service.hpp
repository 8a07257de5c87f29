#pragma once
/// \file
/// The fake's request handling from a received HTTP request to a reply, without I/O: classify
/// the request (STS or EC2, action, JSON or XML), verify its SigV4 signature, run the action
/// (STS GetCallerIdentity, EC2 DescribeInstances) and render AWS's answer. Fault replies
/// (throttling, unavailability, redirect) are built here too, in the same shapes.

#include "aws_request.hpp"
#include "fake_config.hpp"
#include "responses.hpp"
#include "sigv4_verifier.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace stsauth::fakests {

/// What a request is, decided before (and independently of) its signature.
struct request_class {
    api which = api::sts;
    std::string action;  ///< the Action parameter (query, or form body of a POST); "" if none
    bool json = false;   ///< STS only: answer JSON (Accept: application/json and no XML override)
    std::string access_key_id;  ///< from X-Amz-Credential or the Authorization header, for logs
};

/// EC2 when the Host is an `ec2.<region>...` name, or, for a Host that is no AWS name, when the
/// action is DescribeInstances or the credential scope names `ec2`; STS otherwise.
/// A request that did not parse is STS, without action, answered in XML.
request_class classify(const result<parsed_request>& parsed, bool force_xml);
/// classify(parse_request(in), force_xml).
request_class classify(const http_request_in& in, bool force_xml);
/// The same for a request that parsed, into `out` (a server re-uses one per connection: its
/// strings keep their capacity).
void classify(const parsed_request& req, bool force_xml, request_class& out);

/// Verifies and answers one AWS API request, parsed and classified once by the caller (a
/// request that did not parse is answered MalformedQueryString). `now` is the fake's clock;
/// `keys`, when given, remembers derived signing keys between requests (verify_options::keys).
reply answer_aws_request(const result<parsed_request>& parsed, const request_class& cls, const fake_config& config,
                         std::chrono::system_clock::time_point now, std::string_view request_id,
                         signing_key_cache* keys = nullptr);

/// The same for a request that parsed, into `out` (re-used like classify's; every field is set).
void answer_aws_request(reply& out, const parsed_request& req, const request_class& cls, const fake_config& config,
                        std::chrono::system_clock::time_point now, std::string_view request_id,
                        signing_key_cache* keys = nullptr);

/// Parses, classifies, verifies and answers one AWS API request (see the file comment).
reply handle_aws_request(const http_request_in& in, const fake_config& config,
                         std::chrono::system_clock::time_point now, std::string_view request_id, bool force_xml,
                         signing_key_cache* keys = nullptr);

/// STS `Throttling` (400, "Rate exceeded") or EC2 `RequestLimitExceeded` (503).
reply throttle_reply(const request_class& cls, std::string_view request_id);
/// STS `ServiceUnavailable` (503) or EC2 `Unavailable` (503).
reply unavailable_reply(const request_class& cls, std::string_view request_id);
/// 302 Found to `location`, empty body.
reply redirect_reply(const request_class& cls, std::string location, std::string_view request_id);

}  // namespace stsauth::fakests
