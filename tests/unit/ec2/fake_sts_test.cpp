// The resolver and the HTTPS client against stsauth-fake-sts, which answers EC2
// DescribeInstances from its config and verifies SigV4 for real (an implementation that shares
// nothing with this client but lib/sigv4's primitives, and is checked against botocore).

#include "ec2/ec2_client.hpp"
#include "ec2/resolver.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace stsauth;
using namespace stsauth::ec2;
using namespace stsauth::ec2::testing;
using namespace std::chrono_literals;

namespace {

/// stsauth-fake-sts on 127.0.0.1, port 0, with the fakests interop config; stopped with SIGTERM.
class fake_sts_process {
public:
    fake_sts_process() {
        ca_file_ = (std::filesystem::temp_directory_path() / ("stsauth-ec2-fakests-" + std::to_string(::getpid()) + ".pem"))
                       .string();
        const std::string bin = STSAUTH_FAKE_STS_BIN;
        const std::string config = std::string(STSAUTH_TEST_DATA_DIR) + "/fakests/credentials.yaml";
        if (!std::filesystem::exists(bin)) throw std::runtime_error("build stsauth-fake-sts first: " + bin);
        int out[2];
        if (::pipe(out) != 0) throw std::runtime_error("pipe");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        std::vector<std::string> args{bin, "--config", config, "--port", "0", "--ca-out", ca_file_, "--log-level", "warn"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const int rc = posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        if (rc != 0) {
            ::close(out[0]);
            throw std::runtime_error("cannot start " + bin);
        }
        // First stdout line: "listening on 127.0.0.1:<port>" (bounded wait).
        std::string line;
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
            pollfd p{out[0], POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            char buf[256];
            const auto n = ::read(out[0], buf, sizeof buf);
            if (n <= 0) break;
            line.append(buf, static_cast<std::size_t>(n));
        }
        ::close(out[0]);
        const std::string prefix = "listening on ";
        const auto eol = line.find('\n');
        if (!line.starts_with(prefix) || eol == std::string::npos) {
            stop();
            throw std::runtime_error("stsauth-fake-sts did not report its address");
        }
        address_ = line.substr(prefix.size(), eol - prefix.size());
    }
    ~fake_sts_process() {
        stop();
        std::error_code ignored;
        std::filesystem::remove(ca_file_, ignored);
    }
    fake_sts_process(const fake_sts_process&) = delete;
    fake_sts_process& operator=(const fake_sts_process&) = delete;

    const std::string& address() const { return address_; }
    const std::string& ca_file() const { return ca_file_; }

private:
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int status = 0;
        for (int i = 0; i < 500; ++i) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = 0;
                return;
            }
            std::this_thread::sleep_for(10ms);
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = 0;
    }

    pid_t pid_ = 0;
    std::string address_;
    std::string ca_file_;
};

struct fakests_fixture {
    fake_sts_process fake;
    io_runner io;

    std::unique_ptr<describe_instances_resolver> resolver(sigv4::credentials creds) {
        https_ec2_client_config cc;
        cc.region = "us-west-2";
        cc.connect_override = fake.address();
        cc.ca_file = fake.ca_file();
        auto client = std::make_shared<https_ec2_client>(io.ioc(), cc,
                                                         std::make_shared<static_credentials_source>(std::move(creds), "t"));
        resolver_config rc;
        rc.batch_window = 100ms;
        return std::make_unique<describe_instances_resolver>(io.ioc(), client, rc);
    }
};

result<std::string> lookup(describe_instances_resolver& r, const std::string& id) {
    collector<std::string> c;
    r.private_dns_name(id, c.callback());
    REQUIRE(c.wait(1));
    return c.results().front();
}

}  // namespace

TEST_CASE("fake-sts: DescribeInstances signed with a long-term key") {
    fakests_fixture f;
    auto r = f.resolver(example_credentials());
    auto name = lookup(*r, "i-0123456789abcdef0");
    REQUIRE(name.ok());
    CHECK(*name == "ip-10-0-0-1.us-west-2.compute.internal");
    auto unknown = lookup(*r, "i-0123456789abcdef1");
    CHECK(unknown.code() == "ec2_instance_not_found");
}

TEST_CASE("fake-sts: DescribeInstances signed with temporary credentials") {
    fakests_fixture f;
    sigv4::credentials temp;
    temp.access_key_id = "ASIAEXAMPLETEMPKEY01";
    temp.secret_access_key = secret<std::string>("je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY");
    temp.session_token = secret<std::string>(
        "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLXdlc3QtMiJHMEUCIQD+EXAMPLE/token+with/slashes+and+plus==");
    auto r = f.resolver(temp);
    auto name = lookup(*r, "i-0fedcba9876543210");
    REQUIRE(name.ok());
    CHECK(*name == "ip-10-0-0-2.us-west-2.compute.internal");
}

TEST_CASE("fake-sts: a batch with an unknown id") {
    fakests_fixture f;
    auto r = f.resolver(example_credentials());
    collector<std::string> c;
    r->private_dns_name("i-0123456789abcdef0", c.callback());
    r->private_dns_name("i-0fedcba9876543210", c.callback());
    r->private_dns_name("i-0123456789abcdef1", c.callback());
    REQUIRE(c.wait(3));
    std::multiset<std::string> got;
    for (const auto& x : c.results()) got.insert(x.ok() ? *x : x.code());
    CHECK(got == std::multiset<std::string>{"ec2_instance_not_found", "ip-10-0-0-1.us-west-2.compute.internal",
                                            "ip-10-0-0-2.us-west-2.compute.internal"});
    CHECK(r->describe_instances_calls() == 2);
}

TEST_CASE("fake-sts: a wrong secret key is AuthFailure") {
    fakests_fixture f;
    auto creds = example_credentials();
    creds.secret_access_key = secret<std::string>("not-the-secret");
    auto r = f.resolver(creds);
    CHECK(lookup(*r, "i-0123456789abcdef0").code() == "ec2_auth_failure");
}
