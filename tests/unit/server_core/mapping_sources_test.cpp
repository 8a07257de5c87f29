// Each file backend of `stsauth server`: first load, reload on change, last good kept when a
// file turns bad, and the chain order of --backend-mode.
#include "support/temp_dir.hpp"
#include "config/server_config.hpp"
#include "mapping_sources.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

using namespace stsauth;
namespace fs = std::filesystem;

namespace {

struct temp_dir : stsauth::test::temp_dir {
    temp_dir() : stsauth::test::temp_dir("stsauth-sources") {}
};

// Writes through a temporary file and a rename, as editors and kubelet do; bumps the mtime.
void write(const fs::path& p, const std::string& text) {
    const auto tmp = p.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
    }
    fs::rename(tmp, p);
}

config::server_config config_for(const std::string& yaml) {
    auto c = config::load_server_config_text(yaml, "test.yaml", {}, {});
    REQUIRE(c.ok());
    return std::move(*c);
}

mapping::identity role(const std::string& name, const std::string& session = "s") {
    mapping::identity id;
    id.arn = "arn:aws:sts::111122223333:assumed-role/" + name + "/" + session;
    id.canonical_arn = "arn:aws:iam::111122223333:role/" + name;
    id.account_id = "111122223333";
    id.user_id = "AROAEXAMPLE";
    id.session_name = session;
    return id;
}

/// The username the current chain gives `id`, or "" when it is not mapped.
std::string username(const server::mapping_sources& src, const mapping::identity& id) {
    const auto chain = src.chain();
    std::vector<mapping::backend_ref> refs;
    for (const auto& b : chain->backends) refs.push_back({b.name, b.mappings.get(), b.reserved_prefixes});
    const auto out = mapping::map_identity(refs, id, chain->flags);
    if (const auto* m = std::get_if<mapping::matched>(&out)) return m->username_template;
    if (const auto* a = std::get_if<mapping::account_allowed>(&out)) return a->username;
    return "";
}

std::string mounted(const std::string& role_name, const std::string& user) {
    return "clusterID: c\nserver:\n  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/" + role_name +
           "\n    username: " + user + "\n";
}

}  // namespace

TEST_CASE("MountedFile: loads, reloads on change, keeps the last good mappings", "[server][sources]") {
    temp_dir dir;
    const auto file = dir.path / "config.yaml";
    write(file, mounted("Admin", "admin"));
    auto src = server::mapping_sources::create(config_for(mounted("Admin", "admin")), file.string());
    REQUIRE(src.ok());
    auto& s = **src;
    CHECK_FALSE(s.ready());
    auto events = s.reload(false);
    REQUIRE(events.size() == 1);
    CHECK(events[0].ok);
    CHECK(s.ready());
    CHECK(username(s, role("Admin")) == "admin");

    CHECK(s.reload(false).empty());  // nothing changed

    write(file, mounted("Admin", "root-admin"));
    events = s.reload(false);
    REQUIRE(events.size() == 1);
    CHECK(events[0].ok);
    CHECK(username(s, role("Admin")) == "root-admin");

    write(file, "clusterID: c\nserver:\n  mapRoles:\n  - rolearn: not-an-arn\n    username: x\n");
    events = s.reload(false);
    REQUIRE(events.size() == 1);
    CHECK_FALSE(events[0].ok);
    CHECK_FALSE(events[0].detail.empty());
    CHECK(username(s, role("Admin")) == "root-admin");  // last good kept

    CHECK(s.reload(true).size() == 1);  // SIGHUP reloads even without a change
}

