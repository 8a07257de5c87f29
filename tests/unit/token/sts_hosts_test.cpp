// STS host allow-list: SPEC-decisions A2 and every row of SPEC-reference §10.1.

#include "arn/arn.hpp"
#include "token/sts_hosts.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace stsauth;
using namespace stsauth::token;

namespace {

sts_hosts hosts_for(const std::string& partition, const std::string& instance_region = "",
                    const std::vector<std::string>& extra = {}) {
    auto h = sts_hosts::make(partition, instance_region, extra);
    REQUIRE(h.ok());
    return *h;
}

bool accepted(const std::string& partition, const std::string& host, const std::string& instance_region = "") {
    return hosts_for(partition, instance_region).allows(host);
}

}  // namespace

TEST_CASE("partition table matches the ARN library and SPEC-reference §1.3", "[sts_hosts]") {
    REQUIRE(known_partitions().size() == arn::partitions().size());
    for (std::size_t i = 0; i < known_partitions().size(); ++i) CHECK(known_partitions()[i].name == arn::partitions()[i]);
    CHECK(find_partition("aws")->domain == "amazonaws.com");
    CHECK(find_partition("aws")->dualstack_domain == "api.aws");
    CHECK(find_partition("aws-cn")->domain == "amazonaws.com.cn");
    CHECK(find_partition("aws-cn")->dualstack_domain == "api.amazonwebservices.com.cn");
    CHECK(find_partition("aws-us-gov")->domain == "amazonaws.com");
    CHECK(find_partition("aws-iso")->dualstack_domain.empty());
    CHECK(find_partition("aws-iso-b")->domain == "sc2s.sgov.gov");
    CHECK(find_partition("aws-iso-e")->domain == "cloud.adc-e.uk");
    CHECK(find_partition("aws-iso-f")->domain == "csp.hci.ic.gov");
    CHECK(find_partition("aws-eusc")->domain == "amazonaws.eu");
    CHECK(find_partition("aws-eusc")->dualstack_domain == "api.amazonwebservices.eu");
    CHECK(find_partition("aws-not-a-partition") == nullptr);
    CHECK(find_partition("AWS") == nullptr);
}

TEST_CASE("valid_region: the reference's TestRegionValidator", "[sts_hosts]") {
    CHECK(valid_region("us-east-1"));
    CHECK(valid_region("local"));
    CHECK(valid_region("9-west-1"));
    CHECK_FALSE(valid_region("invalid.com"));
    CHECK_FALSE(valid_region("@invalid.com/%23"));
    CHECK_FALSE(valid_region("us_east_1"));
    CHECK_FALSE(valid_region(""));
    CHECK_FALSE(valid_region("-us-east-1"));
    CHECK_FALSE(valid_region("us-east-"));
}

TEST_CASE("region_in_partition follows the SDK region patterns", "[sts_hosts]") {
    const auto& aws = *find_partition("aws");
    const auto& gov = *find_partition("aws-us-gov");
    for (auto r : {"us-east-1", "us-west-2", "eu-central-2", "ap-southeast-7", "il-central-1", "mx-central-1",
                   "af-south-1", "me-central-1", "sa-east-1", "ca-west-1"})
        CHECK(region_in_partition(aws, r));
    for (auto r : {"us-gov-east-1", "us-iso-east-1", "us-isob-east-1", "cn-north-1", "eu-isoe-west-1", "eusc-de-east-1",
                   "not-a-region", "default-region", "us-east-1a", "us-east", "useast-1", "us--1", "us-east-1-"})
        CHECK_FALSE(region_in_partition(aws, r));
    CHECK(region_in_partition(gov, "us-gov-west-1"));
    CHECK_FALSE(region_in_partition(gov, "us-east-1"));
    CHECK(region_in_partition(*find_partition("aws-cn"), "cn-northwest-1"));
    CHECK(region_in_partition(*find_partition("aws-iso"), "us-iso-west-1"));
    CHECK(region_in_partition(*find_partition("aws-iso-b"), "us-isob-east-1"));
    CHECK(region_in_partition(*find_partition("aws-iso-e"), "eu-isoe-west-1"));
    CHECK(region_in_partition(*find_partition("aws-iso-f"), "us-isof-south-1"));
    CHECK(region_in_partition(*find_partition("aws-eusc"), "eusc-de-east-1"));
    CHECK_FALSE(region_in_partition(*find_partition("aws-eusc"), "eusc-fr-east-1"));
}

