#pragma once
/// \file
/// Reload plumbing (SPEC-decisions A5, STYLE "Configuration"): detect that a watched file changed
/// and swap an immutable snapshot, keeping the last good one when a reload fails.
///
/// Kubernetes mounts ConfigMaps and Secrets as `<dir>/<key> -> ..data/<key>` with
/// `..data -> ..2026_01_02_03_04_05.123456789`; an update writes a new timestamped directory and
/// atomically renames a new `..data` symlink over the old one. The watched path itself never
/// changes, so the fingerprint is taken of the *resolved* target: a swap changes the resolved
/// path (and usually inode and mtime), an atomic rename changes the inode, an in-place write
/// changes size or mtime, and for small files a content hash catches same-size writes within
/// one mtime tick.

#include "common/result.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace stsauth::config {

/// What identifies one version of a file.
struct file_fingerprint {
    bool exists = false;
    int error = 0;                 ///< errno of a failure other than "not found"; 0 otherwise
    std::string resolved_path;     ///< after following every symlink
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::uint64_t content_hash = 0;  ///< FNV-1a 64 of the content when size <= content_hash_limit
    bool content_hashed = false;

    friend bool operator==(const file_fingerprint&, const file_fingerprint&) = default;
};

/// Files up to this size are hashed (configuration and mapping files are far smaller).
inline constexpr std::int64_t content_hash_limit = 1 << 20;

/// Fingerprint of `path` now (follows symlinks; a missing file gives `exists == false`).
file_fingerprint fingerprint_file(const std::string& path);

/// Polls one path: `changed()` is true when its fingerprint differs from the last one seen
/// (appearing and disappearing count as changes). The first call compares with the
/// fingerprint taken at construction.
class change_detector {
public:
    explicit change_detector(std::string path);

    bool changed();
    const file_fingerprint& current() const noexcept { return last_; }
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    file_fingerprint last_;
};

/// Holds the current immutable snapshot of T. Readers call load() (a short mutex-protected
/// shared_ptr copy; the snapshot stays alive as long as a reader holds it). A reload that
/// fails keeps the last good snapshot and is counted.
template <class T>
class snapshot_store {
public:
    explicit snapshot_store(std::shared_ptr<const T> initial = nullptr) : current_(std::move(initial)) {}
    snapshot_store(const snapshot_store&) = delete;
    snapshot_store& operator=(const snapshot_store&) = delete;

    /// The current snapshot (null before the first successful load).
    std::shared_ptr<const T> load() const {
        std::lock_guard lock(mu_);
        return current_;
    }

    /// Replaces the snapshot; counts a success. Null is refused (returns false) so that readers
    /// never lose a good snapshot by mistake.
    bool swap(std::shared_ptr<const T> next) {
        if (!next) return false;
        std::shared_ptr<const T> old;
        {
            std::lock_guard lock(mu_);
            old = std::exchange(current_, std::move(next));
            ++successes_;
            ++generation_;
            last_error_.reset();
        }
        return true;  // `old` is released here, outside the lock
    }

    /// Counts a failed reload and remembers why; the current snapshot stays.
    void record_failure(error why) {
        std::lock_guard lock(mu_);
        ++failures_;
        last_error_ = std::make_shared<const error>(std::move(why));
    }

    /// Runs `build` (returning result<T>) and swaps its value in, or records its error.
    template <class Build>
    status reload(Build&& build) {
        auto built = std::forward<Build>(build)();
        if (!built) {
            record_failure(built.err());
            return built.err();
        }
        swap(std::make_shared<const T>(std::move(built).value()));
        return ok_status();
    }

    std::uint64_t successes() const {
        std::lock_guard lock(mu_);
        return successes_;
    }
    std::uint64_t failures() const {
        std::lock_guard lock(mu_);
        return failures_;
    }
    /// Incremented by every successful swap (0 = never loaded).
    std::uint64_t generation() const {
        std::lock_guard lock(mu_);
        return generation_;
    }
    /// The error of the last failed reload since the last success, or null.
    std::shared_ptr<const error> last_error() const {
        std::lock_guard lock(mu_);
        return last_error_;
    }

private:
    mutable std::mutex mu_;
    std::shared_ptr<const T> current_;
    std::shared_ptr<const error> last_error_;
    std::uint64_t successes_ = 0;
    std::uint64_t failures_ = 0;
    std::uint64_t generation_ = 0;
};

}  // namespace stsauth::config
