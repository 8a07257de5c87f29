#pragma once
/// \file
/// How the YAML loaders name a node's kind in their error messages ("expected a map, found a list").

#include <string_view>

namespace YAML {
class Node;
}

namespace stsauth::mapping {

/// "a list", "a map", "a string", "null" or "nothing" (undefined).
std::string_view yaml_type_name(const YAML::Node& n);

}  // namespace stsauth::mapping