TEST_CASE("sts_region_label and signing_region: the reference's TestGetStsRegion", "[sts_hosts]") {
    CHECK(sts_region_label("sts.amazonaws.com") == "global");
    CHECK(sts_region_label("sts.us-west-2.amazonaws.com") == "us-west-2");
    CHECK(sts_region_label("sts.eu-central-1.amazonaws.com") == "eu-central-1");
    CHECK(sts_region_label("sts-fips.us-west-2.amazonaws.com") == "us-west-2");
    CHECK(sts_region_label("").empty());
    CHECK(sts_region_label("sts").empty());
    CHECK(sts_region_label("sts.wrongformat").empty());
    CHECK(signing_region("sts.amazonaws.com") == "us-east-1");
    CHECK(signing_region("sts.cn-north-1.amazonaws.com.cn") == "cn-north-1");
    CHECK(signing_region("sts.us-west-2.api.aws") == "us-west-2");
    CHECK(signing_region("sts.wrongformat").empty());
}

// Every row of SPEC-reference §10.1 (TestSTSEndpoints / TestSTSEndpointResolution).
TEST_CASE("SPEC-reference §10.1 host vectors", "[sts_hosts]") {
    struct row {
        const char* partition;
        const char* host;
        const char* instance_region;
        bool valid;
    };
    const row rows[] = {
        {"aws", "sts.amazonaws.com", "", true},
        {"aws-cn", "sts.amazonaws.com", "", false},
        {"aws-us-gov", "sts.amazonaws.com", "", false},
        {"aws-iso", "sts.amazonaws.com", "", false},
        {"aws-iso-b", "sts.amazonaws.com", "", false},
        {"aws-iso-e", "sts.amazonaws.com", "", false},
        {"aws-iso-f", "sts.amazonaws.com", "", false},
        {"aws-cn", "sts.cn-northwest-1.amazonaws.com.cn", "", true},
        {"aws-cn", "sts.cn-north-1.amazonaws.com.cn", "", true},
        {"aws-cn", "sts.us-iso-east-1.c2s.ic.gov", "", false},
        {"aws-cn", "sts.not-a-region1.amazonaws.com.cn", "", false},
        {"aws-cn", "sts.not-a-region2.amazonaws.com.cn", "not-a-region2", true},
        {"aws", "sts-fips.us-west-2.amazonaws.com", "", true},
        {"aws", "sts-fips.us-east-1.amazonaws.com", "", true},
        {"aws", "sts.amazonaws.com.cn", "", false},
        {"aws", "website.amazonaws.com", "", false},
        {"aws", "sts.default-region.amazonaws.com", "default-region", true},
        {"aws-iso", "sts.us-iso-east-1.c2s.ic.gov", "", true},
        {"aws-iso", "sts.cn-north-1.amazonaws.com.cn", "", false},
        {"aws-iso-b", "sts.cn-north-1.amazonaws.com.cn", "", false},
        {"aws-us-gov", "sts.us-gov-east-1.amazonaws.com", "", true},
        {"aws-cn", "sts-fips.us-east-1.amazonaws.com", "", false},
        {"aws-cn", "sts.us-isob-east-1.amazonaws.com.cn", "", false},
        {"aws-cn", "sts.us-isob-east-1.amazonaws.com.cn", "us-isob-east-1", true},
        {"aws-iso-b", "sts.us-isob-east-1.amazonaws.com.cn", "", false},
        {"aws-iso-b", "sts.us-isob-east-1.amazonaws.com.cn", "us-isob-east-1", false},
        {"aws", "sts.us-west-2.api.aws", "", true},
        {"aws-cn", "sts.cn-north-1.api.amazonwebservices.com.cn", "", true},
        {"aws", "sts.cn-north-1.api.amazonwebservices.com.cn", "", false},
        {"aws", "sts.not-a-region.amazonaws.com", "not-a-region", true},
        {"aws-cn", "sts.not-a-region3.amazonaws.com.cn", "", false},
        {"aws-cn", "sts.not-a-region4.amazonaws.com.cn", "not-a-region4", true},
        {"aws-cn", "sts.not-a-region5.amazonaws.com.cn", "us-west-2", false},
        {"aws-cn", "sts.us-west-2.amazonaws.com.cn", "", false},
        {"aws", "sts.us-west-2.amazonaws.com.cn", "", false},
        {"aws", "sts.us-west-2.amazonaws.com.cn", "us-west-2", false},
        {"aws-cn", "sts.not-a-region.amazonaws.com", "not-a-region", false},
        // A2 is stricter than the reference here: in partition aws the reference accepts ANY
        // syntactically valid region label (its SDK resolver falls back to the commercial format),
        // so it accepts sts.not-a-region.amazonaws.com with instance region "" or "us-west-2".
        // A2 requires the region to match the partition's region pattern; only the instance-region
        // fallback (row above, instance region "not-a-region") still accepts it.
        {"aws", "sts.not-a-region.amazonaws.com", "", false},
        {"aws", "sts.not-a-region.amazonaws.com", "us-west-2", false},
    };
    for (const auto& r : rows) {
        INFO(r.partition << " " << r.host << " instance region \"" << r.instance_region << "\"");
        const auto result = hosts_for(r.partition, r.instance_region).check(r.host);
        CHECK(result.ok() == r.valid);
        if (!result.ok()) CHECK(result.code() == "bad_host");
    }
    for (auto region : {"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ap-south-1", "ap-northeast-1",
                        "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1",
                        "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1"}) {
        INFO(region);
        CHECK(accepted("aws", std::string("sts.") + region + ".amazonaws.com"));
    }
    // "aws-not-a-partition": the reference rejects sts.amazonaws.com for it; stsauth refuses to be
    // configured with it at all, so no host can be accepted.
    CHECK(sts_hosts::make("aws-not-a-partition").code() == "unknown_partition");
}

