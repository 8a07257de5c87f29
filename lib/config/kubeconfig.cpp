#include "config/kubeconfig.hpp"

#include "common/encoding.hpp"

namespace stsauth::config {

std::string join_host_port(std::string_view host, int port) {
    // Appended piece by piece: `"[" + std::string(host)` trips GCC 12's false -Wrestrict at -O3.
    const bool ipv6 = host.find(':') != std::string_view::npos;
    std::string out;
    if (ipv6) out += '[';
    out += host;
    if (ipv6) out += ']';
    out += ':';
    out += std::to_string(port);
    return out;
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
