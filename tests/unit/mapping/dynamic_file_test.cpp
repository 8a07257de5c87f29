#include "mapping/dynamic_file.hpp"

#include "helpers.hpp"

using namespace mapping_test;

namespace {

identity with_user_id(identity id, const std::string& user_id) {
    id.user_id = user_id;
    return id;
}

std::string error_of(const std::string& json, bool strict) {
    auto r = load_dynamic_file(json, strict);
    return r ? std::string("ok") : r.err().code + ": " + r.err().message;
}

}  // namespace

TEST_CASE("DynamicFile strict: keyed by userid, ARN checked with paths stripped (TestMap)", "[dynamic_file]") {
    auto loaded = load_dynamic_file(read_fixture("dynamic-file.json"), true);
    REQUIRE(loaded.ok());
    CHECK(loaded->version == "1");
    CHECK(loaded->last_updated_date_time == "1706648530");
    const auto& set = loaded->loaded.mappings;
    CHECK(set.user_id_strict());
    REQUIRE(loaded->loaded.warnings.size() == 1);
    CHECK(loaded->loaded.warnings[0].code == "invalid_arn");
    CHECK(loaded->loaded.warnings[0].message == "mapUsers[1].userarn: not a valid IAM principal ARN; the entry will never match");

    CHECK(lookup(set, with_user_id(role_identity("000000000098", "KubernetesAdmin", "s"), "AROAADMIN")) == "kubernetes-admin");
    // Mapping ARN role/path/for/this-role/matt matches identity role/matt.
    CHECK(lookup(set, with_user_id(role_identity("000000000098", "matt", "s"), "AROAMATT")) == "matt");
    CHECK(lookup(set, with_user_id(user_identity("000000000098", "bob"), "AIDABOB")) == "bob");
    CHECK(lookup(set, with_user_id(user_identity("000000000098", "Bob"), "AIDABOB")) == "bob");
    // Same UserID, different ARN: ErrIDAndARNMismatch.
    CHECK(lookup(set, with_user_id(user_identity("000000000098", "alice"), "AIDABOB")) == "error:arn_userid_mismatch");
    CHECK(lookup(set, with_user_id(role_identity("000000000098", "KubernetesAdmin", "s", "aws-cn"), "AROAADMIN")) ==
          "error:arn_userid_mismatch");
    // An unparsable mapping ARN never matches.
    CHECK(lookup(set, with_user_id(user_identity("000000000098", "garbage"), "AIDAGARBAGE")) == "error:arn_userid_mismatch");
    // No ARN in the entry: the UserID alone decides.
    CHECK(lookup(set, with_user_id(user_identity("000000000098", "anyone"), "AIDAARNLESS")) == "arnless");
    // A principal deleted and recreated with the same name has a new unique id.
    CHECK(lookup(set, with_user_id(role_identity("000000000098", "KubernetesAdmin", "s"), "AROANEWID")).empty());
    CHECK(lookup(set, with_user_id(role_identity("000000000098", "KubernetesAdmin", "s"), "aroaadmin")).empty());
    CHECK(set.account_allowed("012345678901"));

    auto who = make_subject(with_user_id(role_identity("000000000098", "KubernetesAdmin", "s"), "AROAADMIN"));
    REQUIRE(who.ok());
    auto entry = set.find(*who, {});
    REQUIRE(entry.ok());
    REQUIRE(*entry != nullptr);
    CHECK((*entry)->groups == std::vector<std::string>{"system:masters"});
    CHECK((*entry)->userid == "AROAADMIN");
}

TEST_CASE("DynamicFile strict: the userid is required", "[dynamic_file]") {
    CHECK(error_of(R"({"mapRoles":[{"rolearn":"arn:aws:iam::1:role/a","username":"a"}]})", true) ==
          "invalid_mapping: mapRoles[0]: value for rolearn or userid(if dynamicfileUserIDStrict = true) must be supplied");
    CHECK(error_of(R"({"mapUsers":[{"userarn":"arn:aws:iam::1:user/a","userid":""}]})", true) ==
          "invalid_mapping: mapUsers[0]: value for userarn or userid(if dynamicfileUserIDStrict = true) must be supplied");
}

