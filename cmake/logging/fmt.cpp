// fmt compiled once, into the static library stsauth_fmt (cmake/StsauthDependencies.cmake): the
// non-template functions of <fmt/format-inl.h> plus the instantiations that <fmt/format.h> and
// <fmt/core.h> declare but leave to the library. Debian ships fmt only as a shared library; this
// keeps libfmt.so out of the stsauth process (docs/benchmarks.md, "Idle RSS").
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {

template FMT_API auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template FMT_API auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;

template FMT_API locale_ref::locale_ref(const std::locale& loc);
template FMT_API auto locale_ref::get<std::locale>() const -> std::locale;

template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<wchar_t>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API auto decimal_point_impl(locale_ref) -> wchar_t;

}  // namespace detail
FMT_END_NAMESPACE
