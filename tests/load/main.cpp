// stsauth-load: the parts of the load harness wrk cannot do (scripts/bench.sh drives it).
//
//   stsauth-load fake-config --keys K --out creds.yaml       credentials of the token family
//   stsauth-load gen --count N --first-key F --keys K --cluster-id ID --out tokens.txt
//   stsauth-load run --port P --ca cert.pem --tokens tokens.txt [--mode closed|rate|burst|probe] ...
//   stsauth-load wake [--rounds N]                           what a wake-up costs here (wake.hpp)
//
// `run` prints key=value lines (see client.hpp) on stdout; tokens are never printed.

#include "client.hpp"
#include "tokens.hpp"
#include "wake.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace stsauth;

int write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
        fmt::print(stderr, "stsauth-load: cannot write {}\n", path);
        return 1;
    }
    return 0;
}

result<std::vector<std::string>> read_lines(const std::string& path, std::size_t limit) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("unreadable", "cannot read " + path);
    std::vector<std::string> lines;
    for (std::string line; (limit == 0 || lines.size() < limit) && std::getline(in, line);)
        if (!line.empty()) lines.push_back(std::move(line));
    return lines;
}

/// key=value lines: wake_same_cpu_* (both processes on the first allowed CPU), when the process
/// may use two CPUs wake_cross_cpu_* (the first two), and wake_unpinned_* (the scheduler's choice).
int print_wake_figures(std::size_t rounds) {
    const auto cpus = load::allowed_cpus();
    if (cpus.empty()) {
        fmt::print(stderr, "stsauth-load wake: no CPU to run on\n");
        return 1;
    }
    std::vector<std::pair<const char*, std::pair<int, int>>> pairs{{"same_cpu", {cpus[0], cpus[0]}}};
    if (cpus.size() > 1) pairs.push_back({"cross_cpu", {cpus[0], cpus[1]}});
    pairs.push_back({"unpinned", {load::any_cpu, load::any_cpu}});
    for (const auto& [name, cpu] : pairs) {
        auto f = load::measure_wake_round_trip(cpu.first, cpu.second, rounds);
        if (!f) {
            fmt::print(stderr, "stsauth-load wake: {}: {}\n", f.err().code, f.err().message);
            return 1;
        }
        const auto cpu_name = [](int c) { return c == load::any_cpu ? std::string("any") : std::to_string(c); };
        fmt::print("wake_{0}_cpus={1},{2}\nwake_{0}_rounds={3}\nwake_{0}_p50_us={4:.2f}\nwake_{0}_p99_us={5:.2f}\n"
                   "wake_{0}_max_us={6:.2f}\n",
                   name, cpu_name(f->cpu_a), cpu_name(f->cpu_b), f->rounds, f->p50_us, f->p99_us, f->max_us);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"stsauth-load: token generation and an HTTPS load client for the stsauth load harness"};
    app.require_subcommand(1);

    load::key_family family;
    std::size_t keys = 100;
    std::string out;
    auto* fake = app.add_subcommand("fake-config", "write the stsauth-fake-sts credentials of keys [0, --keys)");
    fake->add_option("--keys", keys, "number of keys")->capture_default_str();
    fake->add_option("--account", family.account, "account of every caller")->capture_default_str();
    fake->add_option("--role", family.role, "role of every caller (assumed-role/<role>/load-<i>)")->capture_default_str();
    fake->add_option("--out", out, "output file")->required();

    load::token_batch_spec spec;
    std::int64_t window_s = 300;
    auto* gen = app.add_subcommand("gen", "write N distinct tokens, one a line, signed now as `stsauth token` signs");
    gen->add_option("--count", spec.count, "tokens")->capture_default_str();
    gen->add_option("--first-key", spec.first_key, "first key index")->capture_default_str();
    gen->add_option("--keys", spec.keys, "keys used from --first-key on")->capture_default_str();
    gen->add_option("--window-s", window_s, "signing times spread over the last S seconds (tokens live 15 min)")
        ->check(CLI::Range(0, 600))
        ->capture_default_str();
    gen->add_option("--region", spec.region, "STS region")->capture_default_str();
    gen->add_option("--cluster-id", spec.cluster_id, "cluster id (x-k8s-aws-id)")->required();
    gen->add_option("--out", out, "output file")->required();

    load::run_options ro;
    std::string tokens_file, kind = "review", mode = "closed";
    double duration_s = 5, timeout_s = 10, port = 0;
    std::size_t token_limit = 0;
    auto* run = app.add_subcommand("run", "drive load at an HTTPS server on loopback and print key=value results");
    run->add_option("--address", ro.address, "loopback IP of the server")->capture_default_str();
    run->add_option("--port", port, "port")->required()->check(CLI::Range(1, 65535));
    run->add_option("--server-name", ro.server_name, "SNI and certificate name")->capture_default_str();
    run->add_option("--ca", ro.ca_file, "PEM certificate(s) to trust")->required()->check(CLI::ExistingFile);
    run->add_option("--kind", kind, "review (POST TokenReviews), get (GET --path), sts (GET the presigned URLs), "
                    "body (POST each line of --tokens as it is)")
        ->check(CLI::IsMember({"review", "get", "sts", "body"}))
        ->capture_default_str();
    run->add_option("--path", ro.path, "request path for review and get")->capture_default_str();
    run->add_option("--cluster-id", ro.cluster_id, "x-k8s-aws-id for --kind sts");
    run->add_option("--tokens", tokens_file, "token file (one a line)")->check(CLI::ExistingFile);
    run->add_option("--token-limit", token_limit, "use only the first N tokens (0: all)")->capture_default_str();
    run->add_option("--mode", mode, "closed, rate, burst or probe")
        ->check(CLI::IsMember({"closed", "rate", "burst", "probe"}))
        ->capture_default_str();
    run->add_option("--connections,-c", ro.connections, "keep-alive connections")->capture_default_str();
    run->add_option("--rate", ro.rate, "requests per second (rate mode)");
    double tick_us = 100;
    run->add_option("--tick-us", tick_us, "rate mode: shortest pause between two timer wakeups, microseconds")
        ->check(CLI::Range(0.0, 10000.0))
        ->capture_default_str();
    run->add_option("--duration", duration_s, "seconds of load (probe: give up after)")
        ->check(CLI::Range(0.0, 600.0))
        ->capture_default_str();
    run->add_option("--requests", ro.max_requests, "stop after this many requests (0: no limit)")->capture_default_str();
    run->add_option("--timeout", timeout_s, "per-request and connect timeout, seconds")
        ->check(CLI::Range(0.1, 120.0))
        ->capture_default_str();
    run->add_option("--probe-until", ro.probe_until, "probe: stop when an answer body contains this");
    double probe_interval_ms = 5;
    run->add_option("--probe-interval-ms", probe_interval_ms, "probe: pause between requests")->capture_default_str();

    std::size_t rounds = 20000;
    auto* wake = app.add_subcommand("wake", "time wake-up round trips between two processes, on one CPU and across two");
    wake->add_option("--rounds", rounds, "timed round trips per pair of CPUs")->check(CLI::Range(1, 10'000'000))->capture_default_str();

    CLI11_PARSE(app, argc, argv);

    if (wake->parsed()) return print_wake_figures(rounds);

    if (fake->parsed()) return write_file(out, load::fake_sts_config(family, keys));

    if (gen->parsed()) {
        spec.window = std::chrono::seconds(window_s);
        spec.now = std::chrono::system_clock::now();
        auto tokens = load::make_tokens(spec);
        if (!tokens) {
            fmt::print(stderr, "stsauth-load gen: {}\n", tokens.err().message);
            return 2;
        }
        std::string text;
        text.reserve(tokens->size() * (tokens->empty() ? 0 : tokens->front().size() + 1));
        for (const auto& t : *tokens) text.append(t).push_back('\n');
        return write_file(out, text);
    }

    ro.port = static_cast<std::uint16_t>(port);
    ro.kind = kind == "review" ? load::request_kind::review
              : kind == "get"  ? load::request_kind::get
              : kind == "body" ? load::request_kind::body
                               : load::request_kind::sts;
    ro.mode = mode == "closed" ? load::run_mode::closed
              : mode == "rate" ? load::run_mode::rate
              : mode == "burst" ? load::run_mode::burst
                                : load::run_mode::probe;
    ro.duration = std::chrono::milliseconds(static_cast<std::int64_t>(duration_s * 1000));
    ro.request_timeout = ro.connect_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout_s * 1000));
    ro.probe_interval = std::chrono::milliseconds(static_cast<std::int64_t>(probe_interval_ms));
    ro.tick = std::chrono::microseconds(static_cast<std::int64_t>(tick_us));
    if (!tokens_file.empty()) {
        auto lines = read_lines(tokens_file, token_limit);
        if (!lines) {
            fmt::print(stderr, "stsauth-load run: {}\n", lines.err().message);
            return 2;
        }
        ro.tokens = std::move(*lines);
    }
    auto report = load::run_load(ro);
    if (!report) {
        fmt::print(stderr, "stsauth-load run: {}: {}\n", report.err().code, report.err().message);
        return 1;
    }
    std::fputs(load::format_report(*report).c_str(), stdout);
    return 0;
}
