#include "app.hpp"
#include "cpus.hpp"
#include "heap.hpp"

#include "access/entries.hpp"
#include "authorize.hpp"

#include "authn/authenticator.hpp"
#include "aws/environment.hpp"
#include "config/kubeconfig.hpp"
#include "ec2/factory.hpp"
#include "http/certs.hpp"
#include "http/io_pool.hpp"
#include "http/server.hpp"
#include "http/tls_context.hpp"
#include "mapping_sources.hpp"
#include "metrics/metrics.hpp"
#include "metrics/process.hpp"
#include "sts/https_sts_client.hpp"
#include "token/token.hpp"
#include "webhook.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#ifndef STSAUTH_VERSION
#define STSAUTH_VERSION "unversioned"
#endif

namespace stsauth::server {
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

constexpr auto reload_interval = std::chrono::seconds(1);

/// Writes `text` to `path` through a temporary file and a rename, creating parent directories.
status write_file_atomically(const fs::path& path, std::string_view text, fs::perms perms) {
    std::error_code ec;
    if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return make_error("write_failed", "cannot write " + tmp.string());
        out << text;
        if (!out.good()) return make_error("write_failed", "cannot write " + tmp.string());
    }
    fs::permissions(tmp, perms, ec);
    fs::rename(tmp, path, ec);
    if (ec) return make_error("write_failed", "cannot rename " + tmp.string() + ": " + ec.message());
    return ok_status();
}

void log_reload(const reload_event& ev, metrics::reference_metrics& ref, metrics::stsauth_metrics& own) {
    if (ev.backend == access_entries_source) {
        if (ev.ok) spdlog::info("access entries loaded: {}", ev.detail);
        else if (ev.rejected) spdlog::error("access entries refused: {}", ev.detail);
        else spdlog::error("access entries not reloaded, keeping the last good ones: {}", ev.detail);
    } else if (ev.backend == dynamic_backend_mode_source) {
        if (ev.ok) spdlog::info("backend mode file loaded: {}", ev.detail);
        else if (ev.rejected) spdlog::error("backend mode file refused: {}", ev.detail);
        else spdlog::error("backend mode file not loaded: {}", ev.detail);
    } else if (ev.ok) {
        spdlog::info("mappings loaded backend={} {}", ev.backend, ev.detail);
    } else {
        spdlog::error("mappings not reloaded, keeping the last good ones backend={} error={}", ev.backend, ev.detail);
    }
    const auto result = ev.ok ? metrics::reload_result_label::success
                        : ev.rejected ? metrics::reload_result_label::rejected
                                      : metrics::reload_result_label::invalid;
    own.config_reloads.with({ev.backend, result}).inc();
    if (!ev.ok && ev.backend == "DynamicFile") ref.dynamicfile_failures.inc();
    if (ev.e2e_latency_seconds) ref.dynamic_e2e_latency.with({ev.e2e_type}).observe(*ev.e2e_latency_seconds);
    for (const auto& w : ev.warnings) spdlog::warn("mapping warning backend={} {}", ev.backend, w);
    if (!ev.needs_restart.empty()) {
        std::string fields;
        for (const auto& f : ev.needs_restart) fields += (fields.empty() ? "" : ", ") + f;
        spdlog::warn("config changed, needs restart: {} (the running server keeps its start-up values; only "
                     "mapRoles, mapUsers and mapAccounts are reloaded)",
                     fields);
    }
}

void set_dynamic_gauges(const authn::mapping_chain& chain, metrics::reference_metrics& ref) {
    const auto g = dynamic_gauges_of(chain);
    ref.dynamic_file_enabled.set(g.enabled ? 1 : 0);
    ref.dynamic_file_only.set(g.only ? 1 : 0);
}

result<http::pem_pair> certificate_for(const config::server_config& cfg) {
    return http::load_or_create(cfg.state_dir,
                                http::cert_request_for(cfg.address, cfg.hostname, http::key_type::ecdsa_p256));
}