TEST_CASE("EKSConfigMap from a manifest file and from a mounted ConfigMap directory", "[server][sources]") {
    temp_dir dir;
    const auto manifest = dir.path / "aws-auth.yaml";
    write(manifest, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: aws-auth, namespace: kube-system}\ndata:\n"
                    "  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Dev\n      username: dev\n");
    auto cfg = config_for("clusterID: c\nserver:\n  backendMode: [EKSConfigMap]\n  awsAuthFile: " + manifest.string() +
                          "\n");
    auto src = server::mapping_sources::create(cfg, "");
    REQUIRE(src.ok());
    REQUIRE((*src)->reload(false).at(0).ok);
    CHECK(username(**src, role("Dev")) == "dev");
    write(manifest, "kind: ConfigMap\ndata:\n  mapRoles: |\n    - rolearn: [broken\n");
    CHECK_FALSE((*src)->reload(false).at(0).ok);
    CHECK(username(**src, role("Dev")) == "dev");

    // A ConfigMap volume: one file per key behind kubelet's ..data symlink.
    const auto mount = dir.path / "mount";
    fs::create_directories(mount / "..2026_01");
    write(mount / "..2026_01" / "mapRoles", "- rolearn: arn:aws:iam::111122223333:role/Ops\n  username: ops\n");
    fs::create_directory_symlink("..2026_01", mount / "..data");
    fs::create_symlink("..data/mapRoles", mount / "mapRoles");
    auto dir_cfg = config_for("clusterID: c\nserver:\n  backendMode: [EKSConfigMap]\n  awsAuthFile: " +
                              mount.string() + "\n");
    auto dsrc = server::mapping_sources::create(dir_cfg, "");
    REQUIRE(dsrc.ok());
    REQUIRE((*dsrc)->reload(false).at(0).ok);
    CHECK(username(**dsrc, role("Ops")) == "ops");

    // kubelet's update: a new timestamped directory, then an atomic swap of ..data.
    fs::create_directories(mount / "..2026_02");
    write(mount / "..2026_02" / "mapRoles", "- rolearn: arn:aws:iam::111122223333:role/Ops\n  username: ops2\n");
    fs::create_directory_symlink("..2026_02", mount / "..data_tmp");
    fs::rename(mount / "..data_tmp", mount / "..data");
    const auto events = (*dsrc)->reload(false);
    REQUIRE(events.size() == 1);
    CHECK(events[0].ok);
    CHECK(username(**dsrc, role("Ops")) == "ops2");
}

TEST_CASE("DynamicFile: missing file maps nothing, then loads when it appears", "[server][sources]") {
    temp_dir dir;
    const auto file = dir.path / "dynamic.json";
    auto cfg = config_for("clusterID: c\nserver:\n  backendMode: [DynamicFile]\n  dynamicfilepath: " + file.string() +
                          "\n");
    auto src = server::mapping_sources::create(cfg, "");
    REQUIRE(src.ok());
    REQUIRE((*src)->reload(false).at(0).ok);
    CHECK(username(**src, role("Dyn")).empty());
    write(file, R"({"Version":"1","LastUpdatedDateTime":"1706648530","mapRoles":[{"rolearn":"arn:aws:iam::111122223333:role/Dyn","username":"dyn","groups":[]}]})");
    REQUIRE((*src)->reload(false).at(0).ok);
    CHECK(username(**src, role("Dyn")) == "dyn");
    write(file, "{not json");
    CHECK_FALSE((*src)->reload(false).at(0).ok);
    CHECK(username(**src, role("Dyn")) == "dyn");
}

TEST_CASE("the chain follows --backend-mode order, unsupported backends fail at start-up", "[server][sources]") {
    temp_dir dir;
    const auto file = dir.path / "dynamic.json";
    write(file, R"({"mapRoles":[{"rolearn":"arn:aws:iam::111122223333:role/Both","username":"from-dynamic"}]})");
    const std::string yaml = "clusterID: c\nserver:\n  backendMode: [DynamicFile, MountedFile]\n  dynamicfilepath: " +
                             file.string() +
                             "\n  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/Both\n    username: from-file\n";
    auto src = server::mapping_sources::create(config_for(yaml), "");
    REQUIRE(src.ok());
    (*src)->reload(false);
    CHECK(username(**src, role("Both")) == "from-dynamic");
    REQUIRE((*src)->chain()->backends.size() == 2);
    CHECK((*src)->chain()->backends[0].name == "DynamicFile");

    auto crd = server::mapping_sources::create(config_for("clusterID: c\nserver:\n  backendMode: [CRD]\n"), "");
    REQUIRE_FALSE(crd.ok());
    CHECK(crd.code() == "unsupported_backend");
    auto no_file = server::mapping_sources::create(config_for("clusterID: c\nserver:\n  backendMode: [EKSConfigMap]\n"), "");
    REQUIRE_FALSE(no_file.ok());
    CHECK(no_file.code() == "missing_aws_auth_file");
}

// ---- server.dynamicBackendModePath (part B §5.5) and the e2e latency (§5.4) -------------------

