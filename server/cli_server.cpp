// `stsauth server` and `stsauth init` (SPEC-reference §6, §7.3; SPEC-decisions A1, A7): flags,
// the config (flag > env > file > default), then the composition root in app.cpp.

#include "app.hpp"
#include "cli.hpp"

#include "config/duration.hpp"
#include "config/server_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace stsauth::cli {
namespace {

/// Flag values as given; only flags the user actually set become overrides.
struct server_options {
    std::string partition = "aws";
    std::string generate_kubeconfig = "/etc/kubernetes/aws-iam-authenticator/kubeconfig.yaml";
    bool kubeconfig_pregenerated = false;
    std::string state_dir = "/var/aws-iam-authenticator";
    std::string kubeconfig;
    std::string master;
    std::string address = "127.0.0.1";
    std::vector<std::string> backend_mode{"MountedFile"};
    int port = 21362;
    int ec2_describe_instances_qps = 15;
    int ec2_describe_instances_burst = 5;
    std::string sts_connect_override;
    std::string sts_ca_file;
    std::string sts_timeout;
    std::string sts_cache_ttl;
    std::string hostname = "localhost";  // init only
    bool allow_authentication_mode_downgrade = false;  // server only; this start only, not a config key
};

/// Loads the config: the -c file, or the embedded default config when there is none.
result<config::server_config> load(const global_options& g, const config::overrides& flags, bool* embedded) {
    const config::env_lookup getenv = [](const char* name) { return std::getenv(name); };
    const auto env = config::overrides_from_env(getenv);
    *embedded = g.config_file.empty();
    if (*embedded)
        return config::load_server_config_text(config::embedded_default_config(), "embedded default config", env,
                                               flags);
    return config::load_server_config(g.config_file, env, flags);
}

result<config::overrides> flag_overrides(const CLI::App& cmd, const global_options& g, const server_options& o) {
    config::overrides f;
    f.origin = config::overrides::kind::flag;
    auto given = [&](const char* name) {
        const auto* opt = cmd.get_option_no_throw(name);
        return opt != nullptr && opt->count() > 0;
    };
    if (!g.cluster_id.empty()) f.cluster_id = g.cluster_id;
    if (!g.feature_gates.empty()) {
        auto gates = config::parse_feature_gates(g.feature_gates);
        if (!gates) return gates.err();
        f.feature_gates = std::move(*gates);
    }
    if (given("--partition")) f.partition = o.partition;
    if (given("--generate-kubeconfig")) f.generate_kubeconfig = o.generate_kubeconfig;
    if (given("--kubeconfig-pregenerated")) f.kubeconfig_pregenerated = o.kubeconfig_pregenerated;
    if (given("--state-dir")) f.state_dir = o.state_dir;
    if (given("--kubeconfig")) f.kubeconfig = o.kubeconfig;
    if (given("--master")) f.master = o.master;
    if (given("--address")) f.address = o.address;
    if (given("--hostname")) f.hostname = o.hostname;
    if (given("--backend-mode")) {
        std::vector<std::string> modes;
        for (const auto& v : o.backend_mode)
            for (auto& m : config::split_backend_mode_flag(v)) modes.push_back(std::move(m));
        f.backend_mode = std::move(modes);
    }
    if (given("--port")) f.port = o.port;
    if (given("--ec2-describeInstances-qps")) f.ec2_describe_instances_qps = o.ec2_describe_instances_qps;
    if (given("--ec2-describeInstances-burst")) f.ec2_describe_instances_burst = o.ec2_describe_instances_burst;
    if (given("--sts-connect-override")) f.sts_connect_override = o.sts_connect_override;
    if (given("--sts-ca-file")) f.sts_ca_file = o.sts_ca_file;
    for (auto [flag, value, target] : {std::tuple{"--sts-timeout", &o.sts_timeout, &f.sts_timeout},
                                       std::tuple{"--sts-cache-ttl", &o.sts_cache_ttl, &f.sts_cache_ttl}}) {
        if (!given(flag)) continue;
        auto d = config::parse_go_duration(*value);
        if (!d) return make_error("bad_flag", fmt::format("{}: {}", flag, d.err().message));
        *target = *d;
    }
    return f;
}

int run(const CLI::App& cmd, const global_options& g, const server_options& o, bool init) {
    auto flags = flag_overrides(cmd, g, o);
    if (!flags) {
        fmt::print(stderr, "Error: {}\n", flags.err().message);
        return exit_usage;
    }
    bool embedded = false;
    auto cfg = load(g, *flags, &embedded);
    if (!cfg) {
        fmt::print(stderr, "Error: {}\n", cfg.err().message);
        return exit_failure;
    }
    if (init) return server::run_init(*cfg);
    server::start_options start;
    start.allow_authentication_mode_downgrade = o.allow_authentication_mode_downgrade;
    start.env = config::overrides_from_env([](const char* name) { return std::getenv(name); });
    start.flags = *flags;
    return server::run_server(*cfg, embedded ? std::string() : g.config_file, start);
}

void add_common_flags(CLI::App* cmd, server_options& o) {
    cmd->add_option("--address", o.address, "IP address to listen on (server) or put in the certificate (init)")
        ->capture_default_str();
    cmd->add_option("--state-dir", o.state_dir, "State directory for the TLS certificate and key")
        ->capture_default_str();
    cmd->add_option("--generate-kubeconfig", o.generate_kubeconfig, "Output path of the webhook kubeconfig")
        ->capture_default_str();
}

}  // namespace

