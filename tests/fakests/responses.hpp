#pragma once
/// \file
/// Response bodies shaped exactly like STS's and EC2's (query-protocol XML, STS's JSON when the
/// client sends `Accept: application/json`), and the HTTP status of each AWS error code.
/// Pure: the request id is a parameter.

#include "fake_config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace stsauth::fakests {

/// Which AWS API a request is for; decides the error shape and some codes.
enum class api { sts, ec2 };

/// A response ready to be serialised (the server adds Content-Length, Date, Connection).
struct reply {
    int status = 200;
    std::string_view content_type;  ///< always a string literal
    std::string body;
    std::string location;    ///< set for redirects
    std::string request_id;
    std::string action;      ///< for statistics; "" when unknown
    std::string outcome;     ///< "success" or the AWS error code, for statistics and logs
};

/// HTTP status AWS sends with an error code (STS: 403 for authentication failures, Throttling 400;
/// EC2: AuthFailure 401, RequestLimitExceeded 503). Unknown codes: 400.
int status_of(api which, std::string_view code);

/// `{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account","Arn","UserId"},
/// "ResponseMetadata":{"RequestId"}}}`, keys in STS's order.
std::string sts_identity_json(const credential_entry& who, std::string_view request_id);
/// The same, appended to `out`.
void append_sts_identity_json(std::string& out, const credential_entry& who, std::string_view request_id);
/// The same in STS's XML (`xmlns="https://sts.amazonaws.com/doc/2011-06-15/"`).
std::string sts_identity_xml(const credential_entry& who, std::string_view request_id);
/// `{"Error":{"Code","Message","Type"},"RequestId"}`; Type is "Receiver" for 5xx, else "Sender".
std::string sts_error_json(std::string_view code, std::string_view message, int status, std::string_view request_id);
/// `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
std::string sts_error_xml(std::string_view code, std::string_view message, int status, std::string_view request_id);

/// DescribeInstancesResponse with one reservation per instance, owned by `owner_account`.
std::string ec2_describe_instances_xml(const std::vector<const instance_entry*>& instances,
                                       std::string_view owner_account, std::string_view request_id);
/// `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`.
std::string ec2_error_xml(std::string_view code, std::string_view message, std::string_view request_id);

/// XML escaping of element text (&, <, >; quotes stay as AWS writes them).
std::string xml_escape(std::string_view text);

/// An error reply in the shape of `which` (STS JSON when `json`, else XML).
reply error_reply(api which, bool json, std::string code, std::string_view message, std::string_view request_id);

}  // namespace stsauth::fakests
