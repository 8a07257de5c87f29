#include "metrics/registry.hpp"

#include "metrics/text_format.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace stsauth::metrics {

std::string_view to_string(metric_type t) noexcept {
    switch (t) {
        case metric_type::counter: return "counter";
        case metric_type::gauge: return "gauge";
        case metric_type::histogram: return "histogram";
    }
    return "untyped";
}

std::vector<double> default_buckets() { return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}; }

// ---- histogram ----------------------------------------------------------------------------

histogram::histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_->size() + 1)) {}

void histogram::observe(double v) noexcept {
    // Bucket i counts bounds[i-1] < v <= bounds[i]; NaN and values above the last bound land
    // in +Inf, as in the Go client.
    const auto& b = *bounds_;
    const auto i = static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), v) - b.begin());
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

histogram::snapshot histogram::collect() const {
    snapshot s;
    s.cumulative.resize(bounds_->size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        s.cumulative[i] = running;
    }
    s.count = running;
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

// ---- family_base ----------------------------------------------------------------------------

family_base::family_base(std::string name, std::string help, metric_type type,
                         std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {
    order_.resize(label_names_.size());
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    std::sort(order_.begin(), order_.end(),
              [this](std::size_t a, std::size_t b) { return label_names_[a] < label_names_[b]; });
}

family_base::sorted_values family_base::sorted_view(std::span<const std::string_view> values) const {
    if (values.size() != label_names_.size())
        throw std::invalid_argument("metric " + name_ + ": expected " + std::to_string(label_names_.size()) +
                                    " label values, got " + std::to_string(values.size()));
    return {values, &order_};
}

std::vector<std::string> family_base::sorted_key(std::span<const std::string_view> values) const {
    const auto view = sorted_view(values);
    std::vector<std::string> key;
    key.reserve(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) key.emplace_back(view[i]);
    return key;
}

int family_base::key_less::compare(const std::vector<std::string>& a, const sorted_values& b) noexcept {
    const std::size_t n = std::min(a.size(), b.values.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (const int c = std::string_view(a[i]).compare(b[i]); c != 0) return c;
    }
    return a.size() < b.values.size() ? -1 : a.size() > b.values.size() ? 1 : 0;
}

std::string family_base::open_labels(const std::vector<std::string>& key) const {
    if (key.empty()) return {};
    std::string out = "{";
    for (std::size_t i = 0; i < key.size(); ++i) {
        if (i) out += ',';
        out += label_names_[order_[i]];
        out += "=\"";
        out += escape_label_value(key[i]);
        out += '"';
    }
    return out;
}

// ---- family<Child> --------------------------------------------------------------------------

template <class Child>
family<Child>::family(std::string name, std::string help, metric_type type, std::vector<std::string> label_names,
                      std::shared_ptr<const std::vector<double>> bounds)
    : family_base(std::move(name), std::move(help), type, std::move(label_names)), bounds_(std::move(bounds)) {
    if (family_base::label_names().empty()) with(std::span<const std::string_view>{});  // exported from the start
}

template <class Child>
Child& family<Child>::with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
}

template <class Child>
Child& family<Child>::with(std::span<const std::string> values) {
    std::vector<std::string_view> views(values.begin(), values.end());
    return with(std::span<const std::string_view>(views));
}

template <class Child>
Child& family<Child>::with(std::span<const std::string_view> values) {
    const auto view = sorted_view(values);
    std::lock_guard lock(mu_);
    auto it = children_.find(view);
    if (it == children_.end()) {
        auto key = sorted_key(values);
        std::unique_ptr<Child> child;
        if constexpr (std::is_same_v<Child, histogram>)
            child = std::make_unique<histogram>(bounds_);
        else
            child = std::make_unique<Child>();
        it = children_.emplace(std::move(key), std::move(child)).first;
    }
    return *it->second;
}

template <class Child>
void family<Child>::write(std::string& out) const {
    std::lock_guard lock(mu_);
    if (children_.empty()) return;
    out += "# HELP " + name() + ' ' + escape_help(help()) + '\n';
    out += "# TYPE " + name() + ' ' + std::string(to_string(type())) + '\n';
    for (const auto& [key, child] : children_) {
        const std::string labels = open_labels(key);
        const std::string closed = labels.empty() ? std::string() : labels + '}';
        if constexpr (std::is_same_v<Child, histogram>) {
            const auto snap = child->collect();
            const auto& bounds = child->bounds();
            const std::string prefix = labels.empty() ? "{" : labels + ',';
            for (std::size_t i = 0; i <= bounds.size(); ++i) {
                const std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
                out += name() + "_bucket" + prefix + "le=\"" + le + "\"} " + std::to_string(snap.cumulative[i]) + '\n';
            }
            out += name() + "_sum" + closed + ' ' + format_value(snap.sum) + '\n';
            out += name() + "_count" + closed + ' ' + std::to_string(snap.count) + '\n';
        } else if constexpr (std::is_same_v<Child, counter>) {
            out += name() + closed + ' ' + format_value(static_cast<double>(child->value())) + '\n';
        } else {
            out += name() + closed + ' ' + format_value(child->value()) + '\n';
        }
    }
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

// ---- registry -------------------------------------------------------------------------------

namespace {

void check_names(std::string_view name, const std::vector<std::string>& labels, bool is_histogram) {
    if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + std::string(name));
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (!valid_label_name(labels[i]))
            throw std::invalid_argument("metric " + std::string(name) + ": invalid label name: " + labels[i]);
        if (is_histogram && labels[i] == "le")
            throw std::invalid_argument("metric " + std::string(name) + ": label `le` is reserved for buckets");
        for (std::size_t j = 0; j < i; ++j)
            if (labels[i] == labels[j])
                throw std::invalid_argument("metric " + std::string(name) + ": duplicate label name: " + labels[i]);
    }
}

template <class F>
F& get_or_create(std::mutex& mu, std::vector<std::unique_ptr<family_base>>& families, std::string_view name,
                 std::string_view help, metric_type type, std::vector<std::string> labels,
                 std::shared_ptr<const std::vector<double>> bounds) {
    std::lock_guard lock(mu);
    for (auto& f : families) {
        if (f->name() != name) continue;
        auto* same = dynamic_cast<F*>(f.get());
        bool equal = same && f->type() == type && f->help() == help && f->label_names() == labels;
        if constexpr (std::is_same_v<F, histogram_family>)
            equal = equal && same->bucket_bounds() && bounds && *same->bucket_bounds() == *bounds;
        if (!equal) throw std::logic_error("metric " + std::string(name) + " registered twice with a different definition");
        return *same;
    }
    auto f = std::make_unique<F>(std::string(name), std::string(help), type, std::move(labels), std::move(bounds));
    auto& ref = *f;
    families.push_back(std::move(f));
    return ref;
}

}  // namespace

