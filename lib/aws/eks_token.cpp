#include "aws/eks_token.hpp"

#include "aws/shared_config.hpp"
#include "common/encoding.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <regex>
#include <utility>

namespace stsauth::aws {
namespace {

/// The AWS SDKs' partition regexes (endpoints ruleset `regionRegex`), most specific first.
const std::array<std::pair<std::regex, std::string_view>, 6>& partition_suffixes() {
    static const std::array<std::pair<std::regex, std::string_view>, 6> table{{
        {std::regex(R"(^cn\-\w+\-\d+$)"), "amazonaws.com.cn"},
        {std::regex(R"(^us\-iso\-\w+\-\d+$)"), "c2s.ic.gov"},
        {std::regex(R"(^us\-isob\-\w+\-\d+$)"), "sc2s.sgov.gov"},
        {std::regex(R"(^eu\-isoe\-\w+\-\d+$)"), "cloud.adc-e.uk"},
        {std::regex(R"(^us\-isof\-\w+\-\d+$)"), "csp.hci.ic.gov"},
        {std::regex(R"(^eusc\-(de)\-\w+\-\d+$)"), "amazonaws.eu"},
    }};
    return table;
}

bool has_control_char(std::string_view s) {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

}  // namespace

std::string sts_regional_host(std::string_view region) {
    const std::string r(region);
    for (const auto& [re, suffix] : partition_suffixes())
        if (std::regex_match(r, re)) return fmt::format("sts.{}.{}", r, suffix);
    return fmt::format("sts.{}.amazonaws.com", r);
}

sigv4::request presign_get_caller_identity(const sigv4::credentials& creds, std::string_view region,
                                           std::string_view cluster_id,
                                           std::chrono::system_clock::time_point signing_time) {
    sigv4::request req;
    req.method = "GET";
    req.path = "/";
    req.query = {{"Action", "GetCallerIdentity"}, {"Version", "2011-06-15"}};
    req.headers = {{"host", sts_regional_host(region)}, {std::string(cluster_id_header), std::string(cluster_id)}};
    const sigv4::signing_params params{std::string(region), "sts", signing_time};
    // botocore's SigV4QueryAuth hashes the (empty, moved-to-query) body: the payload hash is the
    // SHA-256 of "", not UNSIGNED-PAYLOAD (that is S3's presigner). Checked byte for byte against
    // botocore and `aws eks get-token`; the Go SDK signs the same way.
    sigv4::presign(req, creds, params, presign_expires, sigv4::empty_payload_sha256);
    return req;
}

result<eks_token> make_token(const sigv4::credentials& creds, std::string_view region, std::string_view cluster_id,
                             std::chrono::system_clock::time_point signing_time) {
    if (cluster_id.empty()) return make_error("bad_cluster_id", "cluster ID is empty");
    if (has_control_char(cluster_id)) return make_error("bad_cluster_id", "cluster ID contains a control character");
    if (!valid_region_name(region)) return make_error("bad_region", fmt::format("invalid region name \"{}\"", region));
    if (creds.access_key_id.empty() || creds.secret_access_key.empty())
        return make_error("bad_credentials", "the access key id or the secret access key is empty");

    const auto req = presign_get_caller_identity(creds, region, cluster_id, signing_time);
    eks_token token;
    token.value = secret<std::string>(std::string(token_prefix) + encoding::base64url_encode(sigv4::to_url(req)));
    token.expiration = std::chrono::floor<std::chrono::seconds>(signing_time) + token_lifetime;
    return token;
}

std::string exec_credential_api_version(const std::optional<std::string>& kubernetes_exec_info) {
    if (!kubernetes_exec_info || kubernetes_exec_info->empty()) return std::string(exec_credential_v1beta1);
    const auto info = nlohmann::json::parse(*kubernetes_exec_info, nullptr, /*allow_exceptions=*/false);
    if (!info.is_object()) return std::string(exec_credential_v1beta1);
    if (const auto kind = info.find("kind"); kind != info.end() && !kind->is_string())
        return std::string(exec_credential_v1beta1);
    const auto version = info.find("apiVersion");
    if (version == info.end() || !version->is_string()) return std::string(exec_credential_v1beta1);
    const auto& v = version->get_ref<const std::string&>();
    constexpr std::string_view group = "client.authentication.k8s.io/";
    if (!v.starts_with(group) || v.size() == group.size() || has_control_char(v))
        return std::string(exec_credential_v1beta1);
    return v;
}

std::string format_rfc3339_utc(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto secs = floor<seconds>(t);
    const auto day = floor<days>(secs);
    const year_month_day ymd{day};
    const hh_mm_ss hms{secs - day};
    return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                       hms.minutes().count(), hms.seconds().count());
}

std::string format_exec_credential(const eks_token& token, std::string_view api_version) {
    nlohmann::ordered_json out;
    out["kind"] = "ExecCredential";
    out["apiVersion"] = api_version;
    out["spec"] = {{"interactive", false}};
    out["status"] = nlohmann::ordered_json{{"expirationTimestamp", format_rfc3339_utc(token.expiration)},
                                           {"token", token.value.reveal()}};
    return out.dump();
}

}  // namespace stsauth::aws