/// The EC2 client behind {{EC2PrivateDNSName}}. It needs a region known without asking
/// instance metadata at start-up (server.ec2.region, AWS_REGION or AWS_DEFAULT_REGION):
/// stsauth never blocks its start on IMDS. Without one, node templates are denied with
/// reason ec2_unavailable and the log says why.
std::unique_ptr<authn::ec2_resolver> make_ec2(asio::io_context& ioc, const config::server_config& cfg,
                                              metrics::reference_metrics& ref) {
    const auto env = aws::process_environment();
    if (cfg.ec2.region.empty() && !env.env("AWS_REGION") && !env.env("AWS_DEFAULT_REGION")) {
        spdlog::info("EC2 lookups for {{{{EC2PrivateDNSName}}}} are off: {}", "set server.ec2.region or AWS_REGION");
        return nullptr;
    }
    ec2::ec2_settings s;
    s.region = cfg.ec2.region;
    s.endpoint = cfg.ec2.endpoint;
    s.connect_override = cfg.ec2.connect_override;
    s.ca_file = cfg.ec2.ca_file;
    s.role_arn = cfg.ec2_describe_instances_role_arn;
    s.source_arn = cfg.source_arn;
    s.resolver.qps = static_cast<double>(cfg.ec2_describe_instances_qps);
    s.resolver.burst = static_cast<double>(cfg.ec2_describe_instances_burst);
    auto& calls = ref.ec2_describe_instances_calls;
    s.resolver.on_call = [&calls] { calls.inc(); };
    try {
        auto setup = ec2::make_ec2_resolver(ioc, std::move(s), env);
        spdlog::info("EC2 lookups for {{{{EC2PrivateDNSName}}}} via {} (region {} from {}, credentials from {})",
                     setup.host, setup.region, setup.region_source, setup.credentials);
        return std::move(setup.resolver);
    } catch (const std::exception& e) {
        spdlog::error("EC2 lookups for {{{{EC2PrivateDNSName}}}} are off: {}", e.what());
        return nullptr;
    }
}

/// The server has been quiet for idle_trim_after: the heaps' free memory goes back to the kernel.
void trim_heap_when_quiet(metrics::stsauth_metrics& own) {
    const auto before = metrics::read_resident_memory_bytes();
    const auto t0 = std::chrono::steady_clock::now();
    const bool released = trim_heap();
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - t0;
    const auto after = metrics::read_resident_memory_bytes();
    own.heap_trims.inc();
    if (before && after)
        spdlog::debug("heap: quiet for {} s, free memory given back: RSS {:.1f} -> {:.1f} MiB in {:.2f} ms{}",
                      idle_trim_after.count(), *before / 1048576.0, *after / 1048576.0, took.count(),
                      released ? "" : " (nothing to release)");
}

}  // namespace