namespace {

struct fake_clock {
    std::chrono::system_clock::time_point now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
    server::mapping_sources::clock_fn fn() {
        return [this] { return now; };
    }
};

std::string chain_names(const server::mapping_sources& src) {
    std::string out;
    for (const auto& b : src.chain()->backends) out += (out.empty() ? "" : " ") + b.name;
    return out;
}

std::string mode_file(const std::string& modes, const std::string& updated = "1799999990") {
    return R"({"LastUpdatedDateTime":")" + updated + R"(","Version":"1","backendMode":")" + modes + R"("})";
}

const server::reload_event* find_event(const std::vector<server::reload_event>& events, const std::string& backend) {
    for (const auto& e : events)
        if (e.backend == backend) return &e;
    return nullptr;
}

struct dynamic_setup {
    temp_dir dir;
    fs::path dynamic = dir.path / "dynamic.json";
    fs::path modes = dir.path / "backend-mode.json";
    fake_clock clock;

    std::string yaml(const std::string& extra = "") const {
        return "clusterID: c\nserver:\n  backendMode: [DynamicFile, MountedFile]\n  dynamicfilepath: " +
               dynamic.string() + "\n  dynamicBackendModePath: " + modes.string() + "\n" + extra +
               "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/Both\n    username: from-file\n";
    }
    void write_dynamic(const std::string& user, const std::string& updated = "1799999990") {
        write(dynamic, R"({"Version":"1","LastUpdatedDateTime":")" + updated +
                           R"(","mapRoles":[{"rolearn":"arn:aws:iam::111122223333:role/Both","username":")" + user +
                           R"("}]})");
    }
};

}  // namespace

TEST_CASE("backend-mode file: switches the chain, refuses what it cannot build, reverts on deletion",
          "[server][sources][backend-mode]") {
    dynamic_setup s;
    s.write_dynamic("from-dynamic");
    auto src = server::mapping_sources::create(config_for(s.yaml()), "", s.clock.fn());
    REQUIRE(src.ok());
    auto& m = **src;
    auto events = m.reload(false);
    CHECK(find_event(events, "dynamic_backend_mode") == nullptr);  // no file: nothing to say
    CHECK(chain_names(m) == "DynamicFile MountedFile");
    CHECK(username(m, role("Both")) == "from-dynamic");
    CHECK(m.ready());

    // Only MountedFile: the file mapping answers.
    write(s.modes, mode_file("MountedFile"));
    events = m.reload(false);
    const auto* ev = find_event(events, "dynamic_backend_mode");
    REQUIRE(ev != nullptr);
    CHECK(ev->ok);
    CHECK(ev->detail == "backend chain MountedFile (was DynamicFile MountedFile)");
    CHECK_FALSE(ev->e2e_latency_seconds);  // the first load of the file is not observed
    CHECK(chain_names(m) == "MountedFile");
    CHECK(username(m, role("Both")) == "from-file");

    // Reversed order, duplicates allowed (as the reference), extra blanks ignored.
    s.clock.now += std::chrono::seconds(3);
    write(s.modes, mode_file("MountedFile  DynamicFile MountedFile"));
    events = m.reload(false);
    ev = find_event(events, "dynamic_backend_mode");
    REQUIRE(ev != nullptr);
    CHECK(ev->ok);
    CHECK(chain_names(m) == "MountedFile DynamicFile MountedFile");
    CHECK(username(m, role("Both")) == "from-file");
    REQUIRE(ev->e2e_latency_seconds);
    CHECK(*ev->e2e_latency_seconds == Approx(13.0));  // 1800000003 - 1799999990
    CHECK(ev->e2e_type == "dynamic_backend_mode");

    // An unknown name, a backend without its settings, CRD, an empty list, bad JSON: refused,
    // the chain stays.
    for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
             {mode_file("DynamicFile Bogus"), "backend mode \"Bogus\" is not a valid mode"},
             {mode_file("EKSConfigMap"), "backend EKSConfigMap needs server.awsAuthFile"},
             {mode_file("CRD"), "backend CRD"},
             {mode_file("  "), "backendMode names no backend"},
             {"{\"backendMode\": 7}", "backendMode: expected a string"},
             {"not json", "not valid JSON"}}) {
        INFO(text);
        write(s.modes, text);
        events = m.reload(false);
        ev = find_event(events, "dynamic_backend_mode");
        REQUIRE(ev != nullptr);
        CHECK_FALSE(ev->ok);
        CHECK(ev->detail.find(why) != std::string::npos);
        CHECK(ev->detail.find("keeping backend chain MountedFile DynamicFile MountedFile") != std::string::npos);
        CHECK(chain_names(m) == "MountedFile DynamicFile MountedFile");
    }
    CHECK(m.ready());

    // Deleted: back to --backend-mode.
    fs::remove(s.modes);
    events = m.reload(false);
    ev = find_event(events, "dynamic_backend_mode");
    REQUIRE(ev != nullptr);
    CHECK(ev->ok);
    CHECK(ev->detail.find("removed; back to --backend-mode: DynamicFile MountedFile") != std::string::npos);
    CHECK(chain_names(m) == "DynamicFile MountedFile");
    CHECK(username(m, role("Both")) == "from-dynamic");
}

