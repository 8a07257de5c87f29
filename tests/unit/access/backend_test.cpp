// The AccessEntries mapping backend (C2.3 steps 2-3): lookups, principal-id protection (C9
// vector 12), node-type usernames and groups, reserved prefixes after rendering.

#include "helpers.hpp"

#include "mapping/sources.hpp"

using namespace access_test;

namespace {

const std::string recreated = "accessEntries:\n"
                              "  - principalArn: arn:aws:iam::111122223333:role/Recreated\n"
                              "    principalId: AROAOLD\n"
                              "    kubernetesGroups: [team]\n"
                              "  - principalArn: arn:aws:iam::111122223333:user/ops/Bob\n"
                              "    principalId: AIDABOB\n";

std::string error_codes(const mapping::mapping_outcome& o) {
    std::string out;
    if (const auto* nm = std::get_if<mapping::not_mapped>(&o)) {
        for (const auto& e : nm->errors) out += (out.empty() ? "" : ",") + e.code;
    }
    return out;
}

}  // namespace

TEST_CASE("C9 vector 12: principalId AROAOLD with STS UserId AROANEW:s is not mapped (principal_id_mismatch)", "[backend][c9]") {
    const auto snap = must_load(recreated);
    // authn splits STS `UserId` "AROANEW:s" into user_id "AROANEW" and session "s".
    const auto id = role_identity("Recreated", "s", "AROANEW");
    const auto outcome = map_identity(snap, id);
    REQUIRE(std::holds_alternative<mapping::not_mapped>(outcome));
    CHECK(error_codes(outcome) == "principal_id_mismatch");
    const auto& message = std::get<mapping::not_mapped>(outcome).errors.front().message;
    CHECK(message.find("accessEntries[0]") != std::string::npos);
    CHECK(message.find("AROANEW") == std::string::npos);

    SECTION("the original principal still maps") {
        CHECK(std::holds_alternative<mapping::matched>(map_identity(snap, role_identity("Recreated", "s", "AROAOLD"))));
    }
    SECTION("no match means the chain goes on to the next backend") {
        auto aws_auth = mapping::load_configmap_manifest(read_fixture("aws-auth.yaml"));
        REQUIRE(aws_auth);
        const std::array<chain_link, 2> links = {{
            {config::backend_mode::access_entries, "AccessEntries", nullptr, {}},
            {config::backend_mode::eks_config_map, "EKSConfigMap", &aws_auth->mappings, {}},
        }};
        std::vector<error> seen;
        const auto chained = map_chain(links, &snap, id, {}, &seen);
        REQUIRE(std::holds_alternative<mapping::matched>(chained));
        CHECK(std::get<mapping::matched>(chained).username_template == "from-aws-auth");
        REQUIRE(seen.size() == 1);  // still reported, for the log
        CHECK(seen[0].code == "principal_id_mismatch");
        const std::array<chain_link, 1> only = {{{config::backend_mode::access_entries, "AccessEntries", nullptr, {}}}};
        CHECK(error_codes(map_chain(only, &snap, id, {})) == "principal_id_mismatch");
    }
    SECTION("users are protected the same way") {
        CHECK(error_codes(map_identity(snap, user_identity("Bob", "AIDANEWBOB"))) == "principal_id_mismatch");
        CHECK(std::holds_alternative<mapping::matched>(map_identity(snap, user_identity("Bob", "AIDABOB"))));
        // STS reports the user's path; the key ignores it either way.
        CHECK(std::holds_alternative<mapping::matched>(map_identity(snap, user_identity("ops/Bob", "AIDABOB"))));
    }
    SECTION("the authorizer refuses the re-created principal too") {
        const auto r = review(&snap, sar_version::v1, resource("get", "", "pods", "default"), false,
                              role_extra("Recreated", "AROANEW"));
        CHECK(r.d.reason == decision_reason::no_entry);
    }
}

TEST_CASE("backend: lookups are by path-less case-insensitive key", "[backend]") {
    const auto snap = must_load("accessEntries:\n  - principalArn: arn:aws:iam::111122223333:role/teams/Dev\n"
                                "    username: \"dev:{{SessionName}}\"\n");
    for (const auto* role : {"Dev", "dev", "DEV"}) {
        INFO(role);
        const auto outcome = map_identity(snap, role_identity(role, "s"));
        REQUIRE(std::holds_alternative<mapping::matched>(outcome));
        const auto& m = std::get<mapping::matched>(outcome);
        CHECK(m.backend == "AccessEntries");
        CHECK(m.username_template == "dev:{{SessionName}}");
    }
    CHECK(error_codes(map_identity(snap, role_identity("Other", "s"))).empty());
    CHECK(std::holds_alternative<mapping::not_mapped>(map_identity(snap, role_identity("Dev", "s", "x", "444455556666"))));
    mapping::identity root;
    root.canonical_arn = "arn:aws:iam::111122223333:root";
    CHECK(error_codes(map_identity(snap, root)) == "invalid_identity");
}

