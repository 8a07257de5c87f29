#pragma once
// Shared helpers for the mapping tests.

#include "mapping/backend.hpp"
#include "mapping/mapping_set.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace mapping_test {

using namespace stsauth::mapping;

inline std::string read_fixture(const std::string& name) {
    std::ifstream in(std::string(STSAUTH_TEST_DATA_DIR) + "/mapping/" + name, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// A role session identity as the token layer builds it (canonical ARN given explicitly).
inline identity role_identity(const std::string& account, const std::string& role, const std::string& session,
                              const std::string& partition = "aws") {
    identity id;
    id.arn = "arn:" + partition + ":sts::" + account + ":assumed-role/" + role + "/" + session;
    id.canonical_arn = "arn:" + partition + ":iam::" + account + ":role/" + role;
    id.account_id = account;
    id.user_id = "AROAEXAMPLE" + role;
    id.session_name = session;
    id.access_key_id = "ASIAEXAMPLE";
    id.sts_endpoint = "sts.us-east-1.amazonaws.com";
    return id;
}

inline identity user_identity(const std::string& account, const std::string& user_path_and_name) {
    identity id;
    id.arn = "arn:aws:iam::" + account + ":user/" + user_path_and_name;
    id.canonical_arn = id.arn;
    id.account_id = account;
    id.user_id = "AIDAEXAMPLE";
    id.access_key_id = "AKIAEXAMPLE";
    id.sts_endpoint = "sts.us-east-1.amazonaws.com";
    return id;
}

/// Looks `id` up in `set`; returns the username template of the hit, "" when nothing matched,
/// or "error:<code>".
inline std::string lookup(const mapping_set& set, const identity& id, bool sso = false) {
    auto who = make_subject(id);
    if (!who) return "error:" + who.code();
    auto hit = set.find(*who, feature_flags{sso});
    if (!hit) return "error:" + hit.code();
    return *hit == nullptr ? std::string() : (*hit)->username;
}

inline loaded_mappings must_compile(const mapping_document& doc, compile_options options = {}) {
    auto r = compile(doc, options);
    if (!r) FAIL(r.err().code << ": " << r.err().message);
    return std::move(*r);
}

}  // namespace mapping_test