TEST_CASE("A2 host forms for each partition", "[sts_hosts]") {
    CHECK(accepted("aws", "sts-fips.us-east-2.api.aws"));
    CHECK(accepted("aws", "sts.il-central-1.amazonaws.com"));
    CHECK(accepted("aws-cn", "sts-fips.cn-north-1.amazonaws.com.cn"));
    CHECK(accepted("aws-us-gov", "sts.us-gov-west-1.amazonaws.com"));
    CHECK(accepted("aws-us-gov", "sts-fips.us-gov-west-1.amazonaws.com"));
    CHECK(accepted("aws-us-gov", "sts.us-gov-west-1.api.aws"));
    CHECK(accepted("aws-iso", "sts.us-iso-west-1.c2s.ic.gov"));
    CHECK(accepted("aws-iso-b", "sts.us-isob-east-1.sc2s.sgov.gov"));
    CHECK(accepted("aws-iso-e", "sts.eu-isoe-west-1.cloud.adc-e.uk"));
    CHECK(accepted("aws-iso-f", "sts.us-isof-south-1.csp.hci.ic.gov"));
    CHECK(accepted("aws-eusc", "sts.eusc-de-east-1.amazonaws.eu"));
    CHECK(accepted("aws-eusc", "sts.eusc-de-east-1.api.amazonwebservices.eu"));
    // The reference's QUIRK (aws and aws-us-gov share amazonaws.com) is closed by the region patterns.
    CHECK_FALSE(accepted("aws", "sts.us-gov-east-1.amazonaws.com"));
    CHECK_FALSE(accepted("aws-us-gov", "sts.us-east-1.amazonaws.com"));
    // The iso partitions have no dual-stack domain.
    CHECK_FALSE(accepted("aws-iso", "sts.us-iso-east-1.api.aws"));
    // Other services, other shapes.
    CHECK_FALSE(accepted("aws", "iam.us-east-1.amazonaws.com"));
    CHECK_FALSE(accepted("aws", "sts-fips.amazonaws.com"));
    CHECK_FALSE(accepted("aws", "sts.us-east-1.sts.amazonaws.com"));
    CHECK_FALSE(accepted("aws", "s3.sts.us-east-1.amazonaws.com"));
    CHECK_FALSE(accepted("aws", "sts.us-east-1.amazonaws.com.cn"));
}

TEST_CASE("look-alike, suffix, IP and malformed hosts are refused with bad_host", "[sts_hosts]") {
    const auto aws = hosts_for("aws");
    for (auto host : {"sts.amazonaws.com.evil.example", "sts.us-east-1.amazonaws.com.evil.example",
                      "evil.example.sts.amazonaws.com", "evilsts.amazonaws.com", "sts.us-east-1.amazonaws.co",
                      "sts.us-east-1.amazonawscom", "stsamazonaws.com", "sts.us-east-1.evil-amazonaws.com",
                      "127.0.0.1", "169.254.169.254", "1.2.3.4", "[::1]", "[fd00:ec2::254]", "0x7f000001",
                      "STS.AMAZONAWS.COM", "sts.US-EAST-1.amazonaws.com", "Sts.amazonaws.com",
                      "sts.amazonaws.com.", "sts.us-east-1.amazonaws.com.",
                      "sts%2eamazonaws.com", "sts.amazonaws.com%00", "%73ts.amazonaws.com",
                      "", ".", "..", "sts..amazonaws.com", ".sts.amazonaws.com", "sts.-us-east-1.amazonaws.com",
                      "sts.us_east_1.amazonaws.com", "sts.us-east-1.amazonaws.com\\", "sts.amazonaws.com/x",
                      "sts.amazonaws.com:443", "user@sts.amazonaws.com"}) {
        INFO(host);
        const auto r = aws.check(host);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_host");
    }
}