TEST_CASE("backend: STANDARD usernames carry the reserved prefixes and node types none", "[backend]") {
    const auto snap = must_load("accessEntries:\n"
                                "  - principalArn: arn:aws:iam::111122223333:role/Std\n"
                                "  - {principalArn: \"arn:aws:iam::111122223333:role/Linux\", type: EC2_LINUX}\n"
                                "  - {principalArn: \"arn:aws:iam::111122223333:role/Fargate\", type: FARGATE_LINUX}\n"
                                "  - {principalArn: \"arn:aws:iam::111122223333:role/Win\", type: EC2_WINDOWS}\n");
    const auto std_outcome = map_identity(snap, role_identity("Std", "s"));
    REQUIRE(std::holds_alternative<mapping::matched>(std_outcome));
    CHECK(std::get<mapping::matched>(std_outcome).reserved_prefixes ==
          std::vector<std::string>{"system:", "eks:", "aws:", "amazon:", "iam:"});

    SECTION("EC2_LINUX renders system:node:<private DNS name>, exempt from the prefix check") {
        const auto id = role_identity("Linux", "i-0123456789abcdef0");
        const auto outcome = map_identity(snap, id);
        REQUIRE(std::holds_alternative<mapping::matched>(outcome));
        const auto& m = std::get<mapping::matched>(outcome);
        CHECK(m.reserved_prefixes.empty());
        CHECK(mapping::needs_ec2_dns_name(m));
        auto user = mapping::render_user(m, id, std::string("ip-10-0-0-1.ec2.internal"));
        REQUIRE(user);
        CHECK(user->username == "system:node:ip-10-0-0-1.ec2.internal");
        CHECK(user->groups == std::vector<std::string>{"system:nodes"});
    }
    SECTION("EC2_LINUX with a session that is not an instance id is denied (no fall-through)") {
        const auto outcome = map_identity(snap, role_identity("Linux", "attacker"));
        REQUIRE(std::holds_alternative<mapping::denied>(outcome));
        CHECK(std::get<mapping::denied>(outcome).reason.code == "no_instance_id");
    }
    SECTION("FARGATE_LINUX renders the session name") {
        const auto id = role_identity("Fargate", "fargate-ip-10-0-0-1");
        const auto outcome = map_identity(snap, id);
        REQUIRE(std::holds_alternative<mapping::matched>(outcome));
        auto user = mapping::render_user(std::get<mapping::matched>(outcome), id, std::nullopt);
        REQUIRE(user);
        CHECK(user->username == "system:node:fargate-ip-10-0-0-1");
        CHECK(user->groups == std::vector<std::string>{"system:nodes", "system:node-proxier"});
    }
    SECTION("EC2_WINDOWS groups") {
        const auto outcome = map_identity(snap, role_identity("Win", "i-0123456789abcdef0"));
        REQUIRE(std::holds_alternative<mapping::matched>(outcome));
        CHECK(std::get<mapping::matched>(outcome).group_templates ==
              std::vector<std::string>{"system:nodes", "eks:kube-proxy-windows"});
    }
    SECTION("reservedPrefixConfig for AccessEntries adds to STANDARD prefixes, never to node types") {
        const std::vector<std::string> extra = {"ops:", "", "eks:"};
        const auto s = map_identity(snap, role_identity("Std", "s"), extra);
        CHECK(std::get<mapping::matched>(s).reserved_prefixes ==
              std::vector<std::string>{"system:", "eks:", "aws:", "amazon:", "iam:", "ops:"});
        const auto n = map_identity(snap, role_identity("Fargate", "f"), extra);
        CHECK(std::get<mapping::matched>(n).reserved_prefixes.empty());
        const std::array<chain_link, 1> links = {{{config::backend_mode::access_entries, "AccessEntries", nullptr, extra}}};
        CHECK(std::get<mapping::matched>(map_chain(links, &snap, role_identity("Std", "s"), {})).reserved_prefixes.size() == 6);
    }
    SECTION("a rendered STANDARD username with a reserved prefix is denied (defence in depth)") {
        auto m = std::get<mapping::matched>(std_outcome);
        m.username_template = "{{SessionName}}:masters";  // cannot load (C1.4); forced here
        auto user = mapping::render_user(m, role_identity("Std", "system"), std::nullopt);
        REQUIRE_FALSE(user);
        CHECK(user.code() == "reserved_prefix");
    }
}

TEST_CASE("backend: CONFIG_MAP turns the backend off", "[backend]") {
    const auto snap = must_load("authenticationMode: CONFIG_MAP\n" + recreated);
    CHECK(error_codes(map_identity(snap, role_identity("Recreated", "s", "AROAOLD"))).empty());
    CHECK(std::holds_alternative<mapping::not_mapped>(map_identity(snap, role_identity("Recreated", "s", "AROAOLD"))));
}
