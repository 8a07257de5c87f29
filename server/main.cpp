// stsauth: the binary. Parses the command line, configures logging, runs one subcommand.

#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    using namespace stsauth::cli;

    global_options globals;
    command_list commands;
    CLI::App app{"stsauth: AWS IAM authentication for Kubernetes (a drop-in aws-iam-authenticator)", "stsauth"};
    // Global flags may follow the subcommand (`stsauth token -i id`), as with cobra's persistent flags.
    app.fallthrough();
    app.require_subcommand(1);
    register_global_flags(app, globals);

    register_server(app, globals, commands);
    register_token(app, globals, commands);
    register_verify(app, globals, commands);
    register_init(app, globals, commands);
    register_add(app, globals, commands);
    register_version(app, globals, commands);
    register_access_entries(app, globals, commands);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);  // prints help, or the error and a hint
        return code == 0 ? exit_ok : exit_usage;
    }

    if (const int rc = configure_logging(globals); rc != exit_ok) return rc;
    try {
        for (const auto& c : commands)
            if (c.app->parsed()) return c.run();
    } catch (const std::exception& e) {
        fmt::print(stderr, "Error: {}\n", e.what());
        return exit_failure;
    }
    fmt::print(stderr, "Error: no command to run\n");
    return exit_usage;
}
