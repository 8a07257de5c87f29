// Field helpers (principal.hpp) and vocabulary (model.hpp).

#include "access/model.hpp"
#include "access/principal.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace stsauth::access;

TEST_CASE("model: mode type and scope names round-trip case-sensitively", "[model]") {
    for (const auto m : {authentication_mode::config_map, authentication_mode::api_and_config_map, authentication_mode::api}) {
        CHECK(parse_authentication_mode(to_string(m)) == m);
    }
    CHECK_FALSE(parse_authentication_mode("api"));
    CHECK_FALSE(parse_authentication_mode("API "));
    for (const auto t : {entry_type::standard, entry_type::ec2_linux, entry_type::ec2_windows, entry_type::fargate_linux,
                         entry_type::hybrid_linux, entry_type::ec2, entry_type::hyperpod_linux}) {
        CHECK(parse_entry_type(to_string(t)) == t);
        CHECK(is_node_type(t) == (t != entry_type::standard));
        CHECK(automatic_groups(t).empty() == (t == entry_type::standard));
    }
    CHECK_FALSE(parse_entry_type("EC2_Windows"));
    CHECK(parse_scope_type("cluster") == scope_type::cluster);
    CHECK(parse_scope_type("namespace") == scope_type::namespace_scope);
    CHECK_FALSE(parse_scope_type("Namespace"));
    CHECK(reserved_username_prefixes().size() == 5);
}

TEST_CASE("principal: parse and key", "[principal]") {
    auto p = parse_principal_arn("arn:aws:iam::111122223333:role/dev/ops/Admin");
    REQUIRE(p);
    CHECK(p->partition == "aws");
    CHECK(p->account_id == "111122223333");
    CHECK(p->is_role);
    CHECK(p->path == "/dev/ops/");
    CHECK(p->name == "Admin");
    CHECK(p->key == "arn:aws:iam::111122223333:role/admin");
    auto u = parse_principal_arn("arn:aws:iam::111122223333:user/eks-user");
    REQUIRE(u);
    CHECK_FALSE(u->is_role);
    CHECK(u->path == "/");
    CHECK(u->key == "arn:aws:iam::111122223333:user/eks-user");
}

TEST_CASE("principal: identity keys of STS callers", "[principal]") {
    CHECK(*identity_key("arn:aws:iam::111122223333:role/Admin") == "arn:aws:iam::111122223333:role/admin");
    CHECK(*identity_key("arn:aws:sts::111122223333:assumed-role/Admin/session") == "arn:aws:iam::111122223333:role/admin");
    CHECK(*identity_key("arn:aws:iam::111122223333:user/ops/Bob") == "arn:aws:iam::111122223333:user/bob");
    CHECK(identity_key("arn:aws:iam::111122223333:root").code() == "invalid_identity");
    CHECK(identity_key("arn:aws:sts::111122223333:federated-user/F").code() == "invalid_identity");
    CHECK(identity_key("garbage").code() == "invalid_identity");
}

TEST_CASE("principal: generated usernames (C1.4)", "[principal]") {
    const auto role = *parse_principal_arn("arn:aws-cn:iam::111122223333:role/a/b/R");
    CHECK(generated_username(role, "arn:aws-cn:iam::111122223333:role/a/b/R", entry_type::standard) ==
          "arn:aws-cn:sts::111122223333:assumed-role/R/{{SessionName}}");
    CHECK(generated_username(role, "x", entry_type::ec2_linux) == "system:node:{{EC2PrivateDNSName}}");
    CHECK(generated_username(role, "x", entry_type::fargate_linux) == "system:node:{{SessionName}}");
    const auto user = *parse_principal_arn("arn:aws:iam::111122223333:user/p/U");
    CHECK(generated_username(user, "arn:aws:iam::111122223333:user/p/U", entry_type::standard) ==
          "arn:aws:iam::111122223333:user/p/U");
}

TEST_CASE("principal: namespace wildcard matching (C1.6)", "[principal][namespace]") {
    CHECK(namespace_matches("dev-*", "dev-a"));
    CHECK(namespace_matches("dev-*", "dev-"));
    CHECK_FALSE(namespace_matches("dev-*", "dev"));
    CHECK_FALSE(namespace_matches("dev-*", "prod-dev-a"));
    CHECK(namespace_matches("*", "anything"));
    CHECK(namespace_matches("*-prod", "team-a-prod"));
    CHECK_FALSE(namespace_matches("*-prod", "team-a-prod2"));
    CHECK(namespace_matches("a*b*c", "abc"));
    CHECK(namespace_matches("a*b*c", "axxbyyc"));
    CHECK(namespace_matches("a*b*c", "abcbc"));
    CHECK_FALSE(namespace_matches("a*b*c", "acb"));
    CHECK(namespace_matches("team-*-prod", "team-x-prod"));
    CHECK(namespace_matches("team-*-prod", "team--prod"));
    CHECK_FALSE(namespace_matches("team-*-prod", "team-prod"));
    CHECK(namespace_matches("exact", "exact"));
    CHECK_FALSE(namespace_matches("exact", "Exact"));
    CHECK_FALSE(namespace_matches("exact", "exactly"));
    CHECK(namespace_matches("**", ""));
    CHECK_FALSE(namespace_matches("a", ""));
    // Pathological patterns stay fast (single backtrack point).
    CHECK_FALSE(namespace_matches("a*a*a*a*a*a*a*b", std::string(60, 'a')));
}

TEST_CASE("principal: username group namespace and principal id validators", "[principal]") {
    CHECK(validate_username("dev:{{SessionName}}"));
    CHECK(validate_username("x").ok());
    CHECK(validate_username("{{SessionNameRaw}}").code() == "username_placeholder_without_colon");
    CHECK(validate_group("ops", {}).ok());
    const std::vector<std::string> prefixes = {"system:", ""};
    CHECK(validate_group("system:x", prefixes).code() == "reserved_group_prefix");
    CHECK(validate_group("ops", prefixes).ok());  // an empty prefix reserves nothing
    CHECK(validate_namespace_pattern("a").ok());
    CHECK(validate_namespace_pattern("0-9").ok());
    CHECK(validate_namespace_pattern("a.b").code() == "bad_namespace");
    CHECK(validate_principal_id("AROAEXAMPLEID").ok());
    CHECK(validate_principal_id(std::string(129, 'A')).code() == "bad_principal_id");
    CHECK(validate_principal_id("AROA:x").code() == "bad_principal_id");
}
