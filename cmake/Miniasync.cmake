# SPDX-License-Identifier: MIT
# libminiasync: the miniasync 0.2.1 drop-in (docs/miniasync.md).
#   miniasync          libminiasync.so.0 (SONAME), symbols under LIBMINIASYNC_1.0
#   miniasync_static   libminiasync.a
# Installed with libminiasync.pc and the CMake package `libminiasync`
# (libminiasync-config.cmake under <libdir>/libminiasync/cmake).
set(MINIASYNC_VERSION 0.2.1)
set(MINIASYNC_SOURCES
  src/miniasync/common.cpp
  src/miniasync/data_mover_sync.cpp
  src/miniasync/data_mover_threads.cpp
  src/miniasync/layout_check.cpp
  src/miniasync/mover_common.cpp
  src/miniasync/record_pool.cpp
  src/miniasync/runtime.cpp)

async_add_library(miniasync
  SOURCES ${MINIASYNC_SOURCES}
  VERSION_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/cmake/libminiasync.map
  SOVERSION 0
  LINK Threads::Threads)

# Headers: include/libminiasync.h and include/libminiasync/ are installed by
# AsyncInstall.cmake's install(DIRECTORY include/).

set(_mini_cmakedir ${CMAKE_INSTALL_LIBDIR}/libminiasync/cmake)
file(RELATIVE_PATH _mini_rel_prefix "/prefix/${_mini_cmakedir}" "/prefix")
configure_file(cmake/libminiasync-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/libminiasync-config.cmake @ONLY)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/libminiasync-config-version.cmake
  VERSION ${MINIASYNC_VERSION} COMPATIBILITY AnyNewerVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/libminiasync-config.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/libminiasync-config-version.cmake
  DESTINATION ${_mini_cmakedir})

# libminiasync.pc, written at install time for the same reason as async.pc.
install(CODE "
  set(MINIASYNC_VERSION \"${MINIASYNC_VERSION}\")
  set(_mini_libdir \"${CMAKE_INSTALL_LIBDIR}\")
  set(_mini_includedir \"${CMAKE_INSTALL_INCLUDEDIR}\")
  foreach(_mini_dir _mini_libdir _mini_includedir)
    if(NOT IS_ABSOLUTE \"\${\${_mini_dir}}\")
      set(\${_mini_dir} \"\\\${prefix}/\${\${_mini_dir}}\")
    endif()
  endforeach()
  configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/cmake/libminiasync.pc.in\"
                 \"${CMAKE_CURRENT_BINARY_DIR}/libminiasync.pc\" @ONLY)
")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/libminiasync.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
