# sb::options — compile and link options every solobridge target links PRIVATE.
add_library(sb_options INTERFACE)
add_library(sb::options ALIAS sb_options)
target_compile_options(sb_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wnon-virtual-dtor>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wshadow=local>)

if(SB_SANITIZE)
  if(NOT SB_SANITIZE MATCHES "^(address|undefined|address,undefined|undefined,address)$")
    message(FATAL_ERROR "SB_SANITIZE must be address, undefined or address,undefined (got '${SB_SANITIZE}')")
  endif()
  target_compile_options(sb_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX,C>:-fsanitize=${SB_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all>)
  target_link_options(sb_options INTERFACE -fsanitize=${SB_SANITIZE})
  set(SB_SANITIZE_SUMMARY "${SB_SANITIZE}")
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # Known findings in third-party headers, each entry narrowed to one check and one
    # function and explained in the list. ccache 4.7 does not hash the list's contents:
    # after editing it, rebuild with CCACHE_RECACHE=1 or without the launcher.
    set(SB_SANITIZE_IGNORELIST ${CMAKE_CURRENT_LIST_DIR}/sanitizer-ignorelist.txt)
    target_compile_options(sb_options INTERFACE
      $<$<COMPILE_LANGUAGE:CXX,C>:-fsanitize-ignorelist=${SB_SANITIZE_IGNORELIST}>)
    string(APPEND SB_SANITIZE_SUMMARY " (clang ignore list: ${SB_SANITIZE_IGNORELIST})")
  endif()
else()
  set(SB_SANITIZE_SUMMARY "off")
endif()

if(SB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SB_FUZZ=ON needs clang (configure with -DCMAKE_CXX_COMPILER=clang++)")
  endif()
  # Coverage instrumentation for every library the fuzz targets link, so libFuzzer is
  # guided by the parsers' branches and not only by the target file's.
  target_compile_options(sb_options INTERFACE -fsanitize=fuzzer-no-link)
  set(SB_FUZZ_SUMMARY "libFuzzer")
else()
  set(SB_FUZZ_SUMMARY "corpus replay under CTest (SB_FUZZ=ON with clang for libFuzzer)")
endif()
