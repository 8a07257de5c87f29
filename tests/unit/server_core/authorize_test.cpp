// POST /authorize (ACCESS-ENTRIES C5-C8) through server::authorize_endpoint: the HTTP answers
// (405, 400 with the decoder's code, 200 with the SubjectAccessReview in the request's version),
// allow versus no opinion with each reason, the metrics and the debug line; and what the TLS
// listener answers for /authorize when authorization is off (the webhook's 404).
#include "authorize.hpp"
#include "webhook.hpp"

#include "access/entries.hpp"
#include "fakes/fake_sts_client.hpp"
#include "support/log_capture.hpp"

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

using namespace stsauth;
using stsauth::testing::log_capture;

namespace {

const std::string view_arn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const std::string entry_arn = "arn:aws:iam::111122223333:role/teams/Viewer";

std::string entries_text(const std::string& mode) {
    return "authenticationMode: " + mode + R"(
accessEntries:
  - principalArn: arn:aws:iam::111122223333:role/teams/Viewer
    principalId: AROAVIEWER
    accessPolicies:
      - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy
        accessScope: {type: namespace, namespaces: ["dev-*"]}
)";
}

std::shared_ptr<const access::snapshot> load_entries(const std::string& mode) {
    access::load_settings s;
    s.source_name = "entries.yaml";
    s.cluster_id = "test-cluster";
    s.cluster_account_id = "111122223333";
    auto r = access::load(entries_text(mode), s);
    if (!r) FAIL(r.err().code << ": " << r.err().message);
    return std::make_shared<const access::snapshot>(std::move(*r));
}

// The extras stsauth's own TokenReview answer carries for the Viewer role's session.
const std::string viewer_extra =
    R"({"accessKeyId":["ASIAHANDLERSECRETKEY"],"arn":["arn:aws:sts::111122223333:assumed-role/Viewer/alice"],)"
    R"("canonicalArn":["arn:aws:iam::111122223333:role/Viewer"],"principalId":["AROAVIEWER"],"sessionName":["alice"],)"
    R"("sigs.k8s.io/aws-iam-authenticator/principalId":["AROAVIEWER"]})";

std::string sar(const std::string& version, const std::string& attributes, const std::string& extra = viewer_extra) {
    const bool v1 = version == "authorization.k8s.io/v1";
    return R"({"apiVersion":")" + version + R"(","kind":"SubjectAccessReview","metadata":{"creationTimestamp":null},)" +
           R"("spec":{)" + attributes + R"(,"user":"arn:aws:sts::111122223333:assumed-role/Viewer/alice",)" +
           (v1 ? R"("groups")" : R"("group")") + R"(:["system:authenticated"],"uid":"aws-iam-authenticator:1",)" +
           R"("extra":)" + extra + R"(},"status":{"allowed":false}})";
}

const std::string get_pods_dev_a =
    R"("resourceAttributes":{"namespace":"dev-a","verb":"get","group":"","version":"v1","resource":"pods"})";

std::string reply(const std::string& version, const std::string& status) {
    return R"({"apiVersion":")" + version + R"(","kind":"SubjectAccessReview","metadata":{},"spec":{},"status":)" +
           status + "}\n";
}

const std::string allowed_status =
    R"({"allowed":true,"reason":"EKS Access Policy: allowed by RoleBinding \")" + entry_arn + "+" + view_arn +
    R"(\" in namespace \"dev-a\" of ClusterRole \")" + view_arn + R"(\" to User \"AROAVIEWER\""})";
const std::string no_opinion_status = R"({"allowed":false})";

http::request post(std::string body, std::string method = "POST") {
    http::request r;
    r.method = std::move(method);
    r.target = "/authorize";
    r.body = std::move(body);
    r.remote = "127.0.0.1:4242";
    return r;
}

struct fixture {
    metrics::registry registry;
    metrics::stsauth_metrics own{registry, "test"};
    std::shared_ptr<const access::snapshot> entries = load_entries("API_AND_CONFIG_MAP");
    server::authorize_endpoint endpoint{[this] { return entries; }, own};

    std::uint64_t decisions(const char* decision, const char* reason) {
        return own.authorize_requests.with({decision, reason}).value();
    }
    std::uint64_t malformed() { return own.authorize_malformed.value(); }
    std::uint64_t observed() { return own.authorize_duration.with({}).collect().count; }
};

}  // namespace

