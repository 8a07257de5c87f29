# unit_sts: the TLS test server uses Asio/Beast (stsauth_asio comes through stsauth_sts); the
# differential parse test keeps the former nlohmann-based parser as its oracle.
# GCC 12 at -O2 reports -Wnull-dereference false positives inside Asio's any_io_executor.
set(UNIT_LIBS stsauth_asio nlohmann_json::nlohmann_json)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/test_tls_server.cpp
                            ${CMAKE_CURRENT_LIST_DIR}/https_sts_client_test.cpp
                            PROPERTIES COMPILE_OPTIONS -Wno-null-dereference)
