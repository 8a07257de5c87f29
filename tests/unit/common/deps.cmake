set(UNIT_LIBS nlohmann_json::nlohmann_json)
