#pragma once
// Shared helpers for the access tests.

#include "access/authorizer.hpp"
#include "access/backend.hpp"
#include "access/entries.hpp"
#include "access/sar.hpp"
#include "mapping/identity.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace access_test {

using namespace stsauth;
using namespace stsauth::access;

inline constexpr const char* account = "111122223333";

inline std::string read_fixture(const std::string& name) {
    std::ifstream in(std::string(STSAUTH_TEST_DATA_DIR) + "/access/" + name, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

inline load_settings test_settings() {
    load_settings s;
    s.source_name = "entries.yaml";
    s.cluster_id = "test-cluster";
    s.cluster_account_id = account;
    return s;
}

inline snapshot must_load(std::string_view text, const load_settings& s = test_settings()) {
    auto r = load(text, s);
    if (!r) FAIL(r.err().code << ": " << r.err().message);
    return std::move(*r);
}

/// The error code of a load that must fail ("" when it loads, which fails the CHECK).
inline std::string load_code(std::string_view text, const load_settings& s = test_settings()) {
    auto r = load(text, s);
    if (r) return "";
    return r.code();
}

inline std::string load_message(std::string_view text, const load_settings& s = test_settings()) {
    auto r = load(text, s);
    return r ? std::string() : r.err().message;
}

/// One entry as a YAML document: `accessEntries: [<entry>]`.
inline std::string one_entry(const std::string& entry_yaml_flow) {
    return "accessEntries:\n  - " + entry_yaml_flow + "\n";
}

/// A role session identity as authn builds it (user_id already split at ':').
inline mapping::identity role_identity(const std::string& role, const std::string& session,
                                       const std::string& user_id = "AROAEXAMPLEID", const std::string& acct = account) {
    mapping::identity id;
    id.arn = "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + session;
    id.canonical_arn = "arn:aws:iam::" + acct + ":role/" + role;
    id.account_id = acct;
    id.user_id = user_id;
    id.session_name = session;
    id.access_key_id = "ASIAEXAMPLEKEY";
    id.sts_endpoint = "sts.us-east-1.amazonaws.com";
    return id;
}

inline mapping::identity user_identity(const std::string& user, const std::string& user_id = "AIDAEXAMPLEID") {
    mapping::identity id;
    id.arn = std::string("arn:aws:iam::") + account + ":user/" + user;
    id.canonical_arn = id.arn;
    id.account_id = account;
    id.user_id = user_id;
    id.access_key_id = "AKIAEXAMPLEKEY";
    id.sts_endpoint = "sts.us-east-1.amazonaws.com";
    return id;
}

/// The extras stsauth's TokenReview sets for a role session (part B §3.3).
inline nlohmann::json role_extra(const std::string& role, const std::string& principal_id) {
    return {{"accessKeyId", {"ASIAEXAMPLEKEY"}},
            {"arn", {std::string("arn:aws:sts::") + account + ":assumed-role/" + role + "/alice"}},
            {"canonicalArn", {std::string("arn:aws:iam::") + account + ":role/" + role}},
            {"principalId", {principal_id}},
            {"sessionName", {"alice"}},
            {"sigs.k8s.io/aws-iam-authenticator/principalId", {principal_id}}};
}

inline std::string version_string(sar_version v) { return std::string(api_version_string(v)); }

/// A SubjectAccessReview body as kube-apiserver sends it, in either version (v1beta1 spells the
/// groups key `group`).
inline std::string sar_body(sar_version v, const nlohmann::json& attributes, bool non_resource, const nlohmann::json& extra) {
    nlohmann::json spec;
    spec[non_resource ? "nonResourceAttributes" : "resourceAttributes"] = attributes;
    spec["user"] = "arn:aws:sts::111122223333:assumed-role/R/alice";
    spec[v == sar_version::v1 ? "groups" : "group"] = {"developers", "system:authenticated"};
    spec["uid"] = "aws-iam-authenticator:111122223333:AROAEXAMPLEID";
    if (!extra.is_null()) spec["extra"] = extra;
    nlohmann::json body = {{"kind", "SubjectAccessReview"},
                           {"apiVersion", version_string(v)},
                           {"metadata", {{"creationTimestamp", nullptr}}},
                           {"spec", spec},
                           {"status", {{"allowed", false}}}};
    return body.dump();
}

/// The outcome of one review through the codec: decode, evaluate, encode, parse the reply.
struct review_result {
    decision d;
    nlohmann::json reply;
};

inline review_result review(const snapshot* snap, sar_version v, const nlohmann::json& attributes, bool non_resource,
                            const nlohmann::json& extra) {
    auto req = decode_sar(sar_body(v, attributes, non_resource, extra));
    if (!req) FAIL(req.err().code << ": " << req.err().message);
    REQUIRE(req->version == v);
    review_result out{evaluate(snap, *req), {}};
    out.reply = nlohmann::json::parse(encode_sar_response(req->version, out.d.status));
    // Never a deny (C6.4), always the request's version (C7.2).
    CHECK_FALSE(out.reply["status"].contains("denied"));
    CHECK(out.reply["apiVersion"] == version_string(v));
    CHECK(out.reply["kind"] == "SubjectAccessReview");
    CHECK(out.reply["status"]["allowed"] == out.d.allowed());
    if (!out.d.allowed()) CHECK_FALSE(out.reply["status"].contains("reason"));
    return out;
}

inline nlohmann::json resource(const std::string& verb, const std::string& group, const std::string& res,
                               const std::string& ns = "", const std::string& sub = "", const std::string& name = "") {
    nlohmann::json a = {{"verb", verb}, {"version", "v1"}, {"resource", res}};
    if (!group.empty()) a["group"] = group;
    if (!ns.empty()) a["namespace"] = ns;
    if (!sub.empty()) a["subresource"] = sub;
    if (!name.empty()) a["name"] = name;
    return a;
}

inline nlohmann::json non_resource(const std::string& verb, const std::string& path) {
    return {{"verb", verb}, {"path", path}};
}

}  // namespace access_test
