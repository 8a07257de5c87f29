#include "config/reload.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>

namespace stsauth::config {
namespace {

/// FNV-1a 64: change detection only, not security.
std::uint64_t fnv1a(std::ifstream& in) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    char buf[8192];
    while (in) {
        in.read(buf, sizeof buf);
        const auto n = in.gcount();
        for (std::streamsize i = 0; i < n; ++i) {
            h ^= static_cast<unsigned char>(buf[i]);
            h *= 0x100000001b3ULL;
        }
    }
    return h;
}

struct free_deleter {
    void operator()(char* p) const noexcept { std::free(p); }  // NOLINT: realpath's buffer
};

}  // namespace

file_fingerprint fingerprint_file(const std::string& path) {
    file_fingerprint fp;
    // Resolve every symlink (..data -> ..2026_...) so that a swap shows as a new target.
    std::unique_ptr<char, free_deleter> real(::realpath(path.c_str(), nullptr));
    if (!real) {
        if (errno != ENOENT && errno != ENOTDIR) fp.error = errno;
        return fp;
    }
    fp.resolved_path = real.get();
    struct stat st {};
    if (::stat(fp.resolved_path.c_str(), &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR) fp.error = errno;
        fp.resolved_path.clear();
        return fp;
    }
    fp.exists = true;
    fp.device = static_cast<std::uint64_t>(st.st_dev);
    fp.inode = static_cast<std::uint64_t>(st.st_ino);
    fp.size = static_cast<std::int64_t>(st.st_size);
    fp.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (S_ISREG(st.st_mode) && fp.size <= content_hash_limit) {
        std::ifstream in(fp.resolved_path, std::ios::binary);
        if (in) {
            fp.content_hash = fnv1a(in);
            fp.content_hashed = true;
        }
    }
    return fp;
}

change_detector::change_detector(std::string path) : path_(std::move(path)), last_(fingerprint_file(path_)) {}

bool change_detector::changed() {
    auto now = fingerprint_file(path_);
    if (now == last_) return false;
    last_ = std::move(now);
    return true;
}

}  // namespace stsauth::config
