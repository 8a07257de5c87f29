#include "test_support.hpp"

#include "common/encoding.hpp"
#include "crypto/crypto.hpp"

#include <algorithm>

namespace stsauth::ec2::testing {

sigv4::credentials example_credentials(std::string session_token) {
    sigv4::credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = secret<std::string>("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    c.session_token = secret<std::string>(std::move(session_token));
    return c;
}

std::string ec2_error_xml(std::string_view code, std::string_view message) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>" + std::string(code) +
           "</Code><Message>" + std::string(message) + "</Message></Error></Errors><RequestID>req-1</RequestID></Response>";
}

void fake_ec2::set_instance(const std::string& id, const std::string& name) {
    std::lock_guard lock(mu_);
    instances_[id] = name;
}

void fake_ec2::force_reply(std::optional<canned_reply> r) {
    std::lock_guard lock(mu_);
    forced_ = std::move(r);
}

void fake_ec2::expect_session_token(std::string token, std::string access_key_id, std::string secret_key) {
    std::lock_guard lock(mu_);
    token_ = std::move(token);
    key_id_ = std::move(access_key_id);
    secret_ = std::move(secret_key);
}

std::size_t fake_ec2::calls() const {
    std::lock_guard lock(mu_);
    return batches_.size();
}

std::vector<std::size_t> fake_ec2::batch_sizes() const {
    std::lock_guard lock(mu_);
    return batches_;
}

std::size_t fake_ec2::auth_failures() const {
    std::lock_guard lock(mu_);
    return auth_failures_;
}

namespace {

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (true) {
        const auto next = s.find(sep, pos);
        out.emplace_back(s.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
        if (next == std::string_view::npos) break;
        pos = next + 1;
    }
    return out;
}

}  // namespace

std::string verify_sigv4(const seen_request& r, std::string_view service, const std::string& key_id,
                         const std::string& secret_key, const std::string& token) {
    const auto authz = r.header("Authorization").value_or("");
    const std::string prefix = "AWS4-HMAC-SHA256 Credential=";
    if (!authz.starts_with(prefix)) return "no SigV4 Authorization";
    const auto parts = split(std::string_view(authz).substr(prefix.size()), ',');
    if (parts.size() != 3) return "bad Authorization";
    const auto cred = split(parts[0], '/');
    const std::string sh = " SignedHeaders=", sg = " Signature=";
    if (cred.size() != 5 || !parts[1].starts_with(sh) || !parts[2].starts_with(sg)) return "bad Authorization";
    if (cred[0] != key_id) return "unknown access key";
    if (cred[2] != test_region || cred[3] != service || cred[4] != "aws4_request") return "bad scope";
    const auto amz_date = r.header("X-Amz-Date").value_or("");
    if (amz_date.substr(0, 8) != cred[1]) return "date mismatch";
    if (r.header("X-Amz-Security-Token").value_or("") != token) return "bad session token";
    sigv4::request req{r.method, "/", {}, {}};
    const auto signed_names = split(parts[1].substr(sh.size()), ';');
    if (!token.empty() && std::find(signed_names.begin(), signed_names.end(), "x-amz-security-token") == signed_names.end())
        return "session token not signed";
    for (const auto& name : signed_names) {
        auto v = r.header(name);
        if (!v) return "signed header missing";
        req.headers.push_back({name, *v});
    }
    const sigv4::credential_scope scope{cred[1], cred[2], cred[3]};
    const auto canonical = sigv4::canonical_request(req, crypto::sha256_hex(r.body), true);
    const auto sts = sigv4::string_to_sign(amz_date, scope, canonical);
    const auto expected = sigv4::signature(sigv4::signing_key(secret<std::string>(secret_key), scope), sts);
    return expected == parts[2].substr(sg.size()) ? "" : "signature mismatch";
}

canned_reply fake_ec2::handle(const seen_request& r) {
    canned_reply out;
    out.delay = std::chrono::milliseconds(delay_ms_.load());
    out.hang = hang_.load();
    std::lock_guard lock(mu_);
    if (r.method != "POST" || r.target != "/" || r.header("Host") != std::string(test_host) ||
        r.header("Content-Type") != "application/x-www-form-urlencoded; charset=utf-8") {
        out.status = 400;
        out.body = ec2_error_xml("InvalidRequest", "unexpected method, target, host or content type");
        return out;
    }
    if (auto why = verify_sigv4(r, "ec2", key_id_, secret_, token_); !why.empty()) {
        ++auth_failures_;
        out.status = 401;
        out.body = ec2_error_xml("AuthFailure", "AWS was not able to validate the provided access credentials (" + why + ")");
        return out;
    }
    std::vector<std::string> ids;
    bool action = false, version = false;
    for (const auto& pair : split(r.body, '&')) {
        const auto eq = pair.find('=');
        const auto key = pair.substr(0, eq);
        auto value = encoding::percent_decode(eq == std::string::npos ? "" : pair.substr(eq + 1));
        if (!value) return {400, ec2_error_xml("MalformedQueryString", "bad encoding")};
        if (key == "Action") action = *value == "DescribeInstances";
        if (key == "Version") version = *value == "2016-11-15";
        if (key.starts_with("InstanceId.")) ids.push_back(*value);
    }
    if (!action || !version) return {400, ec2_error_xml("InvalidAction", "not DescribeInstances 2016-11-15")};
    batches_.push_back(ids.size());
    if (forced_) {
        auto f = *forced_;
        f.delay = out.delay;
        f.hang = out.hang;
        return f;
    }
    std::string missing;
    for (const auto& id : ids) {
        if (instances_.count(id) == 0) missing += (missing.empty() ? "" : ", ") + id;
    }
    if (!missing.empty()) {
        out.status = 400;
        out.body = ec2_error_xml("InvalidInstanceID.NotFound",
                                 name_ids_ ? "The instance IDs '" + missing + "' do not exist"
                                           : std::string("Some of the instance IDs do not exist"));
        return out;
    }
    out.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
               "<requestId>req-1</requestId><reservationSet>";
    for (const auto& id : ids) {
        out.body += "<item><reservationId>r-0123456789abcdef0</reservationId><instancesSet><item><instanceId>" + id +
                    "</instanceId><privateDnsName>" + instances_[id] +
                    "</privateDnsName><networkInterfaceSet><item><privateDnsName>eni.example.internal</privateDnsName>"
                    "</item></networkInterfaceSet></item></instancesSet></item>";
    }
    out.body += "</reservationSet></DescribeInstancesResponse>";
    return out;
}

io_runner::io_runner(int threads) : guard_(boost::asio::make_work_guard(ioc_)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

io_runner::~io_runner() {
    guard_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
}

}  // namespace stsauth::ec2::testing
