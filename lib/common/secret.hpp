#pragma once
/// \file
/// secret<T>: wraps a sensitive value (secret key, session token, bearer token) so that it can
/// only be read through reveal(); formatting it with fmt/spdlog prints "[redacted]".

#include <fmt/format.h>

#include <ostream>
#include <string>
#include <utility>

namespace stsauth {

template <class T>
class secret {
public:
    secret() = default;
    explicit secret(T value) : value_(std::move(value)) {}

    /// The only way to the value. Grep for reveal() to audit every use.
    const T& reveal() const noexcept { return value_; }
    bool empty() const noexcept { return value_.empty(); }

    friend bool operator==(const secret& a, const secret& b) { return a.value_ == b.value_; }
    friend std::ostream& operator<<(std::ostream& os, const secret&) { return os << "[redacted]"; }

private:
    T value_{};
};

}  // namespace stsauth

template <class T>
struct fmt::formatter<stsauth::secret<T>> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const stsauth::secret<T>&, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format("[redacted]", ctx);
    }
};
