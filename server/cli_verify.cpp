// `stsauth verify` (SPEC-reference §7.2): flags registered; verification not wired in yet.

#include "cli.hpp"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

namespace stsauth::cli {
namespace {

struct verify_options {
    std::string token;
    std::string partition = "aws";
    std::string output;
};

}  // namespace

void register_verify(CLI::App& root, const global_options&, command_list& commands) {
    auto* cmd = root.add_subcommand("verify", "Verify a token for debugging purposes (calls STS)");
    auto o = std::make_shared<verify_options>();
    cmd->add_option("-t,--token", o->token, "Token to verify");
    cmd->add_option("--partition", o->partition, "AWS partition of the STS endpoints accepted")->capture_default_str();
    cmd->add_option("-o,--output", o->output, "Output format: json for indented JSON");
    commands.push_back({cmd, [o] { return not_implemented("verify"); }});
}

}  // namespace stsauth::cli