int run_server(const config::server_config& cfg, const std::string& config_path, const start_options& start) {
    spdlog::info("stsauth version {} starting; cluster id {}", STSAUTH_VERSION, cfg.cluster_id);
    for (const auto& w : cfg.warnings) spdlog::warn("config: {}", w);
    // Freed memory stays at the top of each heap between bursts, and goes back to the kernel when
    // the server goes quiet (server/heap.hpp).
    const bool heap_tuned = tune_heap(std::getenv("GLIBC_TUNABLES"));
    if (!heap_tuned) spdlog::info("heap: glibc's malloc settings left as they are");

    // Certificate and key in the state dir (reference §6.4), generated on first start.
    auto pem = certificate_for(cfg);
    if (!pem) {
        spdlog::critical("cannot load or create the TLS certificate in {}: {}", cfg.state_dir, pem.err().message);
        return 1;
    }
    auto tls = http::tls_context_holder::load(
        {fs::path(cfg.state_dir) / "cert.pem", fs::path(cfg.state_dir) / "key.pem", cfg.client_ca_file});
    if (!tls) {
        spdlog::critical("cannot build the TLS context: {}", tls.err().message);
        return 1;
    }

    // Validation settings and the STS host allow-list (A2).
    auto hosts = token::sts_hosts::make(cfg.partition, {}, cfg.sts.extra_hosts);
    if (!hosts) {
        spdlog::critical("invalid STS host settings: {}", hosts.err().message);
        return 1;
    }

    if (start.allow_authentication_mode_downgrade)
        spdlog::warn("--allow-authentication-mode-downgrade: this start accepts an authentication mode that goes back "
                     "from the one persisted in {}/authentication-mode (ACCESS-ENTRIES C2.2)",
                     cfg.state_dir);
    auto sources = mapping_sources::create(cfg, config_path, {}, start.allow_authentication_mode_downgrade,
                                           start.env, start.flags);
    if (!sources) {
        spdlog::critical("{}", sources.err().message);
        return 1;
    }

    metrics::registry registry;
    metrics::reference_metrics ref(registry);
    metrics::stsauth_metrics own(registry, STSAUTH_VERSION);
    metrics::register_process_metrics(registry);

    for (const auto& ev : (*sources)->reload(true)) log_reload(ev, ref, own);
    set_dynamic_gauges(*(*sources)->chain(), ref);
    if (auto entries = (*sources)->access_entries()) set_access_entry_gauges(*entries, own);

    // server.ioThreads, or the CPUs this process may use (a cgroup quota counts).
    const unsigned threads = cfg.io_threads > 0 ? static_cast<unsigned>(cfg.io_threads) : usable_cpus();
    // One io_context per network thread (lib/http/io_pool.hpp): a connection, and the pooled STS
    // connections its reviews use, stay on one thread. Context 0 also runs the listeners'
    // acceptors, the health listener, the EC2 client and the signal handler.
    http::io_pool io(threads);
    asio::io_context& ioc = io.at(0);
    spdlog::info("{} network thread{}{}", threads, threads == 1 ? "" : "s", cfg.io_threads > 0 ? " (server.ioThreads)" : "");

    sts::https_sts_client_config sts_cfg;
    sts_cfg.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.sts.timeout);
    sts_cfg.connect_override = cfg.sts.connect_override;
    sts_cfg.ca_file = cfg.sts.ca_file;
    sts_cfg.max_connections_per_host = static_cast<std::size_t>(cfg.sts.max_connections_per_host);
    sts_cfg.user_agent = std::string("stsauth/") + STSAUTH_VERSION;
    sts::https_sts_client sts(io, sts_cfg);

    authn::authenticator_config auth_cfg;
    auth_cfg.validation.hosts = std::move(*hosts);
    auth_cfg.validation.max_token_bytes = static_cast<std::size_t>(cfg.max_token_bytes);
    auth_cfg.cluster_id = cfg.cluster_id;
    auth_cfg.cache_ttl = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.sts.cache_ttl);
    auto& src = **sources;
    auto ec2 = make_ec2(ioc, cfg, ref);
    authn::authenticator auth(std::move(auth_cfg), sts, [&src] { return src.chain(); }, ec2.get(),
                              [] { return std::chrono::system_clock::now(); });

    webhook_options hook_opts;
    hook_opts.legacy_deny_status = cfg.legacy_deny_status;
    hook_opts.scrubbed_accounts.insert(cfg.scrubbed_accounts.begin(), cfg.scrubbed_accounts.end());
    webhook hook(auth, registry, ref, own, std::move(hook_opts), [&src] { return src.ready(); });

    http::limits limits;
    limits.max_body_bytes = static_cast<std::size_t>(cfg.limits.max_body_bytes);
    limits.max_header_bytes = static_cast<std::size_t>(cfg.limits.max_header_bytes);
    limits.max_connections = static_cast<std::size_t>(cfg.limits.max_connections);
    limits.read_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.limits.read_timeout);
    limits.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.limits.idle_timeout);

    // POST /authorize (ACCESS-ENTRIES C5) beside /authenticate when server.authorization.enabled.
    authorize_endpoint authz([&src] { return src.access_entries(); }, own);
    const bool authorization = cfg.authorization.enabled;
    if (authorization && cfg.access_entries.file.empty())
        spdlog::warn("server.authorization.enabled without server.accessEntries.file: /authorize always has no opinion");
    http::server main_server(io, {cfg.address, static_cast<std::uint16_t>(cfg.port), *tls, limits, "main"},
                             [&hook, &authz, authorization](http::request&& req, http::responder respond) {
                                 if (authorization && req.path() == "/authorize") return respond(authz.handle(req));
                                 hook.handle(std::move(req), std::move(respond));
                             });
    if (auto st = main_server.start(); !st) {
        spdlog::critical("cannot listen on {}: {}", config::join_host_port(cfg.address, static_cast<int>(cfg.port)),
                         st.err().message);
        return 1;
    }
    std::unique_ptr<http::server> health_server;
    if (cfg.health_port != 0) {
        health_server = std::make_unique<http::server>(
            ioc, http::server_config{cfg.health_address.empty() ? "0.0.0.0" : cfg.health_address,
                                     static_cast<std::uint16_t>(cfg.health_port), nullptr, limits, "health"},
            [&hook](http::request&& req, http::responder respond) {
                hook.handle_health(std::move(req), std::move(respond));
            });
        if (auto st = health_server->start(); !st) {
            spdlog::critical("cannot listen on health port {}: {}", cfg.health_port, st.err().message);
            return 1;
        }
    }

    // The webhook kubeconfig (reference §6.5), rewritten on every start unless pre-generated.
    const int port = main_server.port();
    if (!cfg.kubeconfig_pregenerated && !cfg.generate_kubeconfig.empty()) {
        const auto text = config::webhook_kubeconfig(pem->cert_pem, cfg.hostname, port);
        if (auto st = write_file_atomically(cfg.generate_kubeconfig, text,
                                            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                                fs::perms::others_read);
            !st) {
            spdlog::critical("{}", st.err().message);
            return 1;
        }
    }
    spdlog::info("reconfigure your apiserver with `--authentication-token-webhook-config-file={}` to enable "
                 "(assuming default hostname and port)",
                 cfg.generate_kubeconfig);

    // Reload files that changed, once a second; everything on SIGHUP. Reloads run on their own
    // thread (a one-thread io_context): parsing a large mapping file takes a while and must hold
    // no I/O thread; reviews and /readyz read immutable snapshots and never wait for a reload.
    asio::io_context reload_ioc(1);
    std::uint64_t reload_events = 0;
    idle_trim_policy trim_policy(idle_trim_after);
    auto reload_all = [&](bool force) {
        for (const auto& ev : src.reload(force)) {
            log_reload(ev, ref, own);
            ++reload_events;
        }
        set_dynamic_gauges(*src.chain(), ref);
        if (auto entries = src.access_entries()) set_access_entry_gauges(*entries, own);
        auto tls_reload = (*tls)->reload_if_changed();
        if (!tls_reload) {
            spdlog::error("TLS certificate or key not reloaded, keeping the current ones: {}", tls_reload.err().message);
            own.config_reloads.with({"tls", metrics::reload_result_label::invalid}).inc();
        } else if (*tls_reload) {
            spdlog::info("TLS certificate and key reloaded");
            own.config_reloads.with({"tls", metrics::reload_result_label::success}).inc();
        }
        const auto pool = sts.stats();
        own.sts_pool_open_connections.set(static_cast<double>(pool.open_connections));
        auth.sweep_cache();  // expired identities go even when no new token arrives to push them out
        if (heap_tuned) {
            const auto served = main_server.stats();
            std::uint64_t activity = 0;
            for (const std::uint64_t part : {served.accepted, std::uint64_t{served.connections}, served.requests,
                                             std::uint64_t{pool.open_connections}, pool.requests_sent,
                                             std::uint64_t{auth.cache_statistics().entries}, reload_events})
                activity = idle_trim_policy::mix(activity, part);
            if (trim_policy.due(activity, std::chrono::steady_clock::now())) trim_heap_when_quiet(own);
        }
    };
    asio::steady_timer reload_timer(reload_ioc);
    std::function<void()> schedule_reload = [&] {
        reload_timer.expires_after(reload_interval);
        reload_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            reload_all(false);
            schedule_reload();
        });
    };
    schedule_reload();

    // SIGTERM/SIGINT: stop accepting, readyz 503, finish in-flight reviews within the grace, exit 0.
    asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
    bool stopping = false;
    std::function<void()> wait_signal = [&] {
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            if (sig == SIGHUP) {
                spdlog::info("SIGHUP: reloading mappings and certificates");
                asio::post(reload_ioc, [&] { reload_all(true); });
                wait_signal();
                return;
            }
            if (stopping) {
                spdlog::warn("second signal: exiting now");
                io.stop();
                return;
            }
            stopping = true;
            spdlog::info("signal {}: draining (grace {} ms)", sig,
                         std::chrono::duration_cast<std::chrono::milliseconds>(cfg.shutdown_grace).count());
            hook.set_draining();
            main_server.drain();
            main_server.async_wait_drained(cfg.shutdown_grace, [&](bool drained) {
                if (drained) spdlog::info("drained; exiting");
                else spdlog::warn("shutdown grace expired with reviews in flight; exiting");
                signals.cancel();
                main_server.stop();
                if (health_server) health_server->stop();
                io.stop();
            });
            wait_signal();
        });
    };
    wait_signal();

    std::thread reload_thread([&reload_ioc] { reload_ioc.run(); });
    io.run();
    reload_ioc.stop();  // a reload under way finishes first; the timer is not waited for
    reload_thread.join();
    return 0;
}

