#pragma once
/// \file
/// The webhook kubeconfig kube-apiserver reads (`--authentication-token-webhook-config-file`),
/// byte for byte as the reference writes it (SPEC-reference §6.5, pkg/config/kubeconfig).

#include <string>
#include <string_view>

namespace stsauth::config {

/// Go's net.JoinHostPort: a host containing ':' (IPv6) is bracketed.
std::string join_host_port(std::string_view host, int port);

/// `https://` + join_host_port(hostname, port) + `/authenticate`.
std::string webhook_server_url(std::string_view hostname, int port);

/// The kubeconfig text: leading newline, no apiVersion/kind, `certificate-authority-data` =
/// standard base64 of `cert_pem` (the self-signed certificate is its own CA).
std::string webhook_kubeconfig(std::string_view cert_pem, std::string_view hostname, int port);

}  // namespace stsauth::config
