#pragma once
// A fresh directory under the system temp dir, removed with everything in it at scope exit.

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <system_error>

namespace stsauth::test {

class temp_dir {
public:
    /// `<tmp>/<prefix>-<pid>-<random>`; fails the test (throws) if it cannot be created.
    explicit temp_dir(std::string_view prefix = "stsauth-test") {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               (std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    std::filesystem::path path;
};

}  // namespace stsauth::test
