#pragma once
// The reference reader (strict_json_reference.cpp): lib/common/strict_json's reader as it was
// before its per-token work was reorganised, for differential tests.

#include "common/strict_json.hpp"

namespace stsauth::json::reference {

std::optional<error> strict_parse(std::string_view text, const strict_limits& limits, strict_handler* handler,
                                  strict_failure_position* where);

}  // namespace stsauth::json::reference
