#pragma once
/// \file
/// An HTTP request as the fake STS/EC2 front end sees it, parsed strictly and without decoding
/// surprises: path and query percent-decoded once (AWS query rules: '+' is a space), headers kept
/// as received, in order. Pure: no I/O.

#include "common/result.hpp"
#include "sigv4/sigv4.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::fakests {

/// The request as it came off the wire.
struct http_request_in {
    std::string method;
    std::string target;  ///< request-target as received ("/?Action=...")
    std::vector<sigv4::header_field> headers;
    std::string body;
};

/// What an AWS host name says about where a request was sent.
struct host_info {
    std::string service;  ///< "sts" or "ec2"
    std::string region;
};

/// The request split into SigV4's pieces.
struct parsed_request {
    std::string method;
    std::string path;                          ///< percent-decoded once
    std::vector<sigv4::query_param> query;     ///< decoded, wire order, duplicates kept
    std::vector<sigv4::header_field> headers;  ///< as received
    std::string body;
    std::string host;  ///< the Host header as received ("" when absent)
    /// classify_host(host), worked out once by parse_target for the classification and the
    /// verifier alike.
    std::optional<host_info> aws_host;

    /// First header named `name` (case-insensitive), or nullopt.
    std::optional<std::string_view> header(std::string_view name) const;
};

/// Splits the target into path and query. Error code "MalformedQueryString" (a '%' not followed
/// by two hex digits in the path or a query component, or a target not starting with '/').
/// Empty query components ("a=1&&b=2") are skipped, a component without '=' has an empty value.
result<parsed_request> parse_request(const http_request_in& in);
/// The same, taking over the method, headers and body of `in` (left valid but unspecified).
result<parsed_request> parse_request(http_request_in&& in);
/// The target half of parse_request, into an object a server re-uses for every request of a
/// connection (its strings keep their capacity): sets out.path, out.query, out.host (from
/// out.headers, which the caller fills with out.method and out.body) and out.aws_host. Same
/// errors; on an error
/// `out` is left partly filled.
status parse_target(std::string_view target, parsed_request& out);

/// Decodes an `application/x-www-form-urlencoded` body ('+' is a space). Error code
/// "MalformedQueryString".
result<std::vector<sigv4::query_param>> parse_form(std::string_view body);

/// Recognises the AWS endpoint names the fake serves, with or without ":port":
/// `sts.amazonaws.com` (us-east-1, the global endpoint), and `{sts,sts-fips,ec2}.<region>.<d>`
/// with `<d>` one of amazonaws.com, api.aws, amazonaws.com.cn. Any other host (an IP literal,
/// "localhost", a `--hostname` alias) gives nullopt: the request was sent to an endpoint
/// override, and no region or service can be derived from it.
std::optional<host_info> classify_host(std::string_view host);

/// Value of the first parameter named exactly `key`, or nullopt.
std::optional<std::string_view> param(const std::vector<sigv4::query_param>& params, std::string_view key);
/// How many parameters are named exactly `key`.
std::size_t param_count(const std::vector<sigv4::query_param>& params, std::string_view key);

}  // namespace stsauth::fakests
