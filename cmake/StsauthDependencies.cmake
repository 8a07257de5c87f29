# Third-party libraries, found once for the whole tree, and how the stsauth executable links them.
#
# Every shared object a process loads costs resident pages that do not depend on how much of it is
# used (its relocations, symbol tables and the 64 KiB the kernel maps around each touched page), so
# the stsauth executable links OpenSSL, yaml-cpp, fmt and spdlog statically, and libstdc++/libgcc
# too (server/CMakeLists.txt): idle RSS 12.9 -> 10.0 MiB (docs/benchmarks.md, "Idle RSS").
#
# - fmt and spdlog: Debian ships them as shared libraries only. They are compiled once, here, into
#   the static libraries stsauth_fmt and stsauth_spdlog, which fmt::fmt and spdlog::spdlog name for
#   every target: one definition of each in the whole tree (a process holding a shared and a static
#   spdlog would have two registries and two default loggers).
# - OpenSSL and yaml-cpp: OpenSSL::SSL, OpenSSL::Crypto and yaml-cpp are interface targets that link
#   the static archives (libssl.a and libcrypto.a from libssl-dev, libyaml-cpp.a from libyaml-cpp-dev)
#   into executables whose STSAUTH_STATIC_LINK property is true, and the shared libraries into the
#   others (tests, the fake STS). They are defined before find_package(), which still finds the
#   libraries and checks their versions but leaves targets that exist alone.
# STSAUTH_STATIC_DEPS=OFF links stsauth against the shared libraries like everything else.
option(STSAUTH_STATIC_DEPS "Link OpenSSL, yaml-cpp, libstdc++ and libgcc into stsauth statically" ON)

find_package(Threads REQUIRED)
find_package(Boost 1.81 EXACT REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)

# True while linking an executable that asked for static dependencies.
set(stsauth_static "$<BOOL:$<TARGET_PROPERTY:STSAUTH_STATIC_LINK>>")
set(stsauth_shared "$<NOT:${stsauth_static}>")

# stsauth_static_archive(<target> <shared library path> <archive name> <package> [<dependencies>]):
# an imported static library for the archive beside the shared library (a target, so that CMake
# orders it before its dependencies on the link line), or a fatal error naming the package.
function(stsauth_static_archive target shared archive package)
  get_filename_component(dir "${shared}" DIRECTORY)
  string(MAKE_C_IDENTIFIER "STSAUTH_${archive}" var)
  find_file(${var} ${archive} HINTS "${dir}" NO_DEFAULT_PATH)
  if(NOT ${var})
    message(FATAL_ERROR "${archive} not found beside ${shared}: install ${package} "
                        "(scripts/setup.sh) or configure with -DSTSAUTH_STATIC_DEPS=OFF")
  endif()
  add_library(${target} STATIC IMPORTED)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${${var}}" INTERFACE_LINK_LIBRARIES "${ARGN}")
endfunction()

# ---- OpenSSL ------------------------------------------------------------------------------------
add_library(OpenSSL::Crypto INTERFACE IMPORTED)
add_library(OpenSSL::SSL INTERFACE IMPORTED)
find_package(OpenSSL 3 REQUIRED)
target_include_directories(OpenSSL::Crypto INTERFACE ${OPENSSL_INCLUDE_DIR})
if(STSAUTH_STATIC_DEPS)
  # The static libcrypto needs dlopen (provider modules, engines) and threads.
  stsauth_static_archive(stsauth_libcrypto_a "${OPENSSL_CRYPTO_LIBRARY}" libcrypto.a libssl-dev
                         ${CMAKE_DL_LIBS} Threads::Threads)
  stsauth_static_archive(stsauth_libssl_a "${OPENSSL_SSL_LIBRARY}" libssl.a libssl-dev stsauth_libcrypto_a)
  target_link_libraries(OpenSSL::SSL INTERFACE "$<${stsauth_static}:stsauth_libssl_a>")
  target_link_libraries(OpenSSL::Crypto INTERFACE "$<${stsauth_static}:stsauth_libcrypto_a>")
endif()
target_link_libraries(OpenSSL::SSL INTERFACE "$<${stsauth_shared}:${OPENSSL_SSL_LIBRARY}>" OpenSSL::Crypto)
target_link_libraries(OpenSSL::Crypto INTERFACE "$<${stsauth_shared}:${OPENSSL_CRYPTO_LIBRARY}>")

# ---- yaml-cpp -----------------------------------------------------------------------------------
add_library(yaml-cpp INTERFACE IMPORTED)
find_package(yaml-cpp REQUIRED)
get_filename_component(stsauth_yaml_libdir "${yaml-cpp_DIR}/../.." ABSOLUTE)
find_library(STSAUTH_YAML_CPP_LIBRARY yaml-cpp HINTS "${stsauth_yaml_libdir}")
find_path(STSAUTH_YAML_CPP_INCLUDE_DIR yaml-cpp/yaml.h)
if(NOT STSAUTH_YAML_CPP_LIBRARY OR NOT STSAUTH_YAML_CPP_INCLUDE_DIR)
  message(FATAL_ERROR "yaml-cpp: library or headers not found (libyaml-cpp-dev)")
endif()
target_include_directories(yaml-cpp INTERFACE ${STSAUTH_YAML_CPP_INCLUDE_DIR})
if(STSAUTH_STATIC_DEPS)
  stsauth_static_archive(stsauth_libyaml_cpp_a "${STSAUTH_YAML_CPP_LIBRARY}" libyaml-cpp.a libyaml-cpp-dev)
  target_link_libraries(yaml-cpp INTERFACE "$<${stsauth_static}:stsauth_libyaml_cpp_a>")
endif()
target_link_libraries(yaml-cpp INTERFACE "$<${stsauth_shared}:${STSAUTH_YAML_CPP_LIBRARY}>")

# ---- fmt and spdlog, compiled once ----------------------------------------------------------------
# The aliases exist before find_package(), so the packages' own (shared) targets are not created.
# Compiled with the tree's flags (sanitizers, -ffunction-sections) but not its warnings: the code
# is spdlog's and fmt's.
add_library(stsauth_fmt STATIC ${CMAKE_CURRENT_LIST_DIR}/logging/fmt.cpp)
add_library(stsauth_spdlog STATIC ${CMAKE_CURRENT_LIST_DIR}/logging/spdlog.cpp)
target_compile_definitions(stsauth_spdlog PUBLIC SPDLOG_COMPILED_LIB SPDLOG_FMT_EXTERNAL)
target_link_libraries(stsauth_spdlog PUBLIC stsauth_fmt Threads::Threads)
add_library(fmt::fmt ALIAS stsauth_fmt)
add_library(fmt::fmt-header-only ALIAS stsauth_fmt)
add_library(spdlog::spdlog ALIAS stsauth_spdlog)
add_library(spdlog::spdlog_header_only ALIAS stsauth_spdlog)
# logging/fmt.cpp instantiates what fmt 9's headers declare extern.
find_package(fmt 9...<10 REQUIRED)
find_package(spdlog 1.10 REQUIRED)
