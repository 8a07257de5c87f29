#include "config/kubeconfig.hpp"

#include <catch2/catch.hpp>

using namespace stsauth::config;

TEST_CASE("TestServerUrl cases of the reference", "[config][kubeconfig]") {
    CHECK(webhook_server_url("example.com", 6443) == "https://example.com:6443/authenticate");
    CHECK(webhook_server_url("127.0.0.1", 8080) == "https://127.0.0.1:8080/authenticate");
    CHECK(webhook_server_url("2001:db8::1:0", 1234) == "https://[2001:db8::1:0]:1234/authenticate");
    CHECK(webhook_server_url("localhost", 21362) == "https://localhost:21362/authenticate");
    CHECK(join_host_port("::1", 443) == "[::1]:443");
}

TEST_CASE("webhook kubeconfig is byte-exact §6.5", "[config][kubeconfig]") {
    // A PEM is base64-encoded whole, header lines and trailing newline included.
    const std::string pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const std::string expected =
        "\n"
        "clusters:\n"
        "  - name: aws-iam-authenticator\n"
        "    cluster:\n"
        "      certificate-authority-data: "
        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n"
        "      server: https://localhost:21362/authenticate\n"
        "# user refers to the API server client\n"
        "users:\n"
        "  - name: apiserver\n"
        "current-context: webhook\n"
        "contexts:\n"
        "- name: webhook\n"
        "  context:\n"
        "    cluster: aws-iam-authenticator\n"
        "    user: apiserver\n";
    CHECK(webhook_kubeconfig(pem, "localhost", 21362) == expected);

    const auto v6 = webhook_kubeconfig(pem, "2001:db8::1:0", 1234);
    CHECK(v6.find("\n      server: https://[2001:db8::1:0]:1234/authenticate\n") != std::string::npos);
}