TEST_CASE("backend-mode file: a backend outside --backend-mode is built from the start-up config and loaded",
          "[server][sources][backend-mode]") {
    dynamic_setup s;
    const auto manifest = s.dir.path / "aws-auth.yaml";
    write(manifest, "kind: ConfigMap\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Both\n"
                    "      username: from-aws-auth\n");
    write(s.modes, mode_file("EKSConfigMap MountedFile"));
    auto src = server::mapping_sources::create(config_for(s.yaml("  awsAuthFile: " + manifest.string() + "\n")), "",
                                               s.clock.fn());
    REQUIRE(src.ok());
    auto events = (*src)->reload(false);
    const auto* ev = find_event(events, "dynamic_backend_mode");
    REQUIRE(ev != nullptr);
    CHECK(ev->ok);
    REQUIRE(find_event(events, "EKSConfigMap") != nullptr);
    CHECK(find_event(events, "EKSConfigMap")->ok);
    CHECK(chain_names(**src) == "EKSConfigMap MountedFile");
    CHECK(username(**src, role("Both")) == "from-aws-auth");
    CHECK((*src)->ready());

    // Its file is watched while it is in the chain.
    write(manifest, "kind: ConfigMap\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Both\n"
                    "      username: aws-auth-2\n");
    events = (*src)->reload(false);
    REQUIRE(find_event(events, "EKSConfigMap") != nullptr);
    CHECK(username(**src, role("Both")) == "aws-auth-2");

    // A backend whose first load fails is not switched to.
    write(manifest, "kind: ConfigMap\ndata:\n  mapRoles: |\n    - rolearn: [broken\n");
    auto broken = server::mapping_sources::create(config_for(s.yaml("  awsAuthFile: " + manifest.string() + "\n")),
                                                  "", s.clock.fn());
    REQUIRE(broken.ok());
    events = (*broken)->reload(false);
    ev = find_event(events, "dynamic_backend_mode");
    REQUIRE(ev != nullptr);
    CHECK_FALSE(ev->ok);
    CHECK(ev->rejected);
    CHECK(ev->detail.find("backend EKSConfigMap cannot load") != std::string::npos);
    CHECK(chain_names(**broken) == "DynamicFile MountedFile");
}

TEST_CASE("dynamic_file_enabled and dynamic_file_only follow the chain", "[server][sources][backend-mode]") {
    dynamic_setup s;
    auto src = server::mapping_sources::create(config_for(s.yaml()), "", s.clock.fn());
    REQUIRE(src.ok());
    (*src)->reload(false);
    auto g = server::dynamic_gauges_of(*(*src)->chain());
    CHECK(g.enabled);
    CHECK_FALSE(g.only);

    write(s.modes, mode_file("DynamicFile"));
    (*src)->reload(false);
    g = server::dynamic_gauges_of(*(*src)->chain());
    CHECK(g.enabled);
    CHECK(g.only);

    write(s.modes, mode_file("MountedFile"));
    (*src)->reload(false);
    g = server::dynamic_gauges_of(*(*src)->chain());
    CHECK_FALSE(g.enabled);  // back to 0, unlike the reference
    CHECK_FALSE(g.only);

    auto plain = server::mapping_sources::create(config_for("clusterID: c\n"), "");
    REQUIRE(plain.ok());
    (*plain)->reload(false);
    g = server::dynamic_gauges_of(*(*plain)->chain());
    CHECK_FALSE(g.enabled);
    CHECK_FALSE(g.only);
}

