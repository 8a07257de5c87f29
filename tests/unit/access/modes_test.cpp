// Authentication modes (C2): one-way transitions with persisted state, chain filtering and
// precedence over aws-auth; test vectors C9 9-11.

#include "helpers.hpp"

#include "access/modes.hpp"
#include "mapping/sources.hpp"

using namespace access_test;
using config::backend_mode;

namespace {

constexpr authentication_mode cm = authentication_mode::config_map;
constexpr authentication_mode both = authentication_mode::api_and_config_map;
constexpr authentication_mode api = authentication_mode::api;

const std::string entries_yaml = "accessEntries:\n"
                                 "  - principalArn: arn:aws:iam::111122223333:role/Both\n"
                                 "    username: \"entry-both:{{SessionName}}\"\n"
                                 "    kubernetesGroups: [entry-group]\n"
                                 "  - principalArn: arn:aws:iam::111122223333:role/EntryOnly\n"
                                 "    accessPolicies:\n"
                                 "      - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy\n"
                                 "        accessScope: {type: cluster}\n";

/// The configured chain `MountedFile AccessEntries EKSConfigMap` over an empty MountedFile and
/// the aws-auth fixture, run for one identity under a mode; returns "user|g1,g2", "none" or "denied:<code>".
class chain_fixture {
public:
    chain_fixture() {
        auto loaded = mapping::load_configmap_manifest(read_fixture("aws-auth.yaml"));
        REQUIRE(loaded);
        aws_auth_ = std::move(loaded->mappings);
    }

    std::string run(authentication_mode mode, const mapping::identity& id, const std::string& extra_yaml = "") {
        const auto snap = must_load("authenticationMode: " + std::string(to_string(mode)) + "\n" + extra_yaml + entries_yaml);
        const std::array<chain_link, 3> links = {{
            {backend_mode::mounted_file, "MountedFile", &mounted_, {}},
            {backend_mode::access_entries, "AccessEntries", nullptr, {}},
            {backend_mode::eks_config_map, "EKSConfigMap", &aws_auth_, {}},
        }};
        const auto outcome = map_chain(links, &snap, id, {});
        if (const auto* nm = std::get_if<mapping::not_mapped>(&outcome)) {
            std::string out = "none";
            for (const auto& e : nm->errors) out += ":" + e.code;
            return out;
        }
        if (const auto* d = std::get_if<mapping::denied>(&outcome)) return "denied:" + d->reason.code;
        if (const auto* a = std::get_if<mapping::account_allowed>(&outcome)) return a->username + "|";
        const auto& m = std::get<mapping::matched>(outcome);
        auto user = mapping::render_user(m, id, std::nullopt);
        if (!user) return "denied:" + user.code();
        std::string groups;
        for (const auto& g : user->groups) groups += (groups.empty() ? "" : ",") + g;
        backend_ = user->backend;
        return user->username + "|" + groups;
    }

    const std::string& backend() const { return backend_; }

private:
    mapping::mapping_set mounted_;
    mapping::mapping_set aws_auth_;
    std::string backend_;
};

}  // namespace

TEST_CASE("C2.2 transitions are one way", "[modes]") {
    CHECK(transition_allowed(cm, cm));
    CHECK(transition_allowed(cm, both));
    CHECK(transition_allowed(cm, api));
    CHECK(transition_allowed(both, both));
    CHECK(transition_allowed(both, api));
    CHECK(transition_allowed(api, api));
    CHECK_FALSE(transition_allowed(both, cm));
    CHECK_FALSE(transition_allowed(api, cm));
    CHECK_FALSE(transition_allowed(api, both));
}

