#include "ec2/factory.hpp"

#include "aws/shared_config.hpp"
#include "ec2/assume_role.hpp"
#include "ec2/credentials.hpp"
#include "ec2/imds.hpp"

#include <optional>
#include <stdexcept>
#include <utility>

namespace stsauth::ec2 {
namespace {

struct chosen_region {
    std::string name;
    std::string source;
};

chosen_region choose_region(const ec2_settings& s, const aws::environment& env) {
    if (!s.region.empty()) return {s.region, "server config"};
    auto profile = aws::load_profile(env, aws::select_profile(env, std::nullopt));
    if (!profile) throw std::runtime_error("EC2 region: " + profile.err().message);
    auto r = aws::resolve_region(env, std::nullopt, *profile);
    if (!r) throw std::invalid_argument("EC2 region: " + r.err().message);
    if (r->source != "default") return {r->name, r->source};
    auto imds = imds_config_from_environment(env);
    if (!imds) throw std::invalid_argument(imds.err().message);
    if (imds->disabled) return {r->name, "default (instance metadata disabled)"};
    auto from_imds = fetch_imds_region_blocking(*imds);
    if (from_imds) return {*from_imds, "instance metadata"};
    return {r->name, "default (no region from instance metadata: " + from_imds.err().message + ")"};
}

}  // namespace

ec2_setup make_ec2_resolver(boost::asio::io_context& ioc, ec2_settings settings, const aws::environment& env) {
    if (!settings.role_arn.empty()) {
        if (auto st = check_role_arn(settings.role_arn); !st) {
            throw std::invalid_argument("server.ec2DescribeInstancesRoleARN: " + st.err().message);
        }
    }
    ec2_setup out;
    const auto region = choose_region(settings, env);
    out.region = region.name;
    out.region_source = region.source;

    auto creds = make_server_credentials(ioc, env);
    if (!creds) throw std::runtime_error("EC2 credentials: " + creds.err().message);
    std::shared_ptr<credentials_source> signer = std::move(*creds);
    if (!settings.role_arn.empty()) {
        assume_role_config ar;
        ar.role_arn = settings.role_arn;
        ar.source_arn = settings.source_arn;
        ar.region = out.region;
        ar.endpoint = settings.sts_endpoint;
        ar.connect_override = settings.connect_override;
        ar.ca_file = settings.ca_file;
        ar.timeout = settings.call_timeout;
        signer = std::make_shared<assume_role_credentials_source>(ioc, std::move(ar), std::move(signer));
    }
    out.credentials = signer->describe();

    https_ec2_client_config cc;
    cc.region = out.region;
    cc.endpoint = std::move(settings.endpoint);
    cc.connect_override = std::move(settings.connect_override);
    cc.ca_file = std::move(settings.ca_file);
    cc.timeout = settings.call_timeout;
    auto client = std::make_shared<https_ec2_client>(ioc, std::move(cc), std::move(signer));
    out.host = client->host();
    out.resolver = std::make_unique<describe_instances_resolver>(ioc, std::move(client), std::move(settings.resolver));
    return out;
}

}  // namespace stsauth::ec2