counter_family& registry::add_counter(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names) {
    check_names(name, label_names, false);
    return get_or_create<counter_family>(mu_, families_, name, help, metric_type::counter, std::move(label_names),
                                         nullptr);
}

gauge_family& registry::add_gauge(std::string_view name, std::string_view help, std::vector<std::string> label_names) {
    check_names(name, label_names, false);
    return get_or_create<gauge_family>(mu_, families_, name, help, metric_type::gauge, std::move(label_names),
                                       nullptr);
}

histogram_family& registry::add_histogram(std::string_view name, std::string_view help,
                                          std::vector<std::string> label_names, std::vector<double> buckets) {
    check_names(name, label_names, true);
    if (buckets.empty()) throw std::invalid_argument("metric " + std::string(name) + ": no buckets");
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
            throw std::invalid_argument("metric " + std::string(name) +
                                        ": buckets must be finite and strictly increasing");
    }
    auto bounds = std::make_shared<const std::vector<double>>(std::move(buckets));
    return get_or_create<histogram_family>(mu_, families_, name, help, metric_type::histogram,
                                           std::move(label_names), std::move(bounds));
}

void registry::add_collector(collector c) {
    std::lock_guard lock(mu_);
    collectors_.push_back(std::move(c));
}

std::string registry::expose() const {
    std::vector<const family_base*> families;
    std::vector<collector> collectors;
    {
        std::lock_guard lock(mu_);
        for (const auto& f : families_) families.push_back(f.get());
        collectors = collectors_;
    }
    std::vector<collected_family> collected;
    for (const auto& c : collectors) c(collected);

    // One ordered list of (name, writer) so registered and collected families interleave by name
    // as the Go client sorts them.
    std::vector<std::pair<std::string_view, std::function<void(std::string&)>>> items;
    for (const auto* f : families)
        items.emplace_back(f->name(), [f](std::string& out) { f->write(out); });
    for (const auto& cf : collected) {
        items.emplace_back(cf.name, [&cf](std::string& out) {
            if (cf.samples.empty()) return;
            out += "# HELP " + cf.name + ' ' + escape_help(cf.help) + '\n';
            out += "# TYPE " + cf.name + ' ' + std::string(to_string(cf.type)) + '\n';
            for (const auto& s : cf.samples) {
                auto labels = s.labels;
                std::sort(labels.begin(), labels.end());
                out += cf.name;
                for (std::size_t i = 0; i < labels.size(); ++i) {
                    out += i ? "," : "{";
                    out += labels[i].first + "=\"" + escape_label_value(labels[i].second) + '"';
                }
                if (!labels.empty()) out += '}';
                out += ' ' + format_value(s.value) + '\n';
            }
        });
    }
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

    std::string out;
    for (const auto& [name, write] : items) write(out);
    return out;
}

}  // namespace stsauth::metrics
