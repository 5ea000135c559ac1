# SPDX-License-Identifier: MIT
# ASYNC_SANITIZE=address;undefined (or thread) instruments everything built
# here. The runtime sees the instrumentation and annotates its fiber switches
# (src/arch/sanitizer.h), so no other switch is needed.
if(ASYNC_SANITIZE)
  string(REPLACE ";" "," _async_sanitizers "${ASYNC_SANITIZE}")
  add_compile_options(-fsanitize=${_async_sanitizers} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_async_sanitizers})
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND "undefined" IN_LIST ASYNC_SANITIZE)
    # clang's function and vptr checks call into the C++ part of UBSan's
    # runtime, which the C driver does not link: C programs linking libasync
    # would fail. The library has no virtual calls and makes its indirect
    # calls through checked C function pointers, so they are left out there.
    set(ASYNC_LIBRARY_SANITIZE_FLAGS -fno-sanitize=function,vptr)
  endif()
endif()