TEST_CASE("DynamicFile loads after the first observe now - LastUpdatedDateTime", "[server][sources][backend-mode]") {
    dynamic_setup s;
    auto src = server::mapping_sources::create(config_for(s.yaml()), "", s.clock.fn());
    REQUIRE(src.ok());
    auto& m = **src;
    auto events = m.reload(false);  // no file yet: not a load of the file
    REQUIRE(find_event(events, "DynamicFile") != nullptr);
    CHECK_FALSE(find_event(events, "DynamicFile")->e2e_latency_seconds);

    s.write_dynamic("one");
    events = m.reload(false);  // the first load of the file
    REQUIRE(find_event(events, "DynamicFile") != nullptr);
    CHECK_FALSE(find_event(events, "DynamicFile")->e2e_latency_seconds);

    s.write_dynamic("two", "1799999995");
    events = m.reload(false);
    const auto* ev = find_event(events, "DynamicFile");
    REQUIRE(ev != nullptr);
    REQUIRE(ev->e2e_latency_seconds);
    CHECK(*ev->e2e_latency_seconds == Approx(5.0));
    CHECK(ev->e2e_type == "dynamic_file");
    CHECK(username(m, role("Both")) == "two");

    for (const auto& [stamp, why] : std::vector<std::pair<std::string, std::string>>{
             {"1800000100", "in the future"}, {"yesterday", "not a unix time"}, {"", "not a unix time"}}) {
        INFO(stamp);
        s.write_dynamic("three-" + std::to_string(stamp.size()), stamp);
        events = m.reload(false);
        ev = find_event(events, "DynamicFile");
        REQUIRE(ev != nullptr);
        CHECK(ev->ok);  // the mappings load all the same
        CHECK_FALSE(ev->e2e_latency_seconds);
        REQUIRE(ev->warnings.size() == 1);
        CHECK(ev->warnings[0].find(why) != std::string::npos);
    }
}

TEST_CASE("ready() and chain() do not wait for a reload under way", "[server][sources][reload]") {
    temp_dir dir;
    const auto file = dir.path / "config.yaml";
    const auto big = [](const std::string& user) {
        std::string text = "clusterID: c\nserver:\n  mapRoles:\n";
        for (int i = 0; i < 20000; ++i)
            text += "  - rolearn: arn:aws:iam::111122223333:role/R" + std::to_string(i) + "\n    username: " + user +
                    "\n    groups: [g1, g2]\n";
        return text;
    };
    write(file, big("a"));
    auto src = server::mapping_sources::create(config_for("clusterID: c\n"), file.string());
    REQUIRE(src.ok());
    auto& s = **src;
    s.reload(false);
    REQUIRE(s.ready());
    write(file, big("b"));

    std::atomic<bool> done{false};
    std::thread reloader([&] {
        s.reload(false);
        done = true;
    });
    using clk = std::chrono::steady_clock;
    auto worst = clk::duration::zero();
    int calls_during_reload = 0;
    bool always_ready = true;
    while (!done) {
        const auto t0 = clk::now();
        const bool ready = s.ready();
        const auto chain = s.chain();
        const auto took = clk::now() - t0;
        if (done) break;
        always_ready = always_ready && ready && chain != nullptr;
        worst = std::max(worst, took);
        ++calls_during_reload;
    }
    reloader.join();
    CHECK(always_ready);
    // A reader that waited for the reload (the sources mutex) would get at most one call in
    // while it runs; lock-free readers get many, however loaded the machine.
    INFO("worst reader call " << std::chrono::duration_cast<std::chrono::microseconds>(worst).count() << " us");
    CHECK(calls_during_reload > 10);
    CHECK(username(s, role("R19999")) == "b");
}

// ---- AccessEntries (ACCESS-ENTRIES C2, C3) ------------------------------------------------------

namespace {

/// What the served chain (the access-entries mapper when present) says about `id`.
std::string mapped_by_chain(const server::mapping_sources& src, const mapping::identity& id) {
    const auto chain = src.chain();
    if (!chain->map) return username(src, id);
    const auto out = chain->map(id);
    if (const auto* m = std::get_if<mapping::matched>(&out)) return m->backend + ":" + m->username_template;
    return "";
}

struct access_setup {
    temp_dir dir;
    fs::path entries = dir.path / "access-entries.yaml";
    fs::path aws_auth = dir.path / "aws-auth.yaml";
    fs::path state = dir.path / "state";