TEST_CASE("C9 vector 11: persisted API refuses API_AND_CONFIG_MAP and CONFIG_MAP to API is accepted", "[modes][c9]") {
    auto refused = check_mode_transition(std::string_view("API\n"), both, false);
    REQUIRE_FALSE(refused);
    CHECK(refused.code() == "authentication_mode_downgrade");
    CHECK(refused.err().message.find("from API to API_AND_CONFIG_MAP") != std::string::npos);

    auto accepted = check_mode_transition(std::string_view("CONFIG_MAP\n"), api, false);
    REQUIRE(accepted);
    CHECK(accepted->previous == cm);
    CHECK(accepted->current == api);
    CHECK(accepted->changed);
    CHECK_FALSE(accepted->forced);
    CHECK(accepted->state_text == "API\n");
    // The new state is what the next start reads: API_AND_CONFIG_MAP is now refused too.
    CHECK(check_mode_transition(std::string_view(accepted->state_text), both, false).code() == "authentication_mode_downgrade");
}

TEST_CASE("C2.2 state file handling", "[modes]") {
    SECTION("first start writes the state") {
        auto t = check_mode_transition(std::nullopt, both, false);
        REQUIRE(t);
        CHECK_FALSE(t->previous);
        CHECK(t->changed);
        CHECK(t->state_text == "API_AND_CONFIG_MAP\n");
    }
    SECTION("the same mode again is a no-op") {
        auto t = check_mode_transition(std::string_view("  API_AND_CONFIG_MAP \r\n"), both, false);
        REQUIRE(t);
        CHECK_FALSE(t->changed);
        CHECK_FALSE(t->forced);
    }
    SECTION("every forbidden transition is refused, naming both modes") {
        for (const auto& [from, to] : {std::pair{both, cm}, std::pair{api, cm}, std::pair{api, both}}) {
            auto t = check_mode_transition(std::string_view(mode_state_text(from)), to, false);
            REQUIRE_FALSE(t);
            CHECK(t.err().message.find(std::string(to_string(from)) + " to " + std::string(to_string(to))) != std::string::npos);
        }
    }
    SECTION("--allow-authentication-mode-downgrade overrides for one start") {
        auto t = check_mode_transition(std::string_view("API"), cm, true);
        REQUIRE(t);
        CHECK(t->forced);
        CHECK(t->changed);
        CHECK(t->state_text == "CONFIG_MAP\n");
    }
    SECTION("a corrupt or empty state file is refused unless overridden") {
        CHECK(check_mode_transition(std::string_view(""), api, false).code() == "bad_mode_state");
        CHECK(check_mode_transition(std::string_view("APi"), api, false).code() == "bad_mode_state");
        CHECK(check_mode_transition(std::string_view("API\nAPI\n"), api, false).code() == "bad_mode_state");
        auto forced = check_mode_transition(std::string_view("junk"), api, true);
        REQUIRE(forced);
        CHECK(forced->forced);
    }
    CHECK(*parse_mode_state("CONFIG_MAP") == cm);
    CHECK(*parse_mode_state(mode_state_text(api)) == api);
}

TEST_CASE("C2.3 effective chain per mode with order kept", "[modes]") {
    const std::vector<backend_mode> configured = {backend_mode::mounted_file, backend_mode::access_entries,
                                                  backend_mode::eks_config_map, backend_mode::dynamic_file};
    CHECK(effective_backends(cm, configured) ==
          std::vector<backend_mode>{backend_mode::mounted_file, backend_mode::eks_config_map, backend_mode::dynamic_file});
    CHECK(effective_backends(both, configured) == configured);
    CHECK(effective_backends(api, configured) ==
          std::vector<backend_mode>{backend_mode::mounted_file, backend_mode::access_entries, backend_mode::dynamic_file});
    CHECK(check_backend_order(configured).ok());
    const std::vector<backend_mode> wrong = {backend_mode::eks_config_map, backend_mode::access_entries};
    CHECK(check_backend_order(wrong).code() == "backend_mode_order");
    const std::vector<backend_mode> alone = {backend_mode::eks_config_map};
    CHECK(check_backend_order(alone).ok());
}

TEST_CASE("C9 vector 9: API_AND_CONFIG_MAP with the principal in both sources - the access entry wins without merge", "[modes][c9]") {
    chain_fixture chain;
    CHECK(chain.run(both, role_identity("Both", "alice")) == "entry-both:alice|entry-group");
    CHECK(chain.backend() == "AccessEntries");
    // Each source alone still maps in this mode.
    CHECK(chain.run(both, role_identity("ConfigMapOnly", "bob")) == "aws-auth-only:bob|cm-group");
    CHECK(chain.backend() == "EKSConfigMap");
    CHECK(chain.run(both, role_identity("EntryOnly", "carol")) ==
          "arn:aws:sts::111122223333:assumed-role/EntryOnly/carol|");
    CHECK(chain.run(both, role_identity("Nobody", "x")) == "none");
}

