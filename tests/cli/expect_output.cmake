# Runs `CMD ARGS` (ARGS split like a shell line) and fails unless it exits EXPECT (default
# 0) and its stdout matches the regular expression EXPECT_STDOUT.
if(NOT DEFINED EXPECT)
  set(EXPECT 0)
endif()
separate_arguments(arg_list UNIX_COMMAND "${ARGS}")
execute_process(COMMAND ${CMD} ${arg_list} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL EXPECT)
  message(FATAL_ERROR "exit code ${rc}, expected ${EXPECT}; stdout='${out}' stderr='${err}'")
endif()
if(NOT out MATCHES "${EXPECT_STDOUT}")
  message(FATAL_ERROR "stdout '${out}' does not match '${EXPECT_STDOUT}'")
endif()
message(STATUS "${out}")