TEST_CASE("/authorize: another method is 405, counted as malformed, never evaluated", "[authorize]") {
    fixture f;
    std::uint64_t n = 0;
    for (const char* method : {"GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "post"}) {
        INFO(method);
        const auto r = f.endpoint.handle(post(sar("authorization.k8s.io/v1", get_pods_dev_a), method));
        CHECK(r.status == 405);
        CHECK(r.body == "expected POST\n");
        CHECK(r.content_type.rfind("text/plain", 0) == 0);
        CHECK(f.malformed() == ++n);
    }
    CHECK(f.observed() == 0);
    CHECK(f.decisions("allow", "allowed") == 0);
}

TEST_CASE("/authorize: a malformed SubjectAccessReview is 400 naming the decoder's reason", "[authorize]") {
    fixture f;
    log_capture log;
    const std::string secret = "ASIAMALFORMEDSECRET1";
    const std::string nr = R"("nonResourceAttributes":{"path":"/healthz","verb":"get"})";
    const std::pair<std::string, std::string> cases[] = {
        {"", "not_json"},
        {"{", "not_json"},
        {"[]", "not_object"},
        {"\xEF\xBB\xBF" + sar("authorization.k8s.io/v1", nr), "not_json"},
        {sar("authorization.k8s.io/v1", nr) + "{}", "trailing_data"},
        {sar("authorization.k8s.io/v1", nr, "{\"k\":[\"\xff\"]}"), "bad_utf8"},
        {R"({"kind":"SubjectAccessReview","kind":"SubjectAccessReview"})", "duplicate_key"},
        {R"({"kind":"SubjectAccessReview"})", "bad_api_version"},
        {sar("authorization.k8s.io/v2", nr), "bad_api_version"},
        {R"({"apiVersion":"authorization.k8s.io/v1","kind":"TokenReview","spec":{}})", "bad_kind"},
        {R"({"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview"})", "bad_spec"},
        {sar("authorization.k8s.io/v1", get_pods_dev_a + "," + nr), "bad_spec"},
        {sar("authorization.k8s.io/v1", R"("resourceAttributes":{"resource":"pods"})"), "bad_attributes"},
        {sar("authorization.k8s.io/v1", R"("nonResourceAttributes":{"verb":"get"})"), "bad_attributes"},
        {sar("authorization.k8s.io/v1", nr, R"({"accessKeyId":")" + secret + R"("})"), "bad_extra"},
        {R"({"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{)" + nr + R"(,"groups":")" +
             secret + R"("}})",
         "bad_groups"},
    };
    std::uint64_t n = 0;
    for (const auto& [body, code] : cases) {
        INFO(code << ": " << body.substr(0, 80));
        const auto r = f.endpoint.handle(post(body));
        CHECK(r.status == 400);
        CHECK(r.body == "expected a request body to be a SubjectAccessReview: " + code + "\n");
        CHECK(f.malformed() == ++n);
    }
    CHECK(f.observed() == 0);
    const auto text = log.text();
    CHECK(text.find("malformed SubjectAccessReview from 127.0.0.1:4242: bad_api_version") != std::string::npos);
    CHECK(text.find(secret) == std::string::npos);
}

TEST_CASE("/authorize: v1 and v1beta1 are answered in their own version", "[authorize]") {
    fixture f;
    for (const std::string version : {"authorization.k8s.io/v1", "authorization.k8s.io/v1beta1"}) {
        INFO(version);
        const auto allowed = f.endpoint.handle(post(sar(version, get_pods_dev_a)));
        CHECK(allowed.status == 200);
        CHECK(allowed.content_type == "application/json");
        CHECK(allowed.body == reply(version, allowed_status));
        const auto none = f.endpoint.handle(post(sar(version, R"("nonResourceAttributes":{"path":"/healthz","verb":"get"})")));
        CHECK(none.status == 200);
        CHECK(none.body == reply(version, no_opinion_status));
    }
    CHECK(f.decisions("allow", "allowed") == 2);
    CHECK(f.decisions("no_opinion", "no_matching_rule") == 2);
    CHECK(f.malformed() == 0);
}

