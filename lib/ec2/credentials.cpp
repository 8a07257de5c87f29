#include "ec2/credentials.hpp"

#include "aws/credentials.hpp"
#include "aws/shared_config.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <optional>
#include <utility>
#include <vector>

namespace stsauth::ec2 {

namespace detail {

namespace asio = boost::asio;

class imds_credentials_impl : public std::enable_shared_from_this<imds_credentials_impl> {
public:
    imds_credentials_impl(asio::io_context& ioc, imds_config config, std::chrono::seconds refresh_before,
                          imds_credentials_source::clock_fn clock)
        : strand_(asio::make_strand(ioc)),
          client_(ioc, std::move(config)),
          refresh_before_(refresh_before),
          clock_(std::move(clock)) {}

    void get(credentials_source::callback cb) {
        asio::post(strand_, [self = shared_from_this(), cb = std::move(cb)]() mutable { self->do_get(std::move(cb)); });
    }

private:
    void do_get(credentials_source::callback cb) {
        const auto now = clock_();
        if (cached_ && now < cached_->expiration) {
            // Still valid: answer at once; inside the refresh window, refresh in the background.
            if (now + refresh_before_ >= cached_->expiration) fetch();
            return cb(cached_->creds);
        }
        waiters_.push_back(std::move(cb));
        fetch();
    }

    void fetch() {
        if (fetching_) return;
        fetching_ = true;
        client_.role_credentials([self = shared_from_this()](result<timed_credentials> r) {
            asio::post(self->strand_, [self, r = std::move(r)]() mutable { self->on_fetched(std::move(r)); });
        });
    }

    void on_fetched(result<timed_credentials> r) {
        fetching_ = false;
        const auto now = clock_();
        result<sigv4::credentials> out = make_error("ec2_credentials", "");
        if (r && now < r->expiration) {
            cached_ = std::move(*r);
            out = cached_->creds;
        } else if (cached_ && now < cached_->expiration) {
            out = cached_->creds;  // the refresh failed, the cached ones still work
        } else if (!r) {
            out = r.err();
        } else {
            out = make_error("imds_bad_response", "instance metadata returned credentials that have already expired");
        }
        auto waiters = std::move(waiters_);
        waiters_.clear();
        for (auto& w : waiters) w(out);
    }

    asio::strand<asio::io_context::executor_type> strand_;
    imds_client client_;
    const std::chrono::seconds refresh_before_;
    const imds_credentials_source::clock_fn clock_;
    std::optional<timed_credentials> cached_;
    std::vector<credentials_source::callback> waiters_;
    bool fetching_ = false;
};

}  // namespace detail

imds_credentials_source::imds_credentials_source(boost::asio::io_context& ioc, imds_config config,
                                                 std::chrono::seconds refresh_before, clock_fn clock)
    : impl_(std::make_shared<detail::imds_credentials_impl>(ioc, std::move(config), refresh_before, std::move(clock))) {}

imds_credentials_source::~imds_credentials_source() = default;

void imds_credentials_source::get(callback cb) { impl_->get(std::move(cb)); }

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
