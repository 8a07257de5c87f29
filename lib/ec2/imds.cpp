#include "ec2/imds.hpp"

#include "common/encoding.hpp"
#include "ec2/transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace stsauth::ec2 {

// ---- pure parsing ------------------------------------------------------------------------------

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

error bad_imds(std::string why) { return make_error("imds_bad_response", std::move(why)); }

/// A JSON string member, or nullopt when absent or not a string.
std::optional<std::string> string_member(const nlohmann::json& doc, const char* key) {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace

result<std::chrono::system_clock::time_point> parse_rfc3339_utc(std::string_view s) {
    using namespace std::chrono;
    const auto bad = [] { return make_error("bad_time", "not an RFC 3339 UTC time"); };
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    if (s.size() < 20 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
        !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) || s[13] != ':' ||
        !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se)) {
        return bad();
    }
    std::size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
        const auto start = ++pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == start || pos - start > 9) return bad();
    }
    const auto zone = s.substr(pos);
    if (zone != "Z" && zone != "z" && zone != "+00:00") return bad();
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || se > 59) return bad();
    return system_clock::time_point(sys_days{ymd} + hours{h} + minutes{mi} + seconds{se});
}

result<timed_credentials> parse_imds_credentials(std::string_view json) {
    const auto doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return bad_imds("IMDS credentials: not a JSON object");
    const auto code = string_member(doc, "Code");
    if (!code || *code != "Success") return bad_imds("IMDS credentials: Code is not \"Success\"");
    auto key_id = string_member(doc, "AccessKeyId");
    auto secret_key = string_member(doc, "SecretAccessKey");
    auto token = string_member(doc, "Token");
    const auto expiration = string_member(doc, "Expiration");
    if (!key_id || key_id->empty() || !secret_key || secret_key->empty() || !token || token->empty()) {
        return bad_imds("IMDS credentials: AccessKeyId, SecretAccessKey or Token missing");
    }
    if (!expiration) return bad_imds("IMDS credentials: Expiration missing");
    auto when = parse_rfc3339_utc(*expiration);
    if (!when) return bad_imds("IMDS credentials: Expiration is not an RFC 3339 time");
    timed_credentials out;
    out.creds.access_key_id = std::move(*key_id);
    out.creds.secret_access_key = secret<std::string>(std::move(*secret_key));
    out.creds.session_token = secret<std::string>(std::move(*token));
    out.expiration = *when;
    return out;
}

result<std::string> parse_identity_document_region(std::string_view json) {
    const auto doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return bad_imds("instance identity document: not a JSON object");
    auto region = string_member(doc, "region");
    const bool valid = region && !region->empty() && region->size() <= 64 &&
                       std::all_of(region->begin(), region->end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                       });
    if (!valid) return bad_imds("instance identity document: no valid region");
    return std::move(*region);
}

// ---- configuration -----------------------------------------------------------------------------

namespace {

struct parsed_endpoint {
    host_port hp;
    std::string host_header;
};

result<parsed_endpoint> parse_imds_endpoint(std::string_view endpoint) {
    auto bad = [&](std::string_view why) {
        return make_error("bad_imds_config", "IMDS endpoint must be http://HOST[:PORT]: " + std::string(why));
    };
    constexpr std::string_view scheme = "http://";
    if (!endpoint.starts_with(scheme)) return bad("only http:// is supported");
    auto rest = endpoint.substr(scheme.size());
    if (rest.ends_with('/')) rest.remove_suffix(1);
    if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) return bad("unexpected characters");
    const bool bracketed = rest.front() == '[';
    const auto colon = rest.rfind(':');
    const bool has_port = bracketed ? (rest.find("]:") != std::string_view::npos) : colon != std::string_view::npos;
    auto hp = parse_host_port(has_port ? std::string(rest) : std::string(rest) + ":80");
    if (!hp) return bad(hp.err().message);
    return parsed_endpoint{std::move(*hp), std::string(rest)};
}

}  // namespace