TEST_CASE("/authorize: allow, or no opinion with an empty reason, never deny", "[authorize]") {
    fixture f;
    log_capture log;
    const std::string v1 = "authorization.k8s.io/v1";
    auto answer = [&](const std::string& body) {
        const auto r = f.endpoint.handle(post(body));
        CHECK(r.status == 200);
        CHECK(r.body.find("denied") == std::string::npos);
        return r.body;
    };

    CHECK(answer(sar(v1, get_pods_dev_a)) == reply(v1, allowed_status));
    CHECK(f.decisions("allow", "allowed") == 1);

    // The policy does not cover the request: another verb, another namespace, secrets.
    for (const std::string& attributes :
         {std::string(R"("resourceAttributes":{"namespace":"dev-a","verb":"delete","resource":"pods"})"),
          std::string(R"("resourceAttributes":{"namespace":"prod","verb":"get","resource":"pods"})"),
          std::string(R"("resourceAttributes":{"namespace":"dev-a","verb":"get","resource":"secrets"})")}) {
        INFO(attributes);
        CHECK(answer(sar(v1, attributes)) == reply(v1, no_opinion_status));
    }
    CHECK(f.decisions("no_opinion", "no_matching_rule") == 3);

    // No usable principal in the extras: none at all, several canonical ARNs, not an IAM ARN.
    CHECK(answer(sar(v1, get_pods_dev_a, "{}")) == reply(v1, no_opinion_status));
    CHECK(answer(sar(v1, get_pods_dev_a,
                     R"({"canonicalArn":["arn:aws:iam::111122223333:role/Viewer","arn:aws:iam::111122223333:role/X"],)"
                     R"("sigs.k8s.io/aws-iam-authenticator/principalId":["AROAVIEWER"]})")) ==
          reply(v1, no_opinion_status));
    CHECK(answer(sar(v1, get_pods_dev_a,
                     R"({"canonicalArn":["system:admin"],"sigs.k8s.io/aws-iam-authenticator/principalId":["AROAVIEWER"]})")) ==
          reply(v1, no_opinion_status));
    CHECK(f.decisions("no_opinion", "no_principal") == 3);

    // A principal with no entry, and the entry's principal re-created (another principal id).
    CHECK(answer(sar(v1, get_pods_dev_a,
                     R"({"canonicalArn":["arn:aws:iam::111122223333:role/Other"],)"
                     R"("sigs.k8s.io/aws-iam-authenticator/principalId":["AROAOTHER"]})")) ==
          reply(v1, no_opinion_status));
    CHECK(answer(sar(v1, get_pods_dev_a,
                     R"({"canonicalArn":["arn:aws:iam::111122223333:role/Viewer"],)"
                     R"("sigs.k8s.io/aws-iam-authenticator/principalId":["AROARECREATED"]})")) ==
          reply(v1, no_opinion_status));
    CHECK(f.decisions("no_opinion", "no_entry") == 2);

    // CONFIG_MAP: the access-entry API is off.
    f.entries = load_entries("CONFIG_MAP");
    CHECK(answer(sar(v1, get_pods_dev_a)) == reply(v1, no_opinion_status));
    CHECK(f.decisions("no_opinion", "mode_config_map") == 1);
    // Nothing loaded (no file, or its first load failed): no opinion, and C7.2's evaluationError.
    f.entries = nullptr;
    CHECK(answer(sar(v1, get_pods_dev_a)) ==
          reply(v1, R"({"allowed":false,"evaluationError":"access entries not loaded"})"));
    CHECK(f.decisions("no_opinion", "not_loaded") == 1);
    // API: as API_AND_CONFIG_MAP for /authorize.
    f.entries = load_entries("API");
    CHECK(answer(sar(v1, get_pods_dev_a)) == reply(v1, allowed_status));
    CHECK(f.decisions("allow", "allowed") == 2);

    // Every evaluated review is timed; none was malformed.
    CHECK(f.observed() == 12);
    CHECK(f.malformed() == 0);

    // One debug line per review: decision, reason, canonical ARN, the allowing policy; never the
    // extras (the access key id).
    const auto text = log.text();
    CHECK(text.find("authorize decision=allow reason=allowed arn=arn:aws:iam::111122223333:role/Viewer policy=" +
                    view_arn) != std::string::npos);
    CHECK(text.find("authorize decision=no_opinion reason=not_loaded") != std::string::npos);
    CHECK(text.find("ASIAHANDLERSECRETKEY") == std::string::npos);
}

TEST_CASE("/authorize: the metrics are exposed with their labels", "[authorize]") {
    fixture f;
    f.endpoint.handle(post(sar("authorization.k8s.io/v1", get_pods_dev_a)));
    f.endpoint.handle(post("{}"));
    const auto text = f.registry.expose();
    CHECK(text.find(R"(stsauth_authorize_requests_total{decision="allow",reason="allowed"} 1)") != std::string::npos);
    CHECK(text.find("stsauth_authorize_malformed_total 1") != std::string::npos);
    CHECK(text.find("stsauth_authorize_duration_seconds_count 1") != std::string::npos);
}

TEST_CASE("/authorize with authorization off: the TLS listener's webhook answers 404", "[authorize]") {
    // server/app.cpp routes /authorize to authorize_endpoint only when server.authorization.enabled;
    // otherwise the request reaches the webhook, which knows no such path.
    testing::fake_sts_client sts;
    authn::authenticator_config cfg;
    cfg.cluster_id = "test-cluster";
    authn::authenticator auth(
        cfg, sts, [] { return std::make_shared<const authn::mapping_chain>(); }, nullptr,
        [] { return std::chrono::system_clock::now(); });
    metrics::registry registry;
    metrics::reference_metrics ref(registry);
    metrics::stsauth_metrics own(registry, "test");
    server::webhook hook(auth, registry, ref, own, {}, [] { return true; });
    for (const char* method : {"POST", "GET"}) {
        std::optional<http::response> answer;
        hook.handle(post(sar("authorization.k8s.io/v1", get_pods_dev_a), method),
                    [&answer](http::response r) { answer = std::move(r); });
        REQUIRE(answer);
        CHECK(answer->status == 404);
        CHECK(answer->body == "404 page not found\n");
    }
    CHECK(sts.calls() == 0);
    CHECK(own.authorize_malformed.value() == 0);
}
