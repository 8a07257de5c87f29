#pragma once
/// \file
/// A small Prometheus registry: counters, gauges and histograms, each a *family* with fixed label
/// names whose children are created on first use of a label-value tuple. Exposition is the text
/// format 0.0.4, written as the Go client writes it (families sorted by name, label pairs sorted
/// by name, children sorted by label values, empty labelled families omitted).
///
/// Hot path: `family.with({...})` takes the family's mutex once to find or create the child and
/// returns a reference that stays valid for the registry's lifetime — cache it at the call site;
/// updates on the child are lock-free atomics.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stsauth::metrics {

enum class metric_type { counter, gauge, histogram };
std::string_view to_string(metric_type t) noexcept;

/// Monotonic integer counter.
class counter {
public:
    void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

/// A value that goes up and down.
class gauge {
public:
    void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
    void inc(double d = 1) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
    void dec(double d = 1) noexcept { v_.fetch_sub(d, std::memory_order_relaxed); }
    double value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> v_{0};
};

/// Cumulative histogram with fixed upper bounds (the `+Inf` bucket is implicit).
class histogram {
public:
    /// `bounds` must be strictly increasing and finite (checked by the registry).
    explicit histogram(std::shared_ptr<const std::vector<double>> bounds);

    void observe(double v) noexcept;

    struct snapshot {
        std::vector<std::uint64_t> cumulative;  ///< one per bound, then the +Inf bucket
        std::uint64_t count = 0;                ///< equals cumulative.back()
        double sum = 0;
    };
    /// A consistent-enough view: `count` is derived from the bucket counts read, so the +Inf
    /// bucket always equals `_count` even while other threads observe.
    snapshot collect() const;
    const std::vector<double>& bounds() const noexcept { return *bounds_; }

private:
    std::shared_ptr<const std::vector<double>> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // non-cumulative, size bounds+1
    std::atomic<double> sum_{0};
};

/// Prometheus' default buckets (client_golang `prometheus.DefBuckets`).
std::vector<double> default_buckets();

/// Common part of every family; the registry writes families through this interface.
class family_base {
public:
    family_base(std::string name, std::string help, metric_type type, std::vector<std::string> label_names);
    virtual ~family_base() = default;
    family_base(const family_base&) = delete;
    family_base& operator=(const family_base&) = delete;

    const std::string& name() const noexcept { return name_; }
    const std::string& help() const noexcept { return help_; }
    metric_type type() const noexcept { return type_; }
    const std::vector<std::string>& label_names() const noexcept { return label_names_; }

    /// Appends this family's HELP, TYPE and sample lines; nothing when it has no child.
    virtual void write(std::string& out) const = 0;

protected:
    /// Label values as given (declared order), seen in label-name order without copying them.
    struct sorted_values {
        std::span<const std::string_view> values;
        const std::vector<std::size_t>* order;
        std::string_view operator[](std::size_t i) const noexcept { return values[(*order)[i]]; }
    };
    /// Orders keys (label values in label-name order) and finds one by sorted_values, so that
    /// looking up an existing child copies no label value.
    struct key_less {
        using is_transparent = void;
        bool operator()(const std::vector<std::string>& a, const std::vector<std::string>& b) const noexcept { return a < b; }
        bool operator()(const std::vector<std::string>& a, const sorted_values& b) const noexcept { return compare(a, b) < 0; }
        bool operator()(const sorted_values& a, const std::vector<std::string>& b) const noexcept { return compare(b, a) > 0; }
        static int compare(const std::vector<std::string>& a, const sorted_values& b) noexcept;
    };
    /// The values viewed in label-name order; throws std::invalid_argument when their number is wrong.
    sorted_values sorted_view(std::span<const std::string_view> values) const;
    /// Label values reordered by label name (the order of the exposition and of sorting).
    std::vector<std::string> sorted_key(std::span<const std::string_view> values) const;
    /// `{a="x",b="y"` (no closing brace, so `le` can be appended) or "" when there are no labels.
    std::string open_labels(const std::vector<std::string>& key) const;

private:
    std::string name_;
    std::string help_;
    metric_type type_;
    std::vector<std::string> label_names_;   // as declared
    std::vector<std::size_t> order_;         // declared index, sorted by name
};

/// A family of children of one type (counter, gauge or histogram).
template <class Child>
class family final : public family_base {
public:
    family(std::string name, std::string help, metric_type type, std::vector<std::string> label_names,
           std::shared_ptr<const std::vector<double>> bounds = nullptr);

    /// The child for these label values, in the order the label names were declared; created
    /// on first use. Throws std::invalid_argument when the number of values is wrong (a
    /// programming error, caught by the tests of the call site).
    Child& with(std::initializer_list<std::string_view> values);
    Child& with(std::span<const std::string_view> values);
    Child& with(std::span<const std::string> values);

    void write(std::string& out) const override;
    /// Histogram bucket bounds; null for counters and gauges.
    const std::vector<double>* bucket_bounds() const noexcept { return bounds_.get(); }

private:
    mutable std::mutex mu_;
    std::map<std::vector<std::string>, std::unique_ptr<Child>, key_less> children_;
    std::shared_ptr<const std::vector<double>> bounds_;
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

/// Samples produced at scrape time by a collector (e.g. process metrics read from /proc).
struct collected_sample {
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
};
struct collected_family {
    std::string name;
    std::string help;
    metric_type type = metric_type::gauge;  ///< counter or gauge
    std::vector<collected_sample> samples;
};
/// Appends the families it collects. Called on every expose(), from the scraping thread.
using collector = std::function<void(std::vector<collected_family>&)>;

class registry {
public:
    registry() = default;
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    /// Get-or-create: registering the same name again with the same type, help, labels (and
    /// buckets) returns the existing family; any difference throws std::logic_error. Invalid
    /// names or buckets throw std::invalid_argument.
    counter_family& add_counter(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names = {});
    gauge_family& add_gauge(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names = {});
    histogram_family& add_histogram(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names, std::vector<double> buckets);

    void add_collector(collector c);

    /// The whole registry in text format 0.0.4 (`Content-Type: text/plain; version=0.0.4;
    /// charset=utf-8`).
    std::string expose() const;

private:
    mutable std::mutex mu_;
    std::vector<std::unique_ptr<family_base>> families_;
    std::vector<collector> collectors_;
};

/// The content type to send with expose()'s text.
inline constexpr std::string_view exposition_content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace stsauth::metrics
