# Shared build helpers: warnings, one static library per lib/ folder, unit-test executables.

function(set_project_warnings target)
  # No -Wnull-dereference: GCC 12 at -O2 reports false positives inside Asio's executor
  # comparisons (boost/asio/execution/any_executor.hpp) in every file that uses an io_context.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                         -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
  if(STSAUTH_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Adds every immediate subfolder of DIR that has a CMakeLists.txt.
function(stsauth_add_subdirectories dir)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${dir} ${dir}/*)
  list(SORT children)
  foreach(child IN LISTS children)
    if(IS_DIRECTORY ${dir}/${child} AND EXISTS ${dir}/${child}/CMakeLists.txt)
      add_subdirectory(${dir}/${child})
    endif()
  endforeach()
endfunction()

# stsauth_library(<name> [DEPS <targets...>] [PRIVATE_DEPS <targets...>])
# Builds lib/<name>/*.cpp into the static library stsauth_<name>; headers are included as
# "<name>/header.hpp" from the lib/ root.
function(stsauth_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS;SOURCES" ${ARGN})
  if(ARG_SOURCES)
    set(sources ${ARG_SOURCES})
  else()
    file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  endif()
  add_library(stsauth_${name} STATIC ${sources})
  target_include_directories(stsauth_${name} PUBLIC ${PROJECT_SOURCE_DIR}/lib)
  target_link_libraries(stsauth_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  set_project_warnings(stsauth_${name})
endfunction()