    access_setup() {
        write(aws_auth, "kind: ConfigMap\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/Dev\n"
                        "      username: cm-dev\n    - rolearn: arn:aws:iam::111122223333:role/Old\n"
                        "      username: cm-old\n");
    }
    void write_entries(const std::string& mode, const std::string& extra = "") {
        write(entries, "authenticationMode: " + mode + "\n" + extra +
                           "accessEntries:\n- principalArn: arn:aws:iam::111122223333:role/teams/Dev\n"
                           "  username: \"ae:{{SessionName}}\"\n  kubernetesGroups: [developers]\n");
    }
    config::server_config cfg() const {
        return config_for("clusterID: c\nserver:\n  stateDir: " + state.string() +
                          "\n  backendMode: [MountedFile, AccessEntries, EKSConfigMap]\n  awsAuthFile: " +
                          aws_auth.string() + "\n  accessEntries:\n    file: " + entries.string() + "\n");
    }
};

}  // namespace

TEST_CASE("AccessEntries: the mode filters the chain, access entries win, the mode only moves forward",
          "[server][sources][access]") {
    access_setup s;
    s.write_entries("API_AND_CONFIG_MAP");
    auto src = server::mapping_sources::create(s.cfg(), "");
    REQUIRE(src.ok());
    auto& m = **src;
    auto events = m.reload(false);
    REQUIRE(find_event(events, "access_entries") != nullptr);
    CHECK(find_event(events, "access_entries")->ok);
    CHECK(m.ready());
    REQUIRE(m.access_entries() != nullptr);
    // C9 #9: in both sources -> the access entry, no merge; aws-auth still answers for the rest.
    CHECK(mapped_by_chain(m, role("Dev")) == "AccessEntries:ae:{{SessionName}}");
    CHECK(mapped_by_chain(m, role("Old")) == "EKSConfigMap:cm-old");
    std::ifstream state(s.state / "authentication-mode");
    std::string persisted;
    std::getline(state, persisted);
    CHECK(persisted == "API_AND_CONFIG_MAP");

    // C9 #10: API -> aws-auth alone no longer maps.
    s.write_entries("API");
    events = m.reload(false);
    REQUIRE(find_event(events, "access_entries") != nullptr);
    CHECK(find_event(events, "access_entries")->ok);
    CHECK(mapped_by_chain(m, role("Old")).empty());
    CHECK(mapped_by_chain(m, role("Dev")) == "AccessEntries:ae:{{SessionName}}");

    // C9 #11: back to API_AND_CONFIG_MAP is refused on reload; the running entries stay.
    s.write_entries("API_AND_CONFIG_MAP");
    events = m.reload(false);
    const auto* ev = find_event(events, "access_entries");
    REQUIRE(ev != nullptr);
    CHECK_FALSE(ev->ok);
    CHECK(ev->rejected);
    CHECK(ev->detail.find("API_AND_CONFIG_MAP") != std::string::npos);
    CHECK(mapped_by_chain(m, role("Old")).empty());

    // ... and at start it stops the server.
    auto again = server::mapping_sources::create(s.cfg(), "");
    REQUIRE_FALSE(again.ok());
    CHECK(again.code() == "authentication_mode_downgrade");
    // --allow-authentication-mode-downgrade: this start only.
    auto forced = server::mapping_sources::create(s.cfg(), "", {}, true);
    REQUIRE(forced.ok());
    events = (*forced)->reload(false);
    REQUIRE(find_event(events, "access_entries") != nullptr);
    CHECK(find_event(events, "access_entries")->ok);
    CHECK(mapped_by_chain(**forced, role("Old")) == "EKSConfigMap:cm-old");

    // An invalid file keeps the last good one.
    write(s.entries, "accessEntries:\n- principalArn: arn:aws:sts::111122223333:assumed-role/R/s\n");
    events = (*forced)->reload(false);
    ev = find_event(events, "access_entries");
    REQUIRE(ev != nullptr);
    CHECK_FALSE(ev->ok);
    CHECK_FALSE(ev->rejected);
    CHECK(mapped_by_chain(**forced, role("Dev")) == "AccessEntries:ae:{{SessionName}}");
}

