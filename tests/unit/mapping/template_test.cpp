#include "mapping/template.hpp"

#include "helpers.hpp"

using namespace mapping_test;

namespace {

identity session(const std::string& name) {
    identity id = role_identity("123", "r", name);
    id.access_key_id = "ASIAKEY";
    return id;
}

std::string must_render(const std::string& tpl, const identity& id, std::optional<std::string> dns = std::nullopt) {
    auto r = render(tpl, id, dns);
    if (!r) FAIL(r.err().code);
    return *r;
}

}  // namespace

TEST_CASE("TestRenderTemplate rows (part B §4.4)", "[template]") {
    const auto id = session("jdoe@example.com");
    CHECK(must_render("a-{{AccountID}}-b", id) == "a-123-b");
    CHECK(must_render("a-{{SessionName}}-b", id) == "a-jdoe-example.com-b");
    CHECK(must_render("a-{{SessionNameRaw}}-b", id) == "a-jdoe@example.com-b");
    CHECK(must_render("a-{{AccountID}}-{{SessionName}}-{{SessionNameRaw}}-b", id) ==
          "a-123-jdoe-example.com-jdoe@example.com-b");
    auto ec2 = render("a-{{EC2PrivateDNSName}}-b", session("i-aaaaa"), std::string("ip-1"));
    REQUIRE_FALSE(ec2.ok());
    CHECK(ec2.code() == "no_instance_id");
    CHECK(ec2.err().message == "SessionName did not contain an instance id");
}

TEST_CASE("templates: every placeholder, unknown ones verbatim", "[template]") {
    const auto id = session("a@b@c");
    CHECK(must_render("{{AccessKeyID}}", id) == "ASIAKEY");
    CHECK(must_render("{{SessionName}}", id) == "a-b-c");
    CHECK(must_render("plain", id) == "plain");
    CHECK(must_render("", id) == "");
    CHECK(must_render("{{Session}}-{{AccountId}}-{{accountid}}", id) == "{{Session}}-{{AccountId}}-{{accountid}}");
    CHECK(must_render("{{AccountID", id) == "{{AccountID");
    CHECK(must_render("{{{{AccountID}}}}", id) == "{{123}}");
    CHECK(must_render("{AccountID}}{{AccountID}}", id) == "{AccountID}}123");
}

TEST_CASE("templates: substitution is single-pass", "[template]") {
    // The reference replaced sequentially, so a value holding a later placeholder was expanded.
    auto id = session("{{AccountID}}");
    id.account_id = "{{SessionNameRaw}}";
    CHECK(must_render("{{SessionName}}/{{AccountID}}", id) == "{{AccountID}}/{{SessionNameRaw}}");
    CHECK(must_render("{{SessionName}}", session("{{EC2PrivateDNSName}}")) == "{{EC2PrivateDNSName}}");
}

TEST_CASE("templates: EC2 private DNS name", "[template]") {
    CHECK(needs_ec2_dns_name("system:node:{{EC2PrivateDNSName}}"));
    CHECK_FALSE(needs_ec2_dns_name("system:node:{{SessionName}}"));
    CHECK_FALSE(needs_ec2_dns_name("{{EC2PrivateDnsName}}"));

    CHECK(*instance_id_for_ec2(session("i-0c6f21bf1f24f9708")) == "i-0c6f21bf1f24f9708");  // 17
    CHECK(*instance_id_for_ec2(session("i-0c6f21bf")) == "i-0c6f21bf");                    // 8
    for (const char* bad : {"", "i-", "i-aaaaa", "i-0c6f21bf1", "i-0c6f21bf1f24f97080", "x-0c6f21bf",
                            "i-0c6f-1bf", "I-0c6f21bf", "i-0c6f21bf1f24f970.", "ai-0c6f21bf"}) {
        INFO(bad);
        CHECK(instance_id_for_ec2(session(bad)).code() == "no_instance_id");
    }
    const auto node = session("i-0c6f21bf1f24f9708");
    CHECK(must_render("system:node:{{EC2PrivateDNSName}}", node, std::string("ip-172-31-27-14")) ==
          "system:node:ip-172-31-27-14");
    CHECK(render("system:node:{{EC2PrivateDNSName}}", node, std::nullopt).code() == "ec2_dns_unavailable");
    CHECK(render("system:node:{{EC2PrivateDNSName}}", node, std::string()).code() == "ec2_dns_unavailable");
    // Without the placeholder the lookup result is irrelevant.
    CHECK(must_render("{{SessionName}}", node, std::nullopt) == "i-0c6f21bf1f24f9708");
}
