# SPDX-License-Identifier: MIT
# cmake -DPROGRAM=... [-DEMULATOR=...] -P RunHelp.cmake
# An example's --help: exits 0 and prints one line on stdout, starting with
# "usage: " and naming the program, and nothing on stderr. An argument it does
# not know (--no-such-option) makes it exit non-zero with a usage on stderr.
get_filename_component(name "${PROGRAM}" NAME)
execute_process(COMMAND ${EMULATOR} ${PROGRAM} --help
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT 10)
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "${name} --help exited with ${rc}\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(NOT out MATCHES "^usage: [^\n]*${name}[^\n]*\n$" OR NOT err STREQUAL "")
  message(FATAL_ERROR "${name} --help: expected one line 'usage: ...${name}...' on stdout and "
                      "nothing on stderr\nstdout:\n${out}\nstderr:\n${err}")
endif()
execute_process(COMMAND ${EMULATOR} ${PROGRAM} --no-such-option
                OUTPUT_VARIABLE out2 ERROR_VARIABLE err2 RESULT_VARIABLE rc2 TIMEOUT 10)
if(rc2 STREQUAL "0" OR NOT err2 MATCHES "usage: ")
  message(FATAL_ERROR "${name} --no-such-option: expected a non-zero exit and a usage on stderr; "
                      "got ${rc2}\nstdout:\n${out2}\nstderr:\n${err2}")
endif()
message(STATUS "${name} --help: ${out}")
