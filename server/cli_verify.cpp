// `stsauth verify` (SPEC-reference §7.2): validates a token locally, asks STS who signed it and
// prints the identity. It performs the real STS call (or goes to --sts-connect-override).

#include "cli.hpp"

#include "authn/identity.hpp"
#include "common/encoding.hpp"
#include "crypto/crypto.hpp"
#include "sts/https_sts_client.hpp"
#include "token/token.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace stsauth::cli {
namespace {

struct verify_options {
    std::string token;
    std::string partition = "aws";
    std::string output;
    std::string connect_override;
    std::string ca_file;
};

int run_verify(const global_options& g, const verify_options& o) {
    if (o.token.empty()) {
        fmt::print(stderr, "error: token not specified\n");
        return exit_failure;
    }
    if (g.cluster_id.empty()) {
        fmt::print(stderr, "error: cluster ID not specified\n");
        return exit_failure;
    }
    auto hosts = token::sts_hosts::make(o.partition);
    if (!hosts) {
        fmt::print(stderr, "could not verify token: {}\n", hosts.err().message);
        return exit_failure;
    }
    token::validation_config vc;
    vc.hosts = std::move(*hosts);
    auto v = token::validate(o.token, vc, std::chrono::system_clock::now());
    if (!v) {
        fmt::print(stderr, "could not verify token: {} ({})\n", v.err().message, v.err().code);
        return exit_failure;
    }

    boost::asio::io_context ioc;
    sts::https_sts_client_config cc;
    cc.connect_override = o.connect_override;
    cc.ca_file = o.ca_file;
    std::optional<sts::sts_outcome> outcome;
    {
        sts::https_sts_client client(ioc, cc);
        client.get_caller_identity({v->host, v->target, g.cluster_id, encoding::hex_encode(crypto::sha256(o.token))},
                                   [&](const sts::sts_outcome& out) { outcome = out; });
        ioc.run();
    }
    if (!outcome || !outcome->ok()) {
        fmt::print(stderr, "could not verify token: sts getCallerIdentity failed: {}\n",
                   outcome ? outcome->reason + (outcome->detail.empty() ? "" : ": " + outcome->detail) : "no answer");
        return exit_failure;
    }
    auto id = authn::make_identity(outcome->identity, v->access_key_id, v->host);
    if (!id) {
        fmt::print(stderr, "could not verify token: {}\n", id.err().message);
        return exit_failure;
    }
    if (o.output == "json") {
        // Go field names, 4-space indent, as the reference prints token.Identity.
        nlohmann::ordered_json j{{"ARN", id->arn},         {"CanonicalARN", id->canonical_arn},
                                 {"AccountID", id->account_id}, {"UserID", id->user_id},
                                 {"SessionName", id->session_name}, {"AccessKeyID", id->access_key_id},
                                 {"STSEndpoint", id->sts_endpoint}};
        fmt::print("{}\n", j.dump(4));
    } else {
        fmt::print("&{{ARN:{} CanonicalARN:{} AccountID:{} UserID:{} SessionName:{} AccessKeyID:{} STSEndpoint:{}}}\n",
                   id->arn, id->canonical_arn, id->account_id, id->user_id, id->session_name, id->access_key_id,
                   id->sts_endpoint);
    }
    return exit_ok;
}

}  // namespace

void register_verify(CLI::App& root, const global_options& globals, command_list& commands) {
    auto* cmd = root.add_subcommand("verify", "Verify a token for debugging purposes (calls STS)");
    auto o = std::make_shared<verify_options>();
    cmd->add_option("-t,--token", o->token, "Token to verify");
    cmd->add_option("--partition", o->partition, "AWS partition of the STS endpoints accepted")->capture_default_str();
    cmd->add_option("-o,--output", o->output, "Output format: json for indented JSON");
    cmd->add_option("--sts-connect-override", o->connect_override, "HOST:PORT to connect to instead of the STS host");
    cmd->add_option("--sts-ca-file", o->ca_file, "Extra PEM CA bundle trusted for STS");
    commands.push_back({cmd, [&globals, o] { return run_verify(globals, *o); }});
}

}  // namespace stsauth::cli
