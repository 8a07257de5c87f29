set(UNIT_LIBS stsauth_sigv4 yaml-cpp)
