// stsauth-fake-sts: an HTTPS STS/EC2 test double that really verifies SigV4 (SPEC-decisions A10).
// Composition only: flags, configuration, certificate, then run_server().

#include "fake_config.hpp"
#include "faults.hpp"
#include "server.hpp"

#include "http/certs.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <fstream>
#include <iostream>
#include <random>
#include <string_view>

namespace {

using namespace stsauth;

// Commercial regions (SPEC-reference §1.3, "Known STS regions").
constexpr std::array<std::string_view, 34> commercial_regions{
    "af-south-1",     "ap-east-1",      "ap-east-2",      "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1",     "ap-south-2",     "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1",   "ca-west-1",      "eu-central-1",
    "eu-central-2",   "eu-north-1",     "eu-south-1",     "eu-south-2",     "eu-west-1",      "eu-west-2",
    "eu-west-3",      "il-central-1",   "me-central-1",   "me-south-1",     "mx-central-1",   "sa-east-1",
    "us-east-1",      "us-east-2",      "us-west-1",      "us-west-2"};

bool is_ip_literal(const std::string& s) {
    // Cheap and sufficient: cert generation validates IPs itself.
    return !s.empty() && s.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos &&
           (s.find('.') != std::string::npos || s.find(':') != std::string::npos);
}

http::cert_request fake_cert_request(const std::string& address, const std::vector<std::string>& extra_hosts) {
    http::cert_request req;
    req.common_name = "stsauth-fake-sts";
    req.dns_names.push_back("sts.amazonaws.com");
    for (const auto r : commercial_regions) {
        const std::string region(r);
        for (const auto* prefix : {"sts.", "sts-fips."}) {
            req.dns_names.push_back(prefix + region + ".amazonaws.com");
            req.dns_names.push_back(prefix + region + ".api.aws");
        }
        req.dns_names.push_back("ec2." + region + ".amazonaws.com");
    }
    req.dns_names.push_back("localhost");
    req.ip_addresses = {"127.0.0.1", "::1"};
    if (address != "0.0.0.0" && address != "::" && address != "127.0.0.1" && address != "::1")
        req.ip_addresses.push_back(address);
    for (const auto& h : extra_hosts) (is_ip_literal(h) ? req.ip_addresses : req.dns_names).push_back(h);
    return req;
}

template <class T>
T or_throw(result<T> r, const std::string& what) {
    if (!r.ok()) throw std::runtime_error(what + ": " + r.err().message);
    return std::move(r).value();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"stsauth-fake-sts: an HTTPS STS (GetCallerIdentity) and EC2 (DescribeInstances) test double that "
                 "verifies SigV4 for real"};
    fakests::server_options opts;
    std::string config_path, cert_path, key_path, ca_out, log_level = "info";
    std::vector<std::string> hostnames;
    double latency_ms = 0, slow_body_ms = 0;
    bool seeded = false;
    std::uint64_t seed = 0;

    app.add_option("--address", opts.address, "IP address to listen on")->capture_default_str();
    app.add_option("--port", opts.port, "TCP port; 0 picks a free one")->capture_default_str();
    app.add_option("--config", config_path, "YAML file: credentials and instances (SPEC-decisions A10)")
        ->check(CLI::ExistingFile);
    auto* cert_opt = app.add_option("--cert", cert_path, "PEM certificate (default: generate one)")->check(CLI::ExistingFile);
    auto* key_opt = app.add_option("--key", key_path, "PEM private key of --cert")->check(CLI::ExistingFile);
    cert_opt->needs(key_opt);
    key_opt->needs(cert_opt);
    app.add_option("--ca-out", ca_out, "write the certificate PEM here, for clients to trust");
    app.add_option("--hostname", hostnames, "extra DNS name or IP for the generated certificate (repeatable)");
    app.add_option("--latency-ms", latency_ms, "delay every AWS answer by this many ms")->check(CLI::Range(0.0, 600000.0));
    app.add_option("--throttle-rate", opts.faults.throttle_rate, "fraction of requests answered Throttling")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--error-rate", opts.faults.error_rate, "fraction answered 503 ServiceUnavailable")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--reset-rate", opts.faults.reset_rate, "fraction whose connection is reset without an answer")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--slow-body-ms", slow_body_ms, "trickle every answer's body over this many ms (10 pieces)")
        ->check(CLI::Range(0.0, 600000.0));
    app.add_flag("--oversize-body{" + std::to_string(fakests::default_oversize_bytes) + "}", opts.faults.oversize_bytes,
                 "pad every answer's body to this many bytes (flag alone: 64 KiB + 1)");
    app.add_flag("--redirect{https://redirected.invalid/}", opts.faults.redirect,
                 "answer 302 to this location (flag alone: https://redirected.invalid/)");
    app.add_flag("--xml", opts.faults.xml, "answer STS in XML whatever the Accept header");
    app.add_option("--seed", seed, "seed of the fault draws (default: random)")->each([&](const std::string&) { seeded = true; });
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    try {
        // Logs go to stderr: stdout carries only the "listening on" line.
        spdlog::set_default_logger(spdlog::stderr_logger_mt("fake-sts"));
        spdlog::set_level(spdlog::level::from_str(log_level));

        opts.faults.latency = std::chrono::milliseconds(static_cast<std::int64_t>(latency_ms));
        opts.faults.slow_body = std::chrono::milliseconds(static_cast<std::int64_t>(slow_body_ms));
        if (auto st = fakests::validate(opts.faults); !st.ok()) throw std::runtime_error(st.err().message);
        opts.seed = seeded ? seed : std::random_device{}();

        if (!config_path.empty()) {
            const auto text = or_throw(http::read_file(config_path), "--config");
            opts.config = or_throw(fakests::parse_config(text), config_path);
        } else {
            spdlog::warn("no --config: every signed request will be answered InvalidClientTokenId");
        }

        http::pem_pair pair;
        if (!cert_path.empty()) {
            pair.cert_pem = or_throw(http::read_file(cert_path), "--cert");
            pair.key_pem = secret<std::string>(or_throw(http::read_file(key_path), "--key"));
            if (auto st = http::check_pem_pair(pair); !st.ok()) throw std::runtime_error("--cert/--key: " + st.err().message);
        } else {
            pair = or_throw(http::generate_self_signed(fake_cert_request(opts.address, hostnames)), "certificate");
        }
        if (!ca_out.empty()) {
            std::ofstream out(ca_out, std::ios::binary | std::ios::trunc);
            out << pair.cert_pem;
            if (!out.flush()) throw std::runtime_error("--ca-out: cannot write " + ca_out);
        }
        opts.cert_pem = std::move(pair.cert_pem);
        opts.key_pem = std::move(pair.key_pem);
        return fakests::run_server(std::move(opts));
    } catch (const std::exception& e) {
        std::cerr << "stsauth-fake-sts: " << e.what() << "\n";
        return 1;
    }
}
