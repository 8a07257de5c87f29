#include "support/temp_dir.hpp"
#include "config/reload.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

using namespace stsauth;
using namespace stsauth::config;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed at scope exit.
struct temp_dir : stsauth::test::temp_dir {
    temp_dir() : stsauth::test::temp_dir("stsauth-config-test") {}
};

void write(const fs::path& p, const std::string& content) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
}

/// Keeps the mtime unchanged so that only the content hash can tell the difference.
void write_keep_mtime(const fs::path& p, const std::string& content) {
    const auto t = fs::last_write_time(p);
    write(p, content);
    fs::last_write_time(p, t);
}

/// What kubelet does for a ConfigMap volume update: new timestamped dir with the files, a new
/// `..data_tmp` symlink to it, renamed over `..data`, old dir removed. `key -> ..data/key` stays.
void kubelet_update(const fs::path& dir, const std::string& stamp, const std::string& key, const std::string& content,
                    const fs::path& old_target) {
    const auto ts = dir / stamp;
    fs::create_directory(ts);
    write(ts / key, content);
    fs::create_directory_symlink(stamp, dir / "..data_tmp");
    fs::rename(dir / "..data_tmp", dir / "..data");
    if (!old_target.empty()) fs::remove_all(old_target);
}

}  // namespace

TEST_CASE("fingerprint of a missing and an existing file", "[config][reload]") {
    temp_dir tmp;
    const auto f = tmp.path / "config.yaml";
    const auto missing = fingerprint_file(f.string());
    CHECK_FALSE(missing.exists);
    CHECK(missing.error == 0);

    write(f, "clusterID: a\n");
    const auto fp = fingerprint_file(f.string());
    CHECK(fp.exists);
    CHECK(fp.size == 13);
    CHECK(fp.content_hashed);
    CHECK(fp.resolved_path == fs::canonical(f).string());
    CHECK(fp == fingerprint_file(f.string()));  // stable while nothing changes
    CHECK(fp != missing);
}

TEST_CASE("change detection: write, same-size same-mtime write, atomic rename, delete", "[config][reload]") {
    temp_dir tmp;
    const auto f = tmp.path / "config.yaml";
    write(f, "clusterID: a\n");
    change_detector d(f.string());
    CHECK_FALSE(d.changed());

    write(f, "clusterID: bb\n");  // size changes
    CHECK(d.changed());
    CHECK_FALSE(d.changed());  // reported once

    write_keep_mtime(f, "clusterID: cc\n");  // same size, same mtime: only the hash differs
    CHECK(d.changed());

    write(tmp.path / "new.yaml", "clusterID: dd\n");  // editor-style atomic replace
    fs::rename(tmp.path / "new.yaml", f);
    CHECK(d.changed());

    fs::remove(f);
    CHECK(d.changed());
    CHECK_FALSE(d.current().exists);
    CHECK_FALSE(d.changed());

    write(f, "clusterID: ee\n");  // re-created
    CHECK(d.changed());
    CHECK(d.current().exists);
}

TEST_CASE("change detection through kubelet's ..data symlink swap", "[config][reload]") {
    temp_dir tmp;
    const auto dir = tmp.path;
    kubelet_update(dir, "..2026_01_02_03_04_05.000000001", "config.yaml", "clusterID: one\n", {});
    fs::create_symlink(fs::path("..data") / "config.yaml", dir / "config.yaml");
    const auto watched = (dir / "config.yaml").string();

    change_detector d(watched);
    REQUIRE(d.current().exists);
    CHECK(d.current().resolved_path == (fs::canonical(dir) / "..2026_01_02_03_04_05.000000001" / "config.yaml").string());
    CHECK_FALSE(d.changed());

    // Same content, new directory: the resolved target differs, which is a change.
    kubelet_update(dir, "..2026_01_02_03_04_06.000000002", "config.yaml", "clusterID: one\n",
                   dir / "..2026_01_02_03_04_05.000000001");
    CHECK(d.changed());
    CHECK(d.current().resolved_path.find("..2026_01_02_03_04_06.000000002") != std::string::npos);

    kubelet_update(dir, "..2026_01_02_03_04_07.000000003", "config.yaml", "clusterID: two\n",
                   dir / "..2026_01_02_03_04_06.000000002");
    CHECK(d.changed());
    CHECK_FALSE(d.changed());

    // The key removed from the ConfigMap: the symlink dangles -> the file is gone.
    kubelet_update(dir, "..2026_01_02_03_04_08.000000004", "other.yaml", "x: 1\n",
                   dir / "..2026_01_02_03_04_07.000000003");
    CHECK(d.changed());
    CHECK_FALSE(d.current().exists);
}

TEST_CASE("snapshot store keeps the last good snapshot and counts", "[config][reload]") {
    snapshot_store<std::string> store;
    CHECK(store.load() == nullptr);
    CHECK(store.generation() == 0);

    CHECK(store.reload([] { return result<std::string>(std::string("v1")); }).ok());
    const auto held = store.load();
    REQUIRE(held);
    CHECK(*held == "v1");
    CHECK(store.successes() == 1);
    CHECK(store.generation() == 1);

    const auto failed = store.reload([] { return result<std::string>(make_error("yaml_error", "f.yaml: line 3")); });
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.code() == "yaml_error");
    CHECK(*store.load() == "v1");  // last good kept
    CHECK(store.failures() == 1);
    REQUIRE(store.last_error());
    CHECK(store.last_error()->message == "f.yaml: line 3");

    CHECK(store.swap(std::make_shared<const std::string>("v2")));
    CHECK(*store.load() == "v2");
    CHECK(*held == "v1");  // a reader's snapshot outlives the swap
    CHECK(store.successes() == 2);
    CHECK(store.generation() == 2);
    CHECK(store.last_error() == nullptr);  // cleared by the success

    CHECK_FALSE(store.swap(nullptr));  // never lose a good snapshot to a null
    CHECK(*store.load() == "v2");
    CHECK(store.successes() == 2);
}

TEST_CASE("snapshot store under concurrent readers and a writer", "[config][reload]") {
    struct snap {
        int a;
        int b;  // always equal to a: a torn read would show a != b
    };
    snapshot_store<snap> store(std::make_shared<const snap>(snap{0, 0}));
    std::atomic<bool> stop{false};
    std::atomic<long> torn{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 4; ++i) {
        readers.emplace_back([&] {
            int last = 0;
            while (!stop.load()) {
                const auto s = store.load();
                if (s->a != s->b || s->a < last) ++torn;
                last = s->a;
            }
        });
    }
    for (int v = 1; v <= 5000; ++v) store.swap(std::make_shared<const snap>(snap{v, v}));
    stop = true;
    for (auto& t : readers) t.join();
    CHECK(torn == 0);
    CHECK(store.load()->a == 5000);
    CHECK(store.successes() == 5000);
}
