#include "ec2/describe_instances.hpp"

#include "common/encoding.hpp"
#include "crypto/crypto.hpp"
#include "ec2/xml.hpp"
#include "token/sts_hosts.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace stsauth::ec2 {
namespace {

bool is_lower_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/// EC2's text, made safe for a log line: printable ASCII only, bounded.
std::string sanitize(std::string_view text, std::size_t max = 512) {
    std::string out;
    for (char c : text.substr(0, max)) out += (c >= ' ' && c <= '~') ? c : '?';
    if (text.size() > max) out += "...";
    return out;
}

error bad_response(std::string why) { return make_error(std::string(errc::bad_response), std::move(why)); }

// ---- DescribeInstancesResponse ---------------------------------------------------------------

class instances_handler final : public xml::handler {
public:
    std::vector<instance_info> instances;

    status on_start(std::span<const std::string_view> path) override {
        if (path.size() == 1 && path[0] != "DescribeInstancesResponse") {
            return bad_response("unexpected root element in the DescribeInstances answer");
        }
        if (is_instance_item(path)) {
            current_.emplace();
            ids_ = 0;
            names_ = 0;
        }
        return ok_status();
    }

    status on_end(std::span<const std::string_view> path, std::string_view text) override {
        if (path.size() == 6 && is_instance_item(path.first(5))) {
            if (path[5] == "instanceId") {
                ++ids_;
                current_->instance_id = std::string(text);
            } else if (path[5] == "privateDnsName") {
                ++names_;
                current_->private_dns_name = std::string(text);
            }
        } else if (is_instance_item(path)) {
            if (ids_ != 1 || current_->instance_id.empty()) {
                return bad_response("an instance in the DescribeInstances answer has no (or several) instanceId");
            }
            if (names_ > 1) return bad_response("an instance in the DescribeInstances answer has several privateDnsName");
            instances.push_back(std::move(*current_));
            current_.reset();
        }
        return ok_status();
    }

private:
    static bool is_instance_item(std::span<const std::string_view> p) noexcept {
        static constexpr std::array<std::string_view, 5> want{"DescribeInstancesResponse", "reservationSet", "item",
                                                              "instancesSet", "item"};
        return p.size() == want.size() && std::equal(p.begin(), p.end(), want.begin());
    }

    std::optional<instance_info> current_;
    int ids_ = 0;
    int names_ = 0;
};

// ---- <Response><Errors><Error> -----------------------------------------------------------------

class error_handler final : public xml::handler {
public:
    std::optional<aws_error> first;

    status on_start(std::span<const std::string_view> path) override {
        if (path.size() == 1 && path[0] != "Response") return bad_response("not an EC2 error answer");
        if (is_error(path)) {
            ++errors_;
            if (errors_ == 1) current_.emplace();
        }
        return ok_status();
    }

    status on_end(std::span<const std::string_view> path, std::string_view text) override {
        if (errors_ == 1 && path.size() == 4 && is_error(path.first(3))) {
            if (path[3] == "Code") current_->code = std::string(text);
            if (path[3] == "Message") current_->message = std::string(text);
        } else if (errors_ == 1 && is_error(path)) {
            first = std::move(current_);
        }
        return ok_status();
    }

private:
    static bool is_error(std::span<const std::string_view> p) noexcept {
        return p.size() == 3 && p[0] == "Response" && p[1] == "Errors" && p[2] == "Error";
    }
    std::optional<aws_error> current_;
    int errors_ = 0;
};

std::string_view classify_aws_code(std::string_view code, unsigned http_status) {
    if (code == "InvalidInstanceID.NotFound") return errc::instance_not_found;
    if (code == "InvalidInstanceID.Malformed") return errc::malformed_instance_id;
    if (code == "RequestLimitExceeded" || code == "Throttling") return errc::throttled;
    static constexpr std::array<std::string_view, 9> auth{
        "AuthFailure",           "UnauthorizedOperation", "Blocked",
        "RequestExpired",        "SignatureDoesNotMatch", "InvalidClientTokenId",
        "MissingAuthenticationToken", "OptInRequired",    "PendingVerification"};
    if (std::find(auth.begin(), auth.end(), code) != auth.end()) return errc::auth_failure;
    if (http_status >= 500 || code == "Unavailable" || code == "InternalError" || code == "ServiceUnavailable") {
        return errc::unavailable;
    }
    return errc::error;
}

}  // namespace

bool is_instance_id(std::string_view id) noexcept {
    if (!id.starts_with("i-")) return false;
    const auto hex = id.substr(2);
    return (hex.size() == 8 || hex.size() == 17) && std::all_of(hex.begin(), hex.end(), is_lower_hex);
}

std::string default_endpoint_host(std::string_view region, std::string_view service) {
    if (!token::valid_region(region)) return {};
    std::string_view domain = "amazonaws.com";
    for (const auto& p : token::known_partitions()) {
        if (token::region_in_partition(p, region)) {
            domain = p.domain;
            break;
        }
    }
    return std::string(service) + "." + std::string(region) + "." + std::string(domain);
}

