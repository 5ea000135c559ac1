# SPDX-License-Identifier: MIT
# cmake -DPROGRAM=... -DEXPECTED=... [-DARGS="..."] [-DEXIT_CODE=0] [-DEMULATOR=...] -P RunExample.cmake
# Runs PROGRAM with the space-separated ARGS (through EMULATOR when
# cross-compiled, e.g. qemu-aarch64) and
# fails unless it exits with EXIT_CODE and its standard output equals the
# contents of EXPECTED, byte for byte.
if(NOT DEFINED EXIT_CODE)
  set(EXIT_CODE 0)
endif()
separate_arguments(args UNIX_COMMAND "${ARGS}")
execute_process(COMMAND ${EMULATOR} ${PROGRAM} ${args} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(READ ${EXPECTED} expected)
if(NOT rc STREQUAL "${EXIT_CODE}")
  message(FATAL_ERROR "${PROGRAM} exited with ${rc}, expected ${EXIT_CODE}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "${PROGRAM}: output differs\n--- expected\n${expected}\n--- got\n${out}\n--- stderr\n${err}")
endif()
