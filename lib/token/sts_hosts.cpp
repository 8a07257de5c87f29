#include "token/sts_hosts.hpp"

#include "common/encoding.hpp"

#include <algorithm>
#include <array>

namespace stsauth::token {
namespace {

// SDK partitions.json regionRegex values, as prefix lists.
constexpr std::array<std::string_view, 9> aws_prefixes = {"us-", "eu-", "ap-", "sa-", "ca-",
                                                          "me-", "af-", "il-", "mx-"};
constexpr std::array<std::string_view, 1> cn_prefixes = {"cn-"};
constexpr std::array<std::string_view, 1> gov_prefixes = {"us-gov-"};
constexpr std::array<std::string_view, 1> iso_prefixes = {"us-iso-"};
constexpr std::array<std::string_view, 1> isob_prefixes = {"us-isob-"};
constexpr std::array<std::string_view, 1> isoe_prefixes = {"eu-isoe-"};
constexpr std::array<std::string_view, 1> isof_prefixes = {"us-isof-"};
constexpr std::array<std::string_view, 1> eusc_prefixes = {"eusc-de-"};

constexpr std::array<partition_info, 8> partition_table = {{
    {"aws", "amazonaws.com", "api.aws", aws_prefixes, true},
    {"aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn", cn_prefixes, false},
    {"aws-us-gov", "amazonaws.com", "api.aws", gov_prefixes, false},
    {"aws-iso", "c2s.ic.gov", "", iso_prefixes, false},
    {"aws-iso-b", "sc2s.sgov.gov", "", isob_prefixes, false},
    {"aws-iso-e", "cloud.adc-e.uk", "", isoe_prefixes, false},
    {"aws-iso-f", "csp.hci.ic.gov", "", isof_prefixes, false},
    {"aws-eusc", "amazonaws.eu", "api.amazonwebservices.eu", eusc_prefixes, false},
}};

constexpr std::size_t max_host_length = 253;
constexpr std::size_t max_label_length = 63;

bool is_lower_alnum(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) noexcept { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_word(char c) noexcept { return is_alnum(c) || c == '_'; }

// For messages: hosts reaching here are bytes 0x21..0x7e (validated by the caller or by syntax
// checks), so only the length needs bounding.
std::string quoted_host(std::string_view host) {
    std::string out = "\"";
    out += host.substr(0, max_host_length);
    if (host.size() > max_host_length) out += "...";
    out += '"';
    return out;
}

error bad_host(std::string_view why, std::string_view host) {
    return make_error("bad_host", std::string(why) + " " + quoted_host(host));
}

// Lower-case LDH host name: labels of [a-z0-9-], 1..63 long, not starting or ending with '-'.
status check_host_syntax(std::string_view host) {
    if (host.empty()) return make_error("bad_host", "host is empty");
    if (host.find('%') != std::string_view::npos) return bad_host("percent-encoding in host", host);
    if (std::any_of(host.begin(), host.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
        return bad_host("upper-case host", host);
    if (host.back() == '.') return bad_host("trailing dot in host", host);
    if (host.size() > max_host_length) return bad_host("host name too long", host);
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= host.size(); ++i) {
        if (i < host.size() && host[i] != '.') {
            if (!is_lower_alnum(host[i]) && host[i] != '-') return bad_host("invalid character in host", host);
            continue;
        }
        const auto label = host.substr(label_start, i - label_start);
        if (label.empty() || label.size() > max_label_length || label.front() == '-' || label.back() == '-')
            return bad_host("invalid label in host", host);
        label_start = i + 1;
    }
    return ok_status();
}

// labels[0], labels[1] and the rest of "a.b.rest"; false when there are fewer than three labels.
bool split_host(std::string_view host, std::string_view& first, std::string_view& second, std::string_view& rest) {
    const auto d1 = host.find('.');
    if (d1 == std::string_view::npos) return false;
    const auto d2 = host.find('.', d1 + 1);
    if (d2 == std::string_view::npos) return false;
    first = host.substr(0, d1);
    second = host.substr(d1 + 1, d2 - d1 - 1);
    rest = host.substr(d2 + 1);
    return true;
}

}  // namespace

std::span<const partition_info> known_partitions() noexcept { return partition_table; }

const partition_info* find_partition(std::string_view name) noexcept {
    for (const auto& p : partition_table)
        if (p.name == name) return &p;
    return nullptr;
}

bool valid_region(std::string_view region) noexcept {
    if (region.empty() || !is_alnum(region.front()) || !is_alnum(region.back())) return false;
    return std::all_of(region.begin(), region.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

bool region_in_partition(const partition_info& partition, std::string_view region) noexcept {
    if (!valid_region(region)) return false;
    for (const auto prefix : partition.region_prefixes) {
        if (!region.starts_with(prefix)) continue;
        // The rest must be \w+ '-' \d+ (\w has no '-', so exactly one dash).
        const auto rest = region.substr(prefix.size());
        const auto dash = rest.find('-');
        if (dash == std::string_view::npos || dash == 0 || dash + 1 == rest.size()) continue;
        const auto word = rest.substr(0, dash);
        const auto digits = rest.substr(dash + 1);
        if (std::all_of(word.begin(), word.end(), is_word) && std::all_of(digits.begin(), digits.end(), is_digit))
            return true;
    }
    return false;
}

std::string_view sts_region_label(std::string_view host) noexcept {
    if (host == global_sts_host) return "global";
    std::string_view first, second, rest;
    return split_host(host, first, second, rest) ? second : std::string_view{};
}

std::string_view signing_region(std::string_view host) noexcept {
    if (host == global_sts_host) return "us-east-1";
    std::string_view first, second, rest;
    return split_host(host, first, second, rest) ? second : std::string_view{};
}

sts_hosts::sts_hosts() : partition_(&partition_table[0]) {}

result<sts_hosts> sts_hosts::make(std::string_view partition, std::string_view instance_region,
                                  std::span<const std::string> extra_hosts) {
    sts_hosts h;
    h.partition_ = find_partition(partition);
    if (h.partition_ == nullptr)
        return make_error("unknown_partition", "partition \"" + std::string(partition) + "\" is not valid");

    if (!instance_region.empty()) {
        const bool lower = std::none_of(instance_region.begin(), instance_region.end(),
                                        [](char c) { return c >= 'A' && c <= 'Z'; });
        if (!lower || !valid_region(instance_region))
            return make_error("bad_instance_region",
                              "instance region \"" + std::string(instance_region) + "\" is not a valid region");
        h.instance_region_ = std::string(instance_region);
        h.exact_.push_back("sts." + h.instance_region_ + "." + std::string(h.partition_->domain));
        if (!h.partition_->dualstack_domain.empty())
            h.exact_.push_back("sts." + h.instance_region_ + "." + std::string(h.partition_->dualstack_domain));
    }

    for (const auto& raw : extra_hosts) {
        auto host = encoding::to_lower(raw);
        std::string_view first, second, rest;
        if (!check_host_syntax(host).ok() || !split_host(host, first, second, rest) || !valid_region(second))
            return make_error("bad_extra_host", "extra STS host " + quoted_host(raw) +
                                                    " must be a lower-case DNS name like sts.<region>.<domain>");
        h.exact_.push_back(std::move(host));
    }
    return h;
}

status sts_hosts::check(std::string_view host) const {
    if (auto syntax = check_host_syntax(host); !syntax) return syntax;
    if (std::find(exact_.begin(), exact_.end(), host) != exact_.end()) return ok_status();

    const auto& p = *partition_;
    if (host == global_sts_host) {
        if (p.global_endpoint) return ok_status();
        return bad_host("global endpoint unsupported in partition " + std::string(p.name) + ":", host);
    }
    std::string_view service, region, domain;
    if (!split_host(host, service, region, domain)) return bad_host("unexpected hostname", host);
    if (service != "sts" && service != "sts-fips") return bad_host("unexpected hostname", host);
    if (domain != p.domain && (p.dualstack_domain.empty() || domain != p.dualstack_domain))
        return bad_host("partition " + std::string(p.name) + " does not support hostname", host);
    if (!region_in_partition(p, region))
        return bad_host("region not in partition " + std::string(p.name) + " for hostname", host);
    return ok_status();
}

}  // namespace stsauth::token