TEST_CASE("DynamicFile non-strict: keyed by ARN (TestWithoutUserIdStrict)", "[dynamic_file]") {
    const std::string json = R"({"mapRoles":[
        {"rolearn":"arn:aws:iam::000000000098:role/path/KubernetesAdmin","username":"admin","userid":"AROAADMIN"},
        {"rolearn":"garbage","username":"garbage"}],
      "mapUsers":[{"userarn":"arn:aws:iam::000000000098:user/Bob","username":"bob","userid":"AIDABOB"}],
      "mapAccounts":[]})";
    auto loaded = load_dynamic_file(json, false);
    REQUIRE(loaded.ok());
    const auto& set = loaded->loaded.mappings;
    CHECK_FALSE(set.user_id_strict());
    CHECK(lookup(set, with_user_id(role_identity("000000000098", "KubernetesAdmin", "s"), "ANYTHING")) == "admin");
    CHECK(lookup(set, with_user_id(user_identity("000000000098", "bob"), "AIDAOTHER")) == "bob");
    CHECK(lookup(set, role_identity("000000000098", "garbage", "s")).empty());
    REQUIRE(loaded->loaded.warnings.size() == 1);
    CHECK(loaded->loaded.warnings[0].message == "mapRoles[1].rolearn: not a valid IAM principal ARN (bad_arn); entry skipped");

    // The strict fixture has an entry without userarn: the whole file is rejected without strict mode.
    CHECK(error_of(read_fixture("dynamic-file.json"), false) ==
          "invalid_mapping: mapUsers[2]: value for userarn or userid(if dynamicfileUserIDStrict = true) must be supplied");
}

TEST_CASE("DynamicFile: duplicates first-wins", "[dynamic_file]") {
    auto loaded = load_dynamic_file(R"({"mapRoles":[{"rolearn":"arn:aws:iam::1:role/a","username":"one","userid":"AROA1"},
                                                     {"rolearn":"arn:aws:iam::1:role/b","username":"two","userid":"AROA1"}]})",
                                    true);
    REQUIRE(loaded.ok());
    CHECK(lookup(loaded->loaded.mappings, with_user_id(role_identity("1", "a", "s"), "AROA1")) == "one");
    REQUIRE(loaded->loaded.warnings.size() == 1);
    CHECK(loaded->loaded.warnings[0].message == "mapRoles[1]: same userid as mapRoles[0]; the first entry wins");
}

TEST_CASE("DynamicFile: malformed files are rejected whole", "[dynamic_file]") {
    CHECK(error_of("", false) == "bad_json: DynamicFile is not valid JSON (syntax error at byte 1)");
    CHECK(error_of(R"({"mapRoles":[{"rolearn":"arn:aws:iam::1:role/SECRET"}] trailing)", false).starts_with("bad_json: "));
    CHECK(error_of(R"({"mapRoles":[{"rolearn":"arn:aws:iam::1:role/SECRET"}] trailing)", false).find("SECRET") ==
          std::string::npos);
    CHECK(error_of("[]", false) == "bad_json: DynamicFile: expected a JSON object");
    CHECK(error_of(R"({"mapRoles":{}})", false) == "invalid_mapping: mapRoles: expected an array, found an object");
    CHECK(error_of(R"({"mapRoles":["x"]})", false) == "invalid_mapping: mapRoles[0]: expected an object, found a string");
    CHECK(error_of(R"({"mapRoles":[{"rolearn":"arn:aws:iam::1:role/a","username":7}]})", false) ==
          "invalid_mapping: mapRoles[0].username: expected a string, found a number");
    CHECK(error_of(R"({"mapUsers":[{"userarn":"arn:aws:iam::1:user/a","groups":"g"}]})", false) ==
          "invalid_mapping: mapUsers[0].groups: expected an array of strings, found a string");
    CHECK(error_of(R"({"mapUsers":[{"userarn":"arn:aws:iam::1:user/a","groups":["g",1]}]})", false) ==
          "invalid_mapping: mapUsers[0].groups[1]: expected a string, found a number");
    CHECK(error_of(R"({"mapAccounts":[12345]})", false) == "invalid_mapping: mapAccounts[0]: expected a string, found a number");
    CHECK(error_of(R"({"Version":1})", false) == "invalid_mapping: Version: expected a string, found a number");
    CHECK(error_of(R"({"mapRoles":[],"MAPROLES":[]})", false) ==
          "invalid_mapping: DynamicFile.mapRoles: key appears more than once (keys are case-insensitive)");
    CHECK(error_of(R"({"mapRoles":[{"rolearn":"arn:aws:iam::1:role/a","RoleArn":"arn:aws:iam::1:role/b"}]})", false) ==
          "invalid_mapping: mapRoles[0].rolearn: key appears more than once (keys are case-insensitive)");
    CHECK(error_of(R"({"mapRoles":[{"rolearn":"arn:aws:iam::1:role/a","userid":"u"}]})" "\xff", false).starts_with("bad_json"));
    CHECK(error_of("{}", false) == "ok");
    CHECK(error_of(R"({"mapRoles":null,"mapUsers":null,"mapAccounts":null,"Unknown":{"x":1}})", true) == "ok");
}