int run_init(const config::server_config& cfg) {
    const bool configured = cfg.gates.configured_init_directories;
    const fs::path dir = configured ? fs::path(cfg.state_dir) : fs::current_path();
    auto pem = http::load_or_create(dir, http::cert_request_for(cfg.address, cfg.hostname, http::key_type::ecdsa_p256));
    if (!pem) {
        spdlog::error("cannot create the certificate in {}: {}", dir.string(), pem.err().message);
        return 1;
    }
    const fs::path kubeconfig = configured ? fs::path(cfg.generate_kubeconfig) : fs::current_path() / "aws-iam-authenticator.kubeconfig";
    const auto text = config::webhook_kubeconfig(pem->cert_pem, cfg.hostname, static_cast<int>(cfg.port));
    if (auto st = write_file_atomically(kubeconfig, text,
                                        fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                            fs::perms::others_read);
        !st) {
        spdlog::error("{}", st.err().message);
        return 1;
    }
    if (!configured) {
        spdlog::info("copy {} to {}", (dir / "cert.pem").string(), (fs::path(cfg.state_dir) / "cert.pem").string());
        spdlog::info("copy {} to {}", (dir / "key.pem").string(), (fs::path(cfg.state_dir) / "key.pem").string());
        spdlog::info("copy {} to {}", kubeconfig.string(), cfg.generate_kubeconfig);
    }
    spdlog::info("configure your apiserver with `--authentication-token-webhook-config-file={}`",
                 configured ? kubeconfig.string() : cfg.generate_kubeconfig);
    return 0;
}

}  // namespace stsauth::server
