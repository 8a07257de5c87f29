#include "responses.hpp"

#include "common/strict_json.hpp"

#include <array>
#include <utility>

namespace stsauth::fakests {
namespace {

constexpr std::string_view sts_xmlns = "https://sts.amazonaws.com/doc/2011-06-15/";
constexpr std::string_view ec2_xmlns = "http://ec2.amazonaws.com/doc/2016-11-15/";

struct code_status {
    std::string_view code;
    int status;
};

// STS: https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html and observed
// answers (authentication failures are 403, Throttling 400).
constexpr std::array<code_status, 12> sts_statuses{{
    {"InvalidClientTokenId", 403},
    {"SignatureDoesNotMatch", 403},
    {"ExpiredToken", 403},
    {"MissingAuthenticationToken", 403},
    {"AccessDenied", 403},
    {"IncompleteSignature", 400},
    {"MalformedQueryString", 404},
    {"InvalidAction", 400},
    {"MissingAction", 400},
    {"Throttling", 400},
    {"ServiceUnavailable", 503},
    {"InternalFailure", 500},
}};

// EC2: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
constexpr std::array<code_status, 12> ec2_statuses{{
    {"AuthFailure", 401},
    {"MissingAuthenticationToken", 401},
    {"SignatureDoesNotMatch", 403},
    {"RequestExpired", 400},
    {"IncompleteSignature", 400},
    {"MalformedQueryString", 404},
    {"InvalidAction", 400},
    {"MissingAction", 400},
    {"RequestLimitExceeded", 503},
    {"Unavailable", 503},
    {"InternalError", 500},
    {"InvalidInstanceID.NotFound", 400},
}};

// `"name":"value"`, the value escaped as nlohmann's dump() would (json::append_escaped).
void append_member(std::string& out, std::string_view name, std::string_view value) {
    out += '"';
    out += name;
    out += "\":\"";
    json::append_escaped(out, value);
    out += '"';
}

}  // namespace

int status_of(api which, std::string_view code) {
    const auto& table = which == api::sts ? sts_statuses : ec2_statuses;
    for (const auto& e : table)
        if (e.code == code) return e.status;
    return 400;
}

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string sts_identity_json(const credential_entry& who, std::string_view request_id) {
    std::string out;
    append_sts_identity_json(out, who, request_id);
    return out;
}

void append_sts_identity_json(std::string& out, const credential_entry& who, std::string_view request_id) {
    out.reserve(out.size() + 160 + who.account.size() + who.arn.size() + who.user_id.size() + request_id.size());
    out += R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":{)";
    append_member(out, "Account", who.account);
    out += ',';
    append_member(out, "Arn", who.arn);
    out += ',';
    append_member(out, "UserId", who.user_id);
    out += R"(},"ResponseMetadata":{)";
    append_member(out, "RequestId", request_id);
    out += "}}}";
}

std::string sts_identity_xml(const credential_entry& who, std::string_view request_id) {
    std::string out = "<GetCallerIdentityResponse xmlns=\"" + std::string(sts_xmlns) + "\">\n";
    out += "  <GetCallerIdentityResult>\n";
    out += "    <Arn>" + xml_escape(who.arn) + "</Arn>\n";
    out += "    <UserId>" + xml_escape(who.user_id) + "</UserId>\n";
    out += "    <Account>" + xml_escape(who.account) + "</Account>\n";
    out += "  </GetCallerIdentityResult>\n";
    out += "  <ResponseMetadata>\n";
    out += "    <RequestId>" + xml_escape(request_id) + "</RequestId>\n";
    out += "  </ResponseMetadata>\n";
    out += "</GetCallerIdentityResponse>\n";
    return out;
}

std::string sts_error_json(std::string_view code, std::string_view message, int status, std::string_view request_id) {
    std::string out;
    out.reserve(64 + code.size() + message.size() + request_id.size());
    out += R"({"Error":{)";
    append_member(out, "Code", code);
    out += ',';
    append_member(out, "Message", message);
    out += ',';
    append_member(out, "Type", status >= 500 ? "Receiver" : "Sender");
    out += "},";
    append_member(out, "RequestId", request_id);
    out += '}';
    return out;
}

std::string sts_error_xml(std::string_view code, std::string_view message, int status, std::string_view request_id) {
    std::string out = "<ErrorResponse xmlns=\"" + std::string(sts_xmlns) + "\">\n";
    out += "  <Error>\n";
    out += std::string("    <Type>") + (status >= 500 ? "Receiver" : "Sender") + "</Type>\n";
    out += "    <Code>" + xml_escape(code) + "</Code>\n";
    out += "    <Message>" + xml_escape(message) + "</Message>\n";
    out += "  </Error>\n";
    out += "  <RequestId>" + xml_escape(request_id) + "</RequestId>\n";
    out += "</ErrorResponse>\n";
    return out;
}

std::string ec2_describe_instances_xml(const std::vector<const instance_entry*>& instances,
                                       std::string_view owner_account, std::string_view request_id) {
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<DescribeInstancesResponse xmlns=\"" + std::string(ec2_xmlns) + "\">\n";
    out += "    <requestId>" + xml_escape(request_id) + "</requestId>\n";
    out += "    <reservationSet>\n";
    std::size_t n = 0;
    for (const auto* inst : instances) {
        // A stable, made-up reservation id per instance position.
        char reservation[32];
        std::snprintf(reservation, sizeof reservation, "r-%017zx", ++n);
        out += "        <item>\n";
        out += std::string("            <reservationId>") + reservation + "</reservationId>\n";
        out += "            <ownerId>" + xml_escape(owner_account) + "</ownerId>\n";
        out += "            <groupSet/>\n";
        out += "            <instancesSet>\n";
        out += "                <item>\n";
        out += "                    <instanceId>" + xml_escape(inst->instance_id) + "</instanceId>\n";
        out += "                    <instanceState><code>16</code><name>running</name></instanceState>\n";
        out += "                    <privateDnsName>" + xml_escape(inst->private_dns_name) + "</privateDnsName>\n";
        out += "                </item>\n";
        out += "            </instancesSet>\n";
        out += "        </item>\n";
    }
    out += "    </reservationSet>\n";
    out += "</DescribeInstancesResponse>\n";
    return out;
}

std::string ec2_error_xml(std::string_view code, std::string_view message, std::string_view request_id) {
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += "<Response><Errors><Error><Code>" + xml_escape(code) + "</Code><Message>" + xml_escape(message) +
           "</Message></Error></Errors><RequestID>" + xml_escape(request_id) + "</RequestID></Response>";
    return out;
}

reply error_reply(api which, bool json, std::string code, std::string_view message, std::string_view request_id) {
    reply r;
    r.status = status_of(which, code);
    r.request_id = std::string(request_id);
    if (which == api::ec2) {
        r.content_type = "text/xml;charset=UTF-8";
        r.body = ec2_error_xml(code, message, request_id);
    } else if (json) {
        r.content_type = "application/json";
        r.body = sts_error_json(code, message, r.status, request_id);
    } else {
        r.content_type = "text/xml";
        r.body = sts_error_xml(code, message, r.status, request_id);
    }
    r.outcome = std::move(code);
    return r;
}

}  // namespace stsauth::fakests
