# unit_ec2: the fake EC2/IMDS servers use Beast (stsauth_asio comes through stsauth_ec2) and the
# certificate generator of lib/http; one test starts stsauth-fake-sts, built with unit_ec2.
set(UNIT_LIBS stsauth_http)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/fakests/CMakeLists.txt)
  set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/fake_sts_test.cpp APPEND PROPERTY COMPILE_DEFINITIONS
               STSAUTH_FAKE_STS_BIN="$<TARGET_FILE:stsauth-fake-sts>")
  cmake_language(DEFER CALL add_dependencies unit_ec2 stsauth-fake-sts)
endif()
