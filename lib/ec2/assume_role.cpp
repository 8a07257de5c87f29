#include "ec2/assume_role.hpp"

#include "arn/arn.hpp"
#include "common/encoding.hpp"
#include "crypto/crypto.hpp"
#include "ec2/cached_credentials.hpp"
#include "ec2/transport.hpp"
#include "ec2/xml.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <stdexcept>
#include <utility>

namespace stsauth::ec2 {

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_session_name(std::string_view s) {
    return s.size() >= 2 && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string_view("_+=,.@-").find(c) != std::string_view::npos;
           });
}

std::string sanitize(std::string_view text, std::size_t max = 512) {
    std::string out;
    for (char c : text.substr(0, max)) out += (c >= ' ' && c <= '~') ? c : '?';
    if (text.size() > max) out += "...";
    return out;
}

/// Collects the text of the elements at the wanted paths (relative to the root), under the
/// expected root element; an element seen twice is an error.
class leaves final : public xml::handler {
public:
    leaves(std::string_view root, std::initializer_list<std::string_view> paths) : root_(root) {
        for (auto p : paths) wanted_.emplace(std::string(p), std::nullopt);
    }

    status on_start(std::span<const std::string_view> path) override {
        if (path.size() == 1 && path[0] != root_) return make_error("wrong_root", "unexpected root element");
        return ok_status();
    }

    status on_end(std::span<const std::string_view> path, std::string_view text) override {
        std::string key;
        for (std::size_t i = 1; i < path.size(); ++i) key.append(i > 1 ? "/" : "").append(path[i]);
        auto it = wanted_.find(key);
        if (it == wanted_.end()) return ok_status();
        if (it->second) return make_error("duplicate", "an element appears twice");
        it->second = std::string(text);
        return ok_status();
    }

    std::string get(std::string_view path) const {
        auto it = wanted_.find(std::string(path));
        return it != wanted_.end() && it->second ? *it->second : std::string();
    }

private:
    std::string_view root_;
    std::map<std::string, std::optional<std::string>> wanted_;
};

}  // namespace

status check_role_arn(std::string_view arn) {
    auto parts = arn::parse(arn);
    const bool ok = parts && parts->service == "iam" && parts->region.empty() && parts->account.size() == 12 &&
                    all_digits(parts->account) && parts->resource.starts_with("role/") && parts->resource.size() > 5 &&
                    !parts->resource.ends_with('/');
    if (!ok) return make_error("bad_role_arn", "not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)");
    return ok_status();
}

result<std::string> source_account(std::string_view source_arn) {
    auto parts = arn::parse(source_arn);
    if (!parts || parts->account.size() != 12 || !all_digits(parts->account)) {
        return make_error("bad_source_arn", "not an ARN with a 12-digit account");
    }
    return parts->account;
}

std::string default_session_name(std::chrono::system_clock::time_point now) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    return "stsauth-" + std::to_string(ns);
}

result<http_request> build_assume_role(const assume_role_params& p, const sigv4::credentials& base) {
    if (auto st = check_role_arn(p.role_arn); !st) return st.err();
    std::string account;
    if (!p.source_arn.empty()) {
        auto a = source_account(p.source_arn);
        if (!a) return a.err();
        account = std::move(*a);
    }
    if (p.host.empty() || p.region.empty()) return make_error("bad_request", "empty STS host or region");
    if (!valid_session_name(p.session_name)) return make_error("bad_request", "invalid role session name");
    if (p.duration.count() < 900 || p.duration.count() > 43200) {
        return make_error("bad_request", "AssumeRole duration must be 900..43200 seconds");
    }
    http_request out;
    out.body = "Action=AssumeRole&Version=" + std::string(sts_api_version) +
               "&RoleArn=" + encoding::uri_encode(p.role_arn) + "&RoleSessionName=" + encoding::uri_encode(p.session_name) +
               "&DurationSeconds=" + std::to_string(p.duration.count());
    sigv4::request req;
    req.method = out.method;
    req.path = out.target;
    req.headers = {{"Host", p.host}, {"Content-Type", std::string(form_content_type)}};
    if (!p.source_arn.empty()) {
        req.headers.push_back({"x-amz-source-account", account});
        req.headers.push_back({"x-amz-source-arn", p.source_arn});
    }
    sigv4::signing_params sp;
    sp.region = p.region;
    sp.service = "sts";
    sp.time = p.now;
    (void)sigv4::sign_headers(req, base, sp, crypto::sha256_hex(out.body));
    out.headers = std::move(req.headers);
    out.headers.push_back({"Content-Length", std::to_string(out.body.size())});
    if (!p.user_agent.empty()) out.headers.push_back({"User-Agent", p.user_agent});
    return out;
}

