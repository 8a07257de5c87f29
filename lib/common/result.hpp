#pragma once
/// \file
/// result<T>: a value or an error {code, message}. Used by the pure core instead of exceptions.
/// `code` is a stable machine reason (e.g. "bad_host"); `message` is for humans and logs and
/// must never contain a secret.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace stsauth {

struct error {
    std::string code;     ///< stable machine reason, snake_case
    std::string message;  ///< human-readable detail; never a secret
};

template <class T>
class [[nodiscard]] result {
public:
    result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    result(error err) : v_(std::in_place_index<1>, std::move(err)) {}  // NOLINT: implicit by design
    /// A value built in place (no move of a large T into the result).
    template <class... Args>
    explicit result(std::in_place_t, Args&&... args) : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const error& err() const { assert(!ok()); return std::get<1>(v_); }
    const std::string& code() const { return err().code; }

private:
    std::variant<T, error> v_;
};

/// result of an operation that produces no value.
struct ok_t {};
using status = result<ok_t>;
inline status ok_status() { return ok_t{}; }

inline error make_error(std::string code, std::string message) {
    return error{std::move(code), std::move(message)};
}

}  // namespace stsauth
