#include "fake_service.hpp"

#include "sigv4_verifier.hpp"

#include "common/encoding.hpp"

#include <algorithm>
#include <iterator>

namespace stsauth::fakests {
namespace {

constexpr std::string_view sts_version = "2011-06-15";

bool contains_icase(std::string_view haystack, std::string_view needle) {
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i)
        if (encoding::iequals(haystack.substr(i, needle.size()), needle)) return true;
    return false;
}

// Query parameters plus, for a POST, the form body's: the query itself unless a form body adds
// to it, in which case `merged` holds both.
const std::vector<sigv4::query_param>& all_params(const parsed_request& req, std::vector<sigv4::query_param>& merged,
                                                  bool& malformed_body) {
    malformed_body = false;
    if (req.method != "POST" || req.body.empty()) return req.query;
    auto form = parse_form(req.body);
    if (!form.ok()) {
        malformed_body = true;
        return req.query;
    }
    merged = req.query;
    merged.insert(merged.end(), std::make_move_iterator(form->begin()), std::make_move_iterator(form->end()));
    return merged;
}

reply success(std::string_view content_type, std::string body, std::string action, std::string_view request_id) {
    reply r;
    r.status = 200;
    r.content_type = content_type;
    r.body = std::move(body);
    r.request_id = std::string(request_id);
    r.action = std::move(action);
    r.outcome = "success";
    return r;
}

// EC2 reports every authentication failure as AuthFailure, and expiry as RequestExpired.
std::pair<std::string, std::string> ec2_auth_error(const error& e) {
    if (e.code == "InvalidClientTokenId" || e.code == "SignatureDoesNotMatch")
        return {"AuthFailure", "AWS was not able to validate the provided access credentials"};
    if (e.code == "ExpiredToken") return {"RequestExpired", "Request has expired."};
    return {e.code, e.message};
}

// Into `r`, re-using its strings: a JSON success (what the bench asks for) allocates nothing.
void get_caller_identity(reply& r, const request_class& cls, const std::vector<sigv4::query_param>& params,
                         const credential_entry& who, std::string_view request_id) {
    if (const auto version = param(params, "Version"); version && *version != sts_version) {
        r = error_reply(api::sts, cls.json, "InvalidAction",
                        "Could not find operation GetCallerIdentity for version " + std::string(*version), request_id);
        return;
    }
    r.status = 200;
    r.content_type = cls.json ? "application/json" : "text/xml";
    r.body.clear();
    if (cls.json) append_sts_identity_json(r.body, who, request_id);
    else r.body = sts_identity_xml(who, request_id);
    r.location.clear();
    r.request_id.assign(request_id);
    r.action.assign(cls.action);
    r.outcome.assign("success");
}

reply describe_instances(const request_class& cls, const std::vector<sigv4::query_param>& params,
                         const fake_config& config, const credential_entry& who, std::string_view request_id) {
    std::vector<std::string> ids;
    for (const auto& p : params) {
        if (p.key.starts_with("Filter.") || p.key == "MaxResults" || p.key == "NextToken")
            return error_reply(api::ec2, false, "UnsupportedOperation",
                               "The fake EC2 supports only InstanceId.N for DescribeInstances (got " + p.key + ").",
                               request_id);
        if (!p.key.starts_with("InstanceId.")) continue;
        const auto n = std::string_view(p.key).substr(11);
        if (n.empty() || !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return error_reply(api::ec2, false, "InvalidParameterValue", "Invalid parameter name " + p.key, request_id);
        ids.push_back(p.value);
    }
    std::vector<const instance_entry*> found;
    std::vector<std::string> missing;
    for (const auto& id : ids) {
        if (!is_instance_id(id))
            return error_reply(api::ec2, false, "InvalidInstanceID.Malformed", "Invalid id: \"" + id + "\"", request_id);
        if (const auto* inst = config.find_instance(id)) {
            if (std::find(found.begin(), found.end(), inst) == found.end()) found.push_back(inst);
        } else if (std::find(missing.begin(), missing.end(), id) == missing.end()) {
            missing.push_back(id);
        }
    }
    if (!missing.empty()) {
        std::string list;
        for (const auto& id : missing) list += (list.empty() ? "" : ", ") + id;
        const auto message = missing.size() == 1 ? "The instance ID '" + list + "' does not exist"
                                                 : "The instance IDs '" + list + "' do not exist";
        return error_reply(api::ec2, false, "InvalidInstanceID.NotFound", message, request_id);
    }
    if (ids.empty())
        for (const auto& inst : config.instances) found.push_back(&inst);
    return success("text/xml;charset=UTF-8", ec2_describe_instances_xml(found, who.account, request_id), cls.action,
                   request_id);
}

}  // namespace

request_class classify(const result<parsed_request>& parsed, bool force_xml) {
    request_class cls;
    if (parsed.ok()) classify(*parsed, force_xml, cls);
    return cls;
}

void classify(const parsed_request& req, bool force_xml, request_class& cls) {
    std::vector<sigv4::query_param> merged;
    bool malformed_body = false;
    const auto& params = all_params(req, merged, malformed_body);
    if (auto action = param(params, "Action")) cls.action.assign(*action);
    else cls.action.clear();
    cls.which = api::sts;
    const auto& host = req.aws_host;
    const auto authz = req.header("authorization").value_or("");
    const auto credential = param(req.query, "X-Amz-Credential").value_or("");
    if (host) {
        cls.which = host->service == "ec2" ? api::ec2 : api::sts;
    } else if (cls.action == "DescribeInstances" || authz.find("/ec2/aws4_request") != std::string_view::npos ||
               credential.find("/ec2/aws4_request") != std::string_view::npos) {
        cls.which = api::ec2;
    }
    const auto cred_field = authz.find("Credential=");
    const auto scope = !credential.empty() ? credential
                       : cred_field != std::string_view::npos ? authz.substr(cred_field + 11)
                                                              : std::string_view{};
    // Only the key id (never more than 32 bytes, never past a separator: no signature bytes).
    cls.access_key_id.assign(scope.substr(0, std::min(scope.find_first_of("/, &"), std::size_t{32})));
    cls.json = cls.which == api::sts && !force_xml && contains_icase(req.header("accept").value_or(""), "application/json");
}

request_class classify(const http_request_in& in, bool force_xml) { return classify(parse_request(in), force_xml); }

reply answer_aws_request(const result<parsed_request>& parsed, const request_class& cls, const fake_config& config,
                         std::chrono::system_clock::time_point now, std::string_view request_id,
                         signing_key_cache* keys) {
    if (!parsed.ok()) {
        auto r = error_reply(cls.which, cls.json, parsed.code(), parsed.err().message, request_id);
        r.action = cls.action;
        return r;
    }
    reply r;
    answer_aws_request(r, *parsed, cls, config, now, request_id, keys);
    return r;
}

void answer_aws_request(reply& out, const parsed_request& req, const request_class& cls, const fake_config& config,
                        std::chrono::system_clock::time_point now, std::string_view request_id,
                        signing_key_cache* keys) {
    auto fail = [&](std::string code, std::string_view message) {
        out = error_reply(cls.which, cls.json, std::move(code), message, request_id);
        out.action = cls.action;
    };

    std::vector<sigv4::query_param> merged;
    bool malformed_body = false;
    const auto& params = all_params(req, merged, malformed_body);
    if (malformed_body) return fail("MalformedQueryString", "invalid percent-encoding in the form body");

    // The services a scope may name, by the API the request is for (no vector per request).
    thread_local verify_options sts_options{{"sts"}}, ec2_options{{"ec2"}};
    auto& options = cls.which == api::sts ? sts_options : ec2_options;
    options.keys = keys;
    auto auth = authenticate(req, config, now, options);
    if (!auth.ok()) {
        if (cls.which == api::ec2) {
            auto [code, message] = ec2_auth_error(auth.err());
            return fail(std::move(code), message);
        }
        return fail(auth.code(), auth.err().message);
    }

    if (cls.action.empty()) return fail("MissingAction", "Missing Action");
    if (param_count(params, "Action") > 1) return fail("InvalidAction", "Action must appear only once");
    if (cls.which == api::sts) {
        if (cls.action != "GetCallerIdentity")
            return fail("InvalidAction", "Could not find operation " + cls.action + " for version " + std::string(sts_version));
        return get_caller_identity(out, cls, params, *auth->credential, request_id);
    }
    if (cls.action != "DescribeInstances")
        return fail("InvalidAction", "The action " + cls.action + " is not valid for this web service.");
    out = describe_instances(cls, params, config, *auth->credential, request_id);
    out.action = cls.action;
}

reply handle_aws_request(const http_request_in& in, const fake_config& config, std::chrono::system_clock::time_point now,
                         std::string_view request_id, bool force_xml, signing_key_cache* keys) {
    const auto parsed = parse_request(in);
    return answer_aws_request(parsed, classify(parsed, force_xml), config, now, request_id, keys);
}

reply throttle_reply(const request_class& cls, std::string_view request_id) {
    auto r = cls.which == api::sts ? error_reply(api::sts, cls.json, "Throttling", "Rate exceeded", request_id)
                                   : error_reply(api::ec2, false, "RequestLimitExceeded", "Request limit exceeded.", request_id);
    r.action = cls.action;
    return r;
}

reply unavailable_reply(const request_class& cls, std::string_view request_id) {
    auto r = cls.which == api::sts
                 ? error_reply(api::sts, cls.json, "ServiceUnavailable", "Service is unavailable", request_id)
                 : error_reply(api::ec2, false, "Unavailable", "The server is overloaded and can't handle the request.",
                               request_id);
    r.action = cls.action;
    return r;
}

reply redirect_reply(const request_class& cls, std::string location, std::string_view request_id) {
    reply r;
    r.status = 302;
    r.location = std::move(location);
    r.request_id = std::string(request_id);
    r.action = cls.action;
    r.outcome = "redirect";
    return r;
}

}  // namespace stsauth::fakests