result<timed_credentials> interpret_assume_role_response(unsigned http_status, std::string_view body) {
    const auto bad = [](std::string why) { return make_error("assume_role_bad_response", std::move(why)); };
    xml::limits lim;
    lim.max_bytes = 64 * 1024;
    if (http_status == 200) {
        leaves doc("AssumeRoleResponse",
                   {"AssumeRoleResult/Credentials/AccessKeyId", "AssumeRoleResult/Credentials/SecretAccessKey",
                    "AssumeRoleResult/Credentials/SessionToken", "AssumeRoleResult/Credentials/Expiration"});
        if (auto st = xml::parse(body, doc, lim); !st) return bad("AssumeRole answer is not a valid AssumeRoleResponse");
        timed_credentials out;
        out.creds.access_key_id = doc.get("AssumeRoleResult/Credentials/AccessKeyId");
        out.creds.secret_access_key = secret<std::string>(doc.get("AssumeRoleResult/Credentials/SecretAccessKey"));
        out.creds.session_token = secret<std::string>(doc.get("AssumeRoleResult/Credentials/SessionToken"));
        auto expiration = parse_rfc3339_utc(doc.get("AssumeRoleResult/Credentials/Expiration"));
        if (out.creds.access_key_id.empty() || out.creds.secret_access_key.empty() || out.creds.session_token.empty() ||
            !expiration) {
            return bad("AssumeRole answer without complete credentials");
        }
        out.expiration = *expiration;
        return out;
    }
    leaves err("ErrorResponse", {"Error/Code", "Error/Message"});
    const bool parsed = xml::parse(body, err, lim).ok() && !err.get("Error/Code").empty();
    const std::string status = "HTTP " + std::to_string(http_status);
    if (!parsed) {
        if (http_status >= 500) return make_error("assume_role_unavailable", "STS AssumeRole answered " + status);
        return bad("STS AssumeRole answered " + status + " without a readable error");
    }
    const auto code = err.get("Error/Code");
    const auto what = "STS AssumeRole: " + sanitize(code, 64) + ": " + sanitize(err.get("Error/Message")) + " (" + status + ")";
    if (http_status >= 500 || code == "Throttling") return make_error("assume_role_unavailable", what);
    return make_error("assume_role_denied", what);
}

// ---- source ------------------------------------------------------------------------------------

struct detail::assume_role_state {
    boost::asio::io_context& ioc;
    assume_role_config config;
    std::shared_ptr<credentials_source> base;
    assume_role_credentials_source::clock_fn clock;
    std::shared_ptr<tls_client_context> tls;
    https_endpoint endpoint;

    void fetch(cached_credentials::done_fn done) {
        base->get([this, done = std::move(done)](result<sigv4::credentials> creds) mutable {
            if (!creds) return done(creds.err());
            const auto now = clock();
            assume_role_params p{config.role_arn, default_session_name(now), config.duration, config.source_arn,
                                 endpoint.host_header, config.region, now, config.user_agent};
            auto req = build_assume_role(p, *creds);
            if (!req) return done(req.err());
            async_http_exchange(ioc, tls, endpoint.target, std::move(*req), http_limits{config.timeout, 64 * 1024},
                                [done = std::move(done)](result<http_response> r) {
                                    if (!r) {
                                        return done(make_error("assume_role_unavailable",
                                                               "STS AssumeRole call failed: " + r.err().code + ": " +
                                                                   r.err().message));
                                    }
                                    done(interpret_assume_role_response(r->status, r->body));
                                });
        });
    }
};

assume_role_credentials_source::assume_role_credentials_source(boost::asio::io_context& ioc, assume_role_config config,
                                                               std::shared_ptr<credentials_source> base, clock_fn clock)
    : state_(std::make_shared<detail::assume_role_state>(
          detail::assume_role_state{ioc, std::move(config), std::move(base), std::move(clock), nullptr, {}})) {
    auto& s = *state_;
    if (!s.base) throw std::invalid_argument("AssumeRole: no base credentials");
    if (auto st = check_role_arn(s.config.role_arn); !st) {
        throw std::invalid_argument("server.ec2DescribeInstancesRoleARN: " + st.err().message);
    }
    if (!s.config.source_arn.empty()) {
        if (auto a = source_account(s.config.source_arn); !a) throw std::invalid_argument("server.sourceARN: " + a.err().message);
    }
    if (s.config.duration.count() < 900 || s.config.duration.count() > 43200) {
        throw std::invalid_argument("AssumeRole duration: must be 900..43200 seconds");
    }
    if (s.config.timeout.count() <= 0) throw std::invalid_argument("AssumeRole timeout: must be positive");
    const auto default_host = default_endpoint_host(s.config.region, "sts");
    if (default_host.empty()) throw std::invalid_argument("STS region: \"" + s.config.region + "\" is not a valid region name");
    s.endpoint = make_https_endpoint("STS endpoint", s.config.endpoint, default_host, s.config.connect_override);
    s.tls = std::make_shared<tls_client_context>(s.config.ca_file);
    cache_ = std::make_shared<detail::cached_credentials>(
        [st = state_](detail::cached_credentials::done_fn done) { st->fetch(std::move(done)); }, s.config.refresh_before,
        s.clock);
}

assume_role_credentials_source::~assume_role_credentials_source() = default;

void assume_role_credentials_source::get(callback cb) { cache_->get(std::move(cb)); }

std::string assume_role_credentials_source::describe() const {
    return "sts:AssumeRole of " + state_->config.role_arn + " with " + state_->base->describe();
}

}  // namespace stsauth::ec2