TEST_CASE("C9 vector 10: API ignores aws-auth and CONFIG_MAP ignores access entries", "[modes][c9]") {
    chain_fixture chain;
    CHECK(chain.run(api, role_identity("ConfigMapOnly", "bob")) == "none");
    CHECK(chain.run(api, role_identity("Both", "alice")) == "entry-both:alice|entry-group");
    CHECK(chain.run(api, role_identity("EntryOnly", "carol")) == "arn:aws:sts::111122223333:assumed-role/EntryOnly/carol|");

    CHECK(chain.run(cm, role_identity("EntryOnly", "carol")) == "none");
    CHECK(chain.run(cm, role_identity("Both", "alice")) == "aws-auth-both|aws-auth-group");
    CHECK(chain.backend() == "EKSConfigMap");
    CHECK(chain.run(cm, role_identity("ConfigMapOnly", "bob")) == "aws-auth-only:bob|cm-group");

    // ... and /authorize answers no opinion for the access entry in CONFIG_MAP.
    const auto snap = must_load("authenticationMode: CONFIG_MAP\n" + entries_yaml);
    for (const auto v : {sar_version::v1, sar_version::v1beta1}) {
        const auto r = review(&snap, v, resource("get", "", "pods", "default"), false, role_extra("EntryOnly", "AROAENTRY"));
        CHECK_FALSE(r.d.allowed());
        CHECK(r.d.reason == decision_reason::mode_config_map);
    }
    const auto on = must_load("authenticationMode: API\n" + entries_yaml);
    CHECK(review(&on, sar_version::v1, resource("get", "", "pods", "default"), false, role_extra("EntryOnly", "AROAENTRY"))
              .d.allowed());
}

TEST_CASE("C3 CONFIG_MAP: the cluster creator maps to kubernetes-admin before every backend", "[modes][c3]") {
    chain_fixture chain;
    const std::string creator = "bootstrapClusterCreatorAdminPermissions: true\n"
                                "clusterCreatorArn: arn:aws:iam::111122223333:role/Both\n";
    CHECK(chain.run(cm, role_identity("Both", "alice"), creator) == "kubernetes-admin|system:masters");
    CHECK(chain.backend() == "ClusterCreator");
    // Outside CONFIG_MAP the explicit Both entry wins over the synthesised creator entry.
    CHECK(chain.run(both, role_identity("Both", "alice"), creator) == "entry-both:alice|entry-group");
    // A synthesised creator entry maps like any entry, with the generated username.
    const std::string creator2 = "bootstrapClusterCreatorAdminPermissions: true\n"
                                 "clusterCreatorArn: arn:aws:iam::111122223333:role/ops/Creator\n";
    CHECK(chain.run(api, role_identity("Creator", "dave"), creator2) == "arn:aws:sts::111122223333:assumed-role/Creator/dave|");
    CHECK(chain.run(cm, role_identity("Creator", "dave"), creator2) == "kubernetes-admin|system:masters");
    CHECK(chain.run(cm, role_identity("Other", "dave"), creator2) == "none");
}

TEST_CASE("map_chain without a loaded access snapshot", "[modes]") {
    auto loaded = mapping::load_configmap_manifest(read_fixture("aws-auth.yaml"));
    REQUIRE(loaded);
    const std::array<chain_link, 2> links = {{
        {backend_mode::access_entries, "AccessEntries", nullptr, {}},
        {backend_mode::eks_config_map, "EKSConfigMap", &loaded->mappings, {}},
    }};
    CHECK(std::holds_alternative<mapping::matched>(map_chain(links, nullptr, role_identity("Both", "a"), {})));
    CHECK(std::holds_alternative<mapping::not_mapped>(map_chain(links, nullptr, role_identity("EntryOnly", "a"), {})));
}
