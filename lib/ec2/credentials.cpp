#include "ec2/credentials.hpp"

#include "aws/credentials.hpp"
#include "aws/shared_config.hpp"
#include "ec2/cached_credentials.hpp"

#include <optional>
#include <utility>

namespace stsauth::ec2 {

imds_credentials_source::imds_credentials_source(boost::asio::io_context& ioc, imds_config config,
                                                 std::chrono::seconds refresh_before, clock_fn clock)
    : client_(std::make_shared<imds_client>(ioc, std::move(config))),
      cache_(std::make_shared<detail::cached_credentials>(
          [client = client_](detail::cached_credentials::done_fn done) { client->role_credentials(std::move(done)); },
          refresh_before, std::move(clock))) {}

imds_credentials_source::~imds_credentials_source() = default;

void imds_credentials_source::get(callback cb) { cache_->get(std::move(cb)); }

std::string imds_credentials_source::describe() const { return "EC2 instance metadata (IMDSv2)"; }

result<std::shared_ptr<credentials_source>> make_server_credentials(boost::asio::io_context& ioc,
                                                                     const aws::environment& env) {
    auto profile = aws::load_profile(env, aws::select_profile(env, std::nullopt));
    if (!profile) return profile.err();
    const auto chain = aws::default_credential_chain(env, *profile);
    auto found = chain.retrieve();
    if (!found) return found.err();
    if (*found) {
        return std::shared_ptr<credentials_source>(
            std::make_shared<static_credentials_source>(std::move(**found), "environment or shared credentials files"));
    }
    auto imds = imds_config_from_environment(env);
    if (!imds) return imds.err();
    if (imds->disabled) {
        return make_error("no_credentials", "no credentials for EC2 DescribeInstances (looked in: " + chain.where() +
                                                "; instance metadata is disabled)");
    }
    return std::shared_ptr<credentials_source>(std::make_shared<imds_credentials_source>(ioc, std::move(*imds)));
}

}  // namespace stsauth::ec2
