# Third-party dependencies, all from Debian packages (scripts/install-deps.sh installs them).
find_package(Boost 1.81.0 EXACT REQUIRED CONFIG)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Threads REQUIRED)

# Debian's RapidJSON config exports no target: wrap its include directory once.
find_package(RapidJSON REQUIRED CONFIG)
add_library(sb_rapidjson INTERFACE)
add_library(sb::rapidjson ALIAS sb_rapidjson)
target_include_directories(sb_rapidjson SYSTEM INTERFACE ${RAPIDJSON_INCLUDE_DIRS})
target_compile_definitions(sb_rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)
# Fuzz builds: RapidJSON's own contract checks (a Get* of the wrong type, operator[] of a
# missing member or past an array's end, ...) abort instead of compiling away under NDEBUG,
# so a parser that misuses the API on hostile JSON is a finding, not a silent default.
# (A function-style macro cannot go through target_compile_definitions: a forced include.)
if(SB_FUZZ)
  target_compile_options(sb_rapidjson INTERFACE
    "$<$<COMPILE_LANGUAGE:CXX>:SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/rapidjson-fuzz-assert.hpp>")
endif()

if(SB_BUILD_TESTS)
  find_package(doctest REQUIRED CONFIG)
endif()