TEST_CASE("AccessEntries: CONFIG_MAP skips the entries, the cluster creator maps first (C3)",
          "[server][sources][access]") {
    access_setup s;
    s.write_entries("CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions: true\n"
                                  "clusterCreatorArn: arn:aws:iam::111122223333:role/Creator\n");
    auto src = server::mapping_sources::create(s.cfg(), "");
    REQUIRE(src.ok());
    (*src)->reload(false);
    CHECK(mapped_by_chain(**src, role("Dev")) == "EKSConfigMap:cm-dev");
    CHECK(mapped_by_chain(**src, role("Creator")) == "ClusterCreator:kubernetes-admin");

    // No file: AccessEntries never loaded, the server is not ready.
    fs::remove(s.entries);
    auto missing = server::mapping_sources::create(s.cfg(), "");
    REQUIRE(missing.ok());
    const auto events = (*missing)->reload(false);
    REQUIRE(find_event(events, "access_entries") != nullptr);
    CHECK_FALSE(find_event(events, "access_entries")->ok);
    CHECK_FALSE((*missing)->ready());
    CHECK((*missing)->access_entries() == nullptr);
}

TEST_CASE("MountedFile reload validates the whole config file as the start does", "[server][sources]") {
    temp_dir dir;
    const auto file = dir.path / "config.yaml";
    const auto with = [](const std::string& user, const std::string& extra) {
        return "clusterID: c\nserver:\n  sts: {timeout: 2s}\n" + extra +
               "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/Admin\n    username: " + user + "\n";
    };
    write(file, with("admin", ""));
    config::overrides flags;
    flags.port = 0;  // as `--port 0`
    auto start = config::load_server_config_text(with("admin", ""), file.string(), {}, flags);
    REQUIRE(start.ok());
    auto src = server::mapping_sources::create(*start, file.string(), {}, false, {}, flags);
    REQUIRE(src.ok());
    auto& s = **src;
    REQUIRE(s.reload(false).size() == 1);
    REQUIRE(username(s, role("Admin")) == "admin");

    struct bad_case {
        const char* name;
        std::string extra;
        const char* field;
    };
    for (const auto& c : {bad_case{"bad duration", "  shutdownGrace: soon\n", "server.shutdownGrace"},
                          bad_case{"health port out of range", "  healthPort: 70000\n", "server.healthPort"},
                          bad_case{"limit out of range", "  limits: {maxConnections: 0}\n", "server.limits.maxConnections"},
                          bad_case{"unknown partition", "  partition: aws-moon\n", "server.partition"}}) {
        INFO(c.name);
        write(file, with("root", c.extra));
        const auto events = s.reload(false);
        REQUIRE(events.size() == 1);
        CHECK(events[0].backend == "MountedFile");
        CHECK_FALSE(events[0].ok);
        CHECK_FALSE(events[0].rejected);  // counted as result="invalid"
        CHECK(events[0].detail.find(c.field) != std::string::npos);
        CHECK(events[0].needs_restart.empty());
        CHECK(username(s, role("Admin")) == "admin");  // last good mappings kept
        CHECK(s.ready());
    }

    // Without clusterID the start would fail too.
    write(file, "server:\n  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/Admin\n    username: root\n");
    auto events = s.reload(false);
    REQUIRE(events.size() == 1);
    CHECK_FALSE(events[0].ok);
    CHECK(username(s, role("Admin")) == "admin");

    // The start's flag layer applies: a file port the flag overrides does not stop a start.
    write(file, with("root", "  port: 70000\n"));
    events = s.reload(false);
    REQUIRE(events.size() == 1);
    CHECK(events[0].ok);
    CHECK(events[0].needs_restart.empty());
    CHECK(username(s, role("Admin")) == "root");

    // Valid, with settings a reload cannot apply: the mappings apply, the rest is named.
    write(file, with("ops", "  shutdownGrace: 3s\n  healthPort: 9999\n"));
    events = s.reload(false);
    REQUIRE(events.size() == 1);
    CHECK(events[0].ok);
    CHECK(events[0].needs_restart == std::vector<std::string>{"server.shutdownGrace", "server.healthPort"});
    CHECK(username(s, role("Admin")) == "ops");
}
