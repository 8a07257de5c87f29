#pragma once
/// \file
/// The fake's HTTPS server (Beast, one I/O thread). Only server.cpp includes Asio/Beast.

#include "fake_config.hpp"
#include "faults.hpp"

#include "common/secret.hpp"

#include <cstdint>
#include <string>

namespace stsauth::fakests {

struct server_options {
    std::string address = "127.0.0.1";  ///< IP literal to bind
    std::uint16_t port = 0;             ///< 0: ephemeral
    std::string cert_pem;
    secret<std::string> key_pem;
    fake_config config;
    fault_settings faults;  ///< initial faults; POST /_faults changes them
    std::uint64_t seed = 0;  ///< seeds the fault draws
};

/// Binds, prints `listening on <address>:<port>` as the first stdout line (flushed), and serves
/// until SIGINT or SIGTERM. Endpoints: `GET|POST /...` AWS requests (see fake_service.hpp),
/// `GET /_stats`, `POST /_stats/reset`, `GET|POST /_faults`. Returns the process exit code.
/// Throws std::exception on set-up failures (bad address, port in use, bad certificate).
int run_server(server_options options);

}  // namespace stsauth::fakests
