# SPDX-License-Identifier: MIT
# cmake -DSRC=<source dir> -P check.cmake: the skip report and the skips.
#  1. cmake/SkipReasons.cmake, run on LastTest.log here (a GoogleTest skip
#     with a two-line reason, a passing test, a skip without a reason, a
#     script's "SKIP:" line), prints exactly expected.txt.
#  2. Every GTEST_SKIP() under tests/ gives its reason (GTEST_SKIP() << ...),
#     so the report never says "(no reason given)" for one of ours.
set(here "${SRC}/tests/skip_reasons")
execute_process(COMMAND ${CMAKE_COMMAND} -DLOG=${here}/LastTest.log
                        -P ${SRC}/cmake/SkipReasons.cmake
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(READ "${here}/expected.txt" expected)
if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "${expected}")
  message(FATAL_ERROR "SkipReasons.cmake: rc ${rc}\n--- expected\n${expected}--- got\n${out}${err}")
endif()

file(GLOB_RECURSE sources "${SRC}/tests/*.cpp" "${SRC}/tests/*.c" "${SRC}/tests/*.h")
set(bad "")
set(n 0)
foreach(f IN LISTS sources)
  file(STRINGS "${f}" hits REGEX "GTEST_SKIP\\(\\)")
  foreach(h IN LISTS hits)
    math(EXPR n "${n} + 1")
    if(NOT h MATCHES "GTEST_SKIP\\(\\) *<<")
      string(APPEND bad "  ${f}: ${h}\n")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "GTEST_SKIP() without a reason (write GTEST_SKIP() << \"why\"):\n${bad}")
endif()
message(STATUS "skip report as expected; all ${n} GTEST_SKIP() calls under tests/ give a reason")
