// Each file backend of `stsauth server`: first load, reload on change, last good kept when a
// file turns bad, and the chain order of --backend-mode.
#include "config/server_config.hpp"
#include "mapping_sources.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace stsauth;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("stsauth-sources-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
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