std::string describe_instances_body(std::span<const std::string> instance_ids) {
    std::string body = "Action=DescribeInstances&Version=";
    body += api_version;
    for (std::size_t i = 0; i < instance_ids.size(); ++i) {
        body += "&InstanceId.";
        body += std::to_string(i + 1);
        body += '=';
        body += encoding::uri_encode(instance_ids[i]);
    }
    return body;
}

result<http_request> build_describe_instances(std::span<const std::string> instance_ids,
                                              const sigv4::credentials& creds, const request_params& params) {
    if (instance_ids.empty() || instance_ids.size() > max_ids_per_call) {
        return make_error("bad_request", "DescribeInstances needs 1 to " + std::to_string(max_ids_per_call) +
                                             " instance ids, got " + std::to_string(instance_ids.size()));
    }
    for (const auto& id : instance_ids) {
        if (!is_instance_id(id)) return make_error("bad_instance_id", "not an EC2 instance id: " + sanitize(id, 64));
    }
    if (params.host.empty() || params.region.empty()) return make_error("bad_request", "empty EC2 host or region");

    http_request out;
    out.body = describe_instances_body(instance_ids);
    sigv4::request req;
    req.method = out.method;
    req.path = out.target;
    req.headers = {{"Host", params.host}, {"Content-Type", std::string(form_content_type)}};
    sigv4::signing_params sp;
    sp.region = params.region;
    sp.service = "ec2";
    sp.time = params.now;
    (void)sigv4::sign_headers(req, creds, sp, crypto::sha256_hex(out.body));
    out.headers = std::move(req.headers);
    out.headers.push_back({"Content-Length", std::to_string(out.body.size())});
    if (!params.user_agent.empty()) out.headers.push_back({"User-Agent", params.user_agent});
    return out;
}

result<std::vector<instance_info>> parse_describe_instances(std::string_view body, std::size_t max_bytes) {
    if (body.size() > max_bytes) {
        return make_error("ec2_response_too_large", "DescribeInstances answer larger than " +
                                                        std::to_string(max_bytes) + " bytes");
    }
    instances_handler h;
    xml::limits lim;
    lim.max_bytes = max_bytes;
    if (auto st = xml::parse(body, h, lim); !st) {
        if (st.code() == errc::bad_response) return st.err();
        return bad_response("DescribeInstances answer: " + st.err().message);
    }
    return std::move(h.instances);
}

result<aws_error> parse_error_response(std::string_view body) {
    error_handler h;
    xml::limits lim;
    lim.max_bytes = 64 * 1024;
    if (auto st = xml::parse(body, h, lim); !st) {
        if (st.code() == errc::bad_response) return st.err();
        return bad_response("EC2 error answer: " + st.err().message);
    }
    if (!h.first || h.first->code.empty()) return bad_response("EC2 error answer without an error code");
    return std::move(*h.first);
}

result<std::vector<instance_info>> interpret_response(unsigned http_status, std::string_view body,
                                                      std::size_t max_bytes) {
    if (http_status == 200) return parse_describe_instances(body, max_bytes);
    const std::string status = "HTTP " + std::to_string(http_status);
    if (http_status >= 300 && http_status < 400) {
        return bad_response("EC2 answered a redirect (" + status + "), not followed");
    }
    auto parsed = parse_error_response(body);
    if (!parsed) {
        const auto code = http_status >= 500 ? errc::unavailable : errc::bad_response;
        return make_error(std::string(code), "EC2 answered " + status + " without a readable error");
    }
    return make_error(std::string(classify_aws_code(parsed->code, http_status)),
                      sanitize(parsed->code, 64) + ": " + sanitize(parsed->message) + " (" + status + ")");
}

bool is_invalid_instance_id(std::string_view code) noexcept {
    return code == errc::instance_not_found || code == errc::malformed_instance_id;
}

std::vector<std::string> instance_ids_in_message(std::string_view message) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while ((pos = message.find("i-", pos)) != std::string_view::npos) {
        const bool boundary = pos == 0 || !(std::isalnum(static_cast<unsigned char>(message[pos - 1])) ||
                                            message[pos - 1] == '-' || message[pos - 1] == '_');
        std::size_t end = pos + 2;
        while (end < message.size() && std::isalnum(static_cast<unsigned char>(message[end]))) ++end;
        const auto candidate = message.substr(pos, end - pos);
        if (boundary && is_instance_id(candidate) &&
            std::find(out.begin(), out.end(), candidate) == out.end()) {
            out.emplace_back(candidate);
        }
        pos = end;
    }
    return out;
}

bool is_dns_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 253) return false;
    std::size_t label = 0;
    for (char c : name) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok || ++label > 63) return false;
    }
    return label != 0;
}

}  // namespace stsauth::ec2