result<imds_config> imds_config_from_environment(const aws::environment& env) {
    imds_config cfg;
    if (auto disabled = env.env("AWS_EC2_METADATA_DISABLED"); disabled && encoding::iequals(*disabled, "true")) {
        cfg.disabled = true;
    }
    if (auto endpoint = env.env("AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
        if (auto p = parse_imds_endpoint(*endpoint); !p) {
            return make_error("bad_imds_config", "AWS_EC2_METADATA_SERVICE_ENDPOINT: " + p.err().message);
        }
        cfg.endpoint = *endpoint;
    } else if (auto mode = env.env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")) {
        if (encoding::iequals(*mode, "IPv6")) {
            cfg.endpoint = default_imds_ipv6_endpoint;
        } else if (!encoding::iequals(*mode, "IPv4")) {
            return make_error("bad_imds_config", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be IPv4 or IPv6");
        }
    }
    return cfg;
}

// ---- client ------------------------------------------------------------------------------------

namespace detail {

namespace asio = boost::asio;

class imds_client_impl : public std::enable_shared_from_this<imds_client_impl> {
public:
    using token_cb = std::function<void(result<secret<std::string>>)>;
    using body_cb = std::function<void(result<std::string>)>;

    imds_client_impl(asio::io_context& ioc, imds_config config)
        : ioc_(ioc), config_(std::move(config)), strand_(asio::make_strand(ioc)) {
        auto p = parse_imds_endpoint(config_.endpoint);
        if (!p) throw std::invalid_argument(p.err().message);
        endpoint_ = std::move(*p);
        if (config_.timeout.count() <= 0) throw std::invalid_argument("IMDS timeout must be positive");
        if (config_.token_ttl.count() < 1 || config_.token_ttl.count() > 21600) {
            throw std::invalid_argument("IMDS token TTL must be 1..21600 seconds");
        }
    }

    void get(std::string path, body_cb cb) {
        asio::post(strand_, [self = shared_from_this(), path = std::move(path), cb = std::move(cb)]() mutable {
            if (self->config_.disabled) {
                return cb(make_error("imds_disabled", "EC2 instance metadata is disabled (AWS_EC2_METADATA_DISABLED)"));
            }
            self->get_with_token(std::move(path), true, std::move(cb));
        });
    }

private:
    void get_with_token(std::string path, bool may_retry, body_cb cb) {
        with_token([self = shared_from_this(), path = std::move(path), may_retry,
                    cb = std::move(cb)](result<secret<std::string>> token) mutable {
            if (!token) return cb(token.err());
            self->do_get(std::move(path), token->reveal(), may_retry, std::move(cb));
        });
    }

    void do_get(std::string path, const std::string& token, bool may_retry, body_cb cb) {
        http_request req;
        req.method = "GET";
        req.target = path;
        req.headers = {{"Host", endpoint_.host_header}, {"X-aws-ec2-metadata-token", token}};
        send(std::move(req), [self = shared_from_this(), path, may_retry, used = secret<std::string>(token),
                              cb = std::move(cb)](result<http_response> r) mutable {
            if (!r) return cb(unavailable(r.err()));
            if (r->status == 401 && may_retry) {
                // The session token expired or was revoked: fetch a new one (unless another
                // request already did), once.
                if (self->token_ && *self->token_ == used) self->token_.reset();
                return self->get_with_token(std::move(path), false, std::move(cb));
            }
            if (r->status == 200) return cb(std::move(r->body));
            if (r->status == 404) return cb(make_error("imds_not_found", "IMDS has no " + path));
            if (r->status >= 500) return cb(make_error("imds_unavailable", "IMDS answered HTTP " + std::to_string(r->status)));
            cb(make_error("imds_error", "IMDS answered HTTP " + std::to_string(r->status) + " for " + path));
        });
    }

    void with_token(token_cb cb) {
        if (token_ && std::chrono::steady_clock::now() < token_expires_) return cb(*token_);
        token_waiters_.push_back(std::move(cb));
        if (token_waiters_.size() > 1) return;  // a PUT is already on its way
        http_request req;
        req.method = "PUT";
        req.target = "/latest/api/token";
        req.headers = {{"Host", endpoint_.host_header},
                       {"X-aws-ec2-metadata-token-ttl-seconds", std::to_string(config_.token_ttl.count())},
                       {"Content-Length", "0"}};
        const auto requested_at = std::chrono::steady_clock::now();
        send(std::move(req), [self = shared_from_this(), requested_at](result<http_response> r) {
            self->on_token(std::move(r), requested_at);
        });
    }

    void on_token(result<http_response> r, std::chrono::steady_clock::time_point requested_at) {
        result<secret<std::string>> out = make_error("imds_unavailable", "");
        if (!r) {
            out = unavailable(r.err());
        } else if (r->status != 200) {
            out = make_error(r->status >= 500 ? "imds_unavailable" : "imds_token_refused",
                             "IMDSv2 session token request answered HTTP " + std::to_string(r->status));
        } else if (r->body.empty() || r->body.size() > 4096 ||
                   !std::all_of(r->body.begin(), r->body.end(), [](char c) { return c > ' ' && c <= '~'; })) {
            out = make_error("imds_bad_response", "IMDSv2 session token is empty or not printable");
        } else {
            token_ = secret<std::string>(std::move(r->body));
            // Renewed a minute early (or halfway, for short TTLs) so a request never carries a
            // token that expires on the way.
            const auto ttl = std::chrono::duration_cast<std::chrono::steady_clock::duration>(config_.token_ttl);
            const auto margin = std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(60), ttl / 2);
            token_expires_ = requested_at + ttl - margin;
            out = *token_;
        }
        auto waiters = std::move(token_waiters_);
        token_waiters_.clear();
        for (auto& w : waiters) w(out);
    }

    static error unavailable(const error& transport) {
        return make_error("imds_unavailable", "EC2 instance metadata unreachable: " + transport.code + ": " + transport.message);
    }

    /// One exchange; the answer comes back on this client's strand.
    void send(http_request req, std::function<void(result<http_response>)> cb) {
        http_target target{endpoint_.hp.host, endpoint_.hp.host, endpoint_.hp.port};
        http_limits limits{config_.timeout, config_.max_body_bytes};
        async_http_exchange(ioc_, nullptr, std::move(target), std::move(req), limits,
                            [self = shared_from_this(), cb = std::move(cb)](result<http_response> r) mutable {
                                asio::post(self->strand_, [cb = std::move(cb), r = std::move(r)]() mutable {
                                    cb(std::move(r));
                                });
                            });
    }

    asio::io_context& ioc_;
    const imds_config config_;
    asio::strand<asio::io_context::executor_type> strand_;
    parsed_endpoint endpoint_;
    std::optional<secret<std::string>> token_;
    std::chrono::steady_clock::time_point token_expires_{};
    std::vector<token_cb> token_waiters_;
};

}  // namespace detail

imds_client::imds_client(boost::asio::io_context& ioc, imds_config config)
    : impl_(std::make_shared<detail::imds_client_impl>(ioc, std::move(config))) {}

imds_client::~imds_client() = default;

void imds_client::get(std::string path, std::function<void(result<std::string>)> cb) {
    impl_->get(std::move(path), std::move(cb));
}

void imds_client::region(std::function<void(result<std::string>)> cb) {
    impl_->get("/latest/dynamic/instance-identity/document", [cb = std::move(cb)](result<std::string> body) {
        if (!body) return cb(body.err());
        cb(parse_identity_document_region(*body));
    });
}

void imds_client::role_credentials(std::function<void(result<timed_credentials>)> cb) {
    constexpr std::string_view base = "/latest/meta-data/iam/security-credentials/";
    impl_->get(std::string(base), [impl = impl_, base, cb = std::move(cb)](result<std::string> list) mutable {
        if (!list) {
            if (list.code() == "imds_not_found") {
                return cb(make_error("imds_no_role", "no IAM role is attached to this instance"));
            }
            return cb(list.err());
        }
        std::string_view body = *list;
        const auto end = body.find_first_of("\r\n");
        const auto role = body.substr(0, end);
        const bool valid = !role.empty() && role.size() <= 64 && std::all_of(role.begin(), role.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   std::string_view("+=,.@_-").find(c) != std::string_view::npos;
        });
        if (!valid) return cb(make_error("imds_no_role", "no valid IAM role name in instance metadata"));
        impl->get(std::string(base) + std::string(role), [cb = std::move(cb)](result<std::string> doc) {
            if (!doc) return cb(doc.err());
            cb(parse_imds_credentials(*doc));
        });
    });
}

result<std::string> fetch_imds_region_blocking(const imds_config& config) {
    boost::asio::io_context ioc;
    std::optional<result<std::string>> out;
    {
        imds_client client(ioc, config);
        client.region([&out](result<std::string> r) { out = std::move(r); });
    }
    ioc.run();
    if (!out) return make_error("imds_unavailable", "no answer from EC2 instance metadata");
    return std::move(*out);
}

}  // namespace stsauth::ec2
