#pragma once
/// \file
/// Bulk token generation for the load harness: many distinct, valid `k8s-aws-v1.` tokens signed
/// exactly as `stsauth token` signs them (aws::make_token), for a family of made-up fake-STS
/// credentials. Pure: the signing time is a parameter.
///
/// Key `i` of the family is access key id `AKIALOAD` + 12-digit `i`, a fixed made-up secret and
/// the caller `arn:aws:sts::<account>:assumed-role/<role>/load-<i>`. A token is determined by
/// (key, signing second): a file made from keys [first_key, first_key + keys) never shares a
/// token with a file made from a disjoint key range, whenever both were made.

#include "common/result.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace stsauth::load {

struct key_family {
    std::string account = "111122223333";
    std::string role = "Admin";
};

/// The access key id of key `index`.
std::string access_key_id(std::size_t index);

/// The `credentials:` YAML of stsauth-fake-sts for keys [0, count).
std::string fake_sts_config(const key_family& family, std::size_t count);

struct token_batch_spec {
    std::size_t count = 1000;        ///< tokens to make
    std::size_t first_key = 0;       ///< keys used: [first_key, first_key + keys)
    std::size_t keys = 100;
    std::chrono::seconds window{300};  ///< signing times spread over [now - window, now]
    std::string region = "us-west-2";
    std::string cluster_id;
    std::chrono::system_clock::time_point now;
};

/// `count` distinct tokens: token j uses key first_key + j % keys, signed at now - j / keys
/// seconds. Fails ("too_many_tokens") when count > keys * (window + 1) (tokens would repeat or be
/// older than the window), or when aws::make_token refuses the inputs.
result<std::vector<std::string>> make_tokens(const token_batch_spec& spec);

/// A TokenReview request body as kube-apiserver sends it (authentication.k8s.io/v1), one line.
std::string token_review_body(std::string_view token);

}  // namespace stsauth::load
