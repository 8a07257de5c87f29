#include "config/kubeconfig.hpp"

#include "common/encoding.hpp"

namespace stsauth::config {

std::string join_host_port(std::string_view host, int port) {
    if (host.find(':') != std::string_view::npos) return "[" + std::string(host) + "]:" + std::to_string(port);
    return std::string(host) + ":" + std::to_string(port);
}

std::string webhook_server_url(std::string_view hostname, int port) {
    return "https://" + join_host_port(hostname, port) + "/authenticate";
}

std::string webhook_kubeconfig(std::string_view cert_pem, std::string_view hostname, int port) {
    return "\n"
           "clusters:\n"
           "  - name: aws-iam-authenticator\n"
           "    cluster:\n"
           "      certificate-authority-data: " +
           encoding::base64_encode(cert_pem) +
           "\n"
           "      server: " +
           webhook_server_url(hostname, port) +
           "\n"
           "# user refers to the API server client\n"
           "users:\n"
           "  - name: apiserver\n"
           "current-context: webhook\n"
           "contexts:\n"
           "- name: webhook\n"
           "  context:\n"
           "    cluster: aws-iam-authenticator\n"
           "    user: apiserver\n";
}

}  // namespace stsauth::config