TEST_CASE("bad_host messages name the host, bounded", "[sts_hosts]") {
    const auto aws = hosts_for("aws");
    CHECK(aws.check("sts.amazonaws.com.evil.example").err().message.find("sts.amazonaws.com.evil.example") !=
          std::string::npos);
    CHECK(aws.check("STS.AMAZONAWS.COM").err().message.find("upper-case") != std::string::npos);
    CHECK(aws.check("sts.amazonaws.com.").err().message.find("trailing dot") != std::string::npos);
    CHECK(aws.check("sts%2eamazonaws.com").err().message.find("percent") != std::string::npos);
    CHECK(hosts_for("aws-cn").check("sts.amazonaws.com").err().message.find("global endpoint") != std::string::npos);
    const std::string long_host = std::string(5000, 'a') + ".amazonaws.com";
    CHECK(aws.check(long_host).err().message.size() < 400);
}

TEST_CASE("instance-region fallback: sts.<region>.<domain> and dual-stack, not fips", "[sts_hosts]") {
    // "newregion-1" does not match the aws region pattern: only the fallback accepts it.
    const auto h = hosts_for("aws", "newregion-1");
    CHECK(h.instance_region() == "newregion-1");
    CHECK(h.allows("sts.newregion-1.amazonaws.com"));
    CHECK(h.allows("sts.newregion-1.api.aws"));
    CHECK_FALSE(h.allows("sts-fips.newregion-1.amazonaws.com"));
    CHECK_FALSE(h.allows("sts.newregion-1.amazonaws.com.cn"));
    CHECK_FALSE(h.allows("sts.newregion-2.amazonaws.com"));
    CHECK_FALSE(hosts_for("aws").allows("sts.newregion-1.amazonaws.com"));
    // The reference's Test_getDefaultHostNameForRegion, with service sts.
    CHECK(hosts_for("aws-iso-e", "eu-isoe-west-1").allows("sts.eu-isoe-west-1.cloud.adc-e.uk"));
    CHECK(hosts_for("aws-iso-e", "eu-isoe-test-1").allows("sts.eu-isoe-test-1.cloud.adc-e.uk"));
    CHECK(hosts_for("aws-iso", "us-iso-test-1").allows("sts.us-iso-test-1.c2s.ic.gov"));
    // No dual-stack fallback where the partition has no dual-stack domain.
    CHECK_FALSE(hosts_for("aws-iso", "us-iso-test-1").allows("sts.us-iso-test-1.api.aws"));
}

TEST_CASE("configuration errors", "[sts_hosts]") {
    CHECK(sts_hosts::make("").code() == "unknown_partition");
    CHECK(sts_hosts::make("AWS").code() == "unknown_partition");
    CHECK(sts_hosts::make("aws", "test_123").code() == "bad_instance_region");
    CHECK(sts_hosts::make("aws", "US-EAST-1").code() == "bad_instance_region");
    CHECK(sts_hosts::make("aws", "-x").code() == "bad_instance_region");
    for (const std::string bad : {"localhost", "fake.test", "sts.us-east-1.fake.test.", "sts.us_east_1.fake.test",
                                  "sts.us-east-1.fake.test:8443", "user@sts.us-east-1.fake.test", "", "sts..x.y"}) {
        INFO(bad);
        CHECK(sts_hosts::make("aws", "", std::vector<std::string>{bad}).code() == "bad_extra_host");
    }
    CHECK(sts_hosts{}.partition().name == "aws");
    CHECK(sts_hosts{}.allows("sts.amazonaws.com"));
}

TEST_CASE("extra hosts are exact names", "[sts_hosts]") {
    const auto h = hosts_for("aws-cn", "", {"sts.us-east-1.fake-sts.test", "STS.Eu-West-1.Mirror.Example"});
    CHECK(h.allows("sts.us-east-1.fake-sts.test"));
    CHECK(h.allows("sts.eu-west-1.mirror.example"));  // configured names are lower-cased
    CHECK_FALSE(h.allows("STS.Eu-West-1.Mirror.Example"));  // the token's host must be lower-case
    CHECK_FALSE(h.allows("x.sts.us-east-1.fake-sts.test"));
    CHECK_FALSE(h.allows("sts.us-east-1.fake-sts.test.evil"));
    CHECK_FALSE(h.allows("sts.us-east-2.fake-sts.test"));
    CHECK_FALSE(h.allows("sts.amazonaws.com"));
    CHECK(h.allows("sts.cn-north-1.amazonaws.com.cn"));  // the partition's own hosts still pass
}