void register_server(CLI::App& root, const global_options& globals, command_list& commands) {
    auto* cmd = root.add_subcommand("server", "Run a webhook validation server suitable for the Kubernetes authenticator");
    auto o = std::make_shared<server_options>();
    add_common_flags(cmd, *o);
    cmd->add_option("--partition", o->partition, "AWS partition of the STS endpoints accepted")->capture_default_str();
    cmd->add_flag("--kubeconfig-pregenerated", o->kubeconfig_pregenerated,
                  "The webhook kubeconfig was generated beforehand (do not write it)");
    cmd->add_option("--kubeconfig", o->kubeconfig, "kubeconfig for the EKSConfigMap and CRD backends");
    cmd->add_option("--master", o->master, "Kubernetes API server address (overrides the kubeconfig)");
    cmd->add_option("--backend-mode", o->backend_mode, "Mapping backends, in order")->delimiter(',');
    cmd->add_option("--port", o->port, "Port to listen on")->capture_default_str();
    cmd->add_option("--ec2-describeInstances-qps", o->ec2_describe_instances_qps, "EC2 DescribeInstances QPS")
        ->capture_default_str();
    cmd->add_option("--ec2-describeInstances-burst", o->ec2_describe_instances_burst, "EC2 DescribeInstances burst")
        ->capture_default_str();
    cmd->add_option("--sts-connect-override", o->sts_connect_override, "HOST:PORT to connect to for every STS request");
    cmd->add_option("--sts-ca-file", o->sts_ca_file, "Extra PEM CA bundle trusted for STS");
    cmd->add_option("--sts-timeout", o->sts_timeout, "Timeout of one STS exchange (e.g. 10s)");
    cmd->add_option("--sts-cache-ttl", o->sts_cache_ttl, "Verified-identity cache TTL (0 disables)");
    cmd->add_flag("--allow-authentication-mode-downgrade", o->allow_authentication_mode_downgrade,
                  "For this start only, accept an access-entries authenticationMode that goes back from the "
                  "persisted one (disaster recovery)");
    commands.push_back({cmd, [cmd, &globals, o] { return run(*cmd, globals, *o, false); }});
}

void register_init(CLI::App& root, const global_options& globals, command_list& commands) {
    auto* cmd = root.add_subcommand("init", "Pre-generate the certificate, key and kubeconfig for the server");
    auto o = std::make_shared<server_options>();
    add_common_flags(cmd, *o);
    cmd->add_option("--hostname", o->hostname, "Hostname in the certificate and the kubeconfig URL")
        ->capture_default_str();
    cmd->add_option("--port", o->port, "Port in the kubeconfig URL")->capture_default_str();
    commands.push_back({cmd, [cmd, &globals, o] { return run(*cmd, globals, *o, true); }});
}

}  // namespace stsauth::cli
