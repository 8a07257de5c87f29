// list_json: what `stsauth access-entries list` prints.

#include "helpers.hpp"

#include "access/describe.hpp"

using namespace access_test;

TEST_CASE("list_json shows effective entries with generated usernames automatic groups and granted rules", "[describe]") {
    const auto snap = must_load("authenticationMode: API\n"
                                "bootstrapClusterCreatorAdminPermissions: true\n"
                                "clusterCreatorArn: arn:aws:iam::111122223333:role/Creator\n"
                                "accessEntries:\n"
                                "  - principalArn: arn:aws:iam::111122223333:role/teams/Dev\n"
                                "    principalId: AROADEV\n"
                                "    accessPolicies:\n"
                                "      - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSSecretReaderPolicy\n"
                                "        accessScope: {type: namespace, namespaces: [\"dev-*\"]}\n"
                                "    tags: {team: dev}\n"
                                "  - {principalArn: \"arn:aws:iam::111122223333:role/Win\", type: EC2_WINDOWS}\n");
    const auto j = nlohmann::json::parse(list_json(snap));
    CHECK(j["authenticationMode"] == "API");
    CHECK(j["bootstrapClusterCreatorAdminPermissions"] == true);
    REQUIRE(j["accessEntries"].size() == 3);
    const auto& dev = j["accessEntries"][0];
    CHECK(dev["index"] == 0);
    CHECK(dev["username"] == "arn:aws:sts::111122223333:assumed-role/Dev/{{SessionName}}");
    CHECK(dev["usernameGenerated"] == true);
    CHECK(dev["principalId"] == "AROADEV");
    CHECK(dev["tags"]["team"] == "dev");
    const auto& policy = dev["accessPolicies"][0];
    CHECK(policy["accessScope"]["type"] == "namespace");
    CHECK(policy["accessScope"]["namespaces"] == nlohmann::json::array({"dev-*"}));
    CHECK(policy["grants"] == true);
    CHECK(policy["rules"] == nlohmann::json::parse(R"([{"apiGroups":[""],"resources":["secrets"],"verbs":["get","list","watch"]}])"));
    const auto& win = j["accessEntries"][1];
    CHECK(win["username"] == "system:node:{{EC2PrivateDNSName}}");
    CHECK(win["groups"] == nlohmann::json::array({"system:nodes", "eks:kube-proxy-windows"}));
    CHECK(win["kubernetesGroups"].empty());
    CHECK_FALSE(win.contains("principalId"));
    const auto& creator = j["accessEntries"][2];
    CHECK(creator["synthesized"] == true);
    CHECK_FALSE(creator.contains("index"));
    CHECK(creator["accessPolicies"][0]["rules"].size() == 2);
}

TEST_CASE("list_json: undocumented policies list no rules unless opted in", "[describe]") {
    const std::string text = "accessEntries:\n"
                             "  - principalArn: arn:aws:iam::111122223333:role/Auto\n"
                             "    type: EC2\n"
                             "    accessPolicies:\n"
                             "      - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy\n"
                             "        accessScope: {type: cluster}\n";
    const auto off = nlohmann::json::parse(list_json(must_load(text)));
    CHECK(off["accessEntries"][0]["accessPolicies"][0]["grants"] == false);
    CHECK(off["accessEntries"][0]["accessPolicies"][0]["rules"].empty());
    auto s = test_settings();
    s.allow_inferred_policies = true;
    const auto on = nlohmann::json::parse(list_json(must_load(text, s)));
    const auto& p = on["accessEntries"][0]["accessPolicies"][0];
    CHECK(p["inferredRules"] == true);
    REQUIRE(p["rules"].size() == 1);
    CHECK(p["rules"][0]["inferred"] == true);
    CHECK(p["rules"][0]["resourceNames"].size() == 7);
}
