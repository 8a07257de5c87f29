# cmake -DINPUT=<file> -DOUTPUT=<cpp> -P embed.cmake
# Writes a translation unit defining stsauth::config::embedded_default_config() as a raw string
# literal of INPUT's bytes.
file(READ ${INPUT} content)
set(delimiter "stsauth_embed")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )${delimiter}\"")
endif()
set(text "// Generated from ${INPUT} by lib/config/embed.cmake; do not edit.
#include \"config/server_config.hpp\"

namespace stsauth::config {

std::string_view embedded_default_config() {
    static constexpr std::string_view text = R\"${delimiter}(${content})${delimiter}\";
    return text;
}

}  // namespace stsauth::config
")
# Rewrite only when different, so an unchanged config does not trigger a rebuild.
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} previous)
  if(previous STREQUAL text)
    return()
  endif()
endif()
file(WRITE ${OUTPUT} "${text}")
