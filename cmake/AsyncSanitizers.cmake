# SPDX-License-Identifier: MIT
# ASYNC_SANITIZE=address;undefined (or thread) instruments everything built
# here. The runtime sees the instrumentation and annotates its fiber switches
# (src/arch/sanitizer.h), so no other switch is needed.
if(ASYNC_SANITIZE)
  string(REPLACE ";" "," _async_sanitizers "${ASYNC_SANITIZE}")
  add_compile_options(-fsanitize=${_async_sanitizers} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_async_sanitizers})
endif()
