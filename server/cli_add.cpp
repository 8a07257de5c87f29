// `stsauth add user|role` (SPEC-reference §7.4): flags registered; editing aws-auth not wired in yet.

#include "cli.hpp"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

namespace stsauth::cli {
namespace {

struct add_options {
    bool prompt = true;
    std::string master_url;
    std::string kubeconfig;
    std::string kubeconfig_context;
    std::string user_arn;
    std::string role_arn;
    std::string sso;
    std::string username;
    std::vector<std::string> groups;
};

}  // namespace

void register_add(CLI::App& root, const global_options&, command_list& commands) {
    auto* add = root.add_subcommand("add", "Add IAM entities to the aws-auth ConfigMap");
    add->require_subcommand(1);
    auto o = std::make_shared<add_options>();
    add->add_flag("--prompt", o->prompt, "Ask before updating (default true; --prompt=false to skip)");
    add->add_option("--master-url", o->master_url, "Kubernetes API server URL");
    add->add_option("--kubeconfig", o->kubeconfig, "kubeconfig of the cluster");
    add->add_option("--kubeconfig-context", o->kubeconfig_context, "kubeconfig context");

    auto* user = add->add_subcommand("user", "Map an IAM user");
    user->add_option("--userarn", o->user_arn, "IAM user ARN")->required();
    user->add_option("--username", o->username, "Kubernetes username")->required();
    user->add_option("--groups", o->groups, "Kubernetes groups")->required()->delimiter(',');
    commands.push_back({user, [o] { return not_implemented("add user"); }});

    auto* role = add->add_subcommand("role", "Map an IAM role or an SSO permission set");
    auto* role_arn = role->add_option("--rolearn", o->role_arn, "IAM role ARN");
    auto* sso = role->add_option("--sso", o->sso, "permissionSetName=…,accountID=…[,partition=…]");
    role_arn->excludes(sso);
    role->add_option("--username", o->username, "Kubernetes username")->required();
    role->add_option("--groups", o->groups, "Kubernetes groups")->required()->delimiter(',');
    commands.push_back({role, [o] { return not_implemented("add role"); }});
}

}  // namespace stsauth::cli
