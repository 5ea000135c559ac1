# SPDX-License-Identifier: MIT
# Installs the headers, a CMake package (find_package(async) gives
# async::async and async::async_static) and a pkg-config file (async.pc);
# async_add_library (AsyncLibrary.cmake) installs the libraries themselves.
# Every path is relative to the prefix, so `cmake --install <build> --prefix
# <dir>` puts a working package anywhere; tests/install checks it.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
install(EXPORT asyncTargets NAMESPACE async::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/async)

configure_package_config_file(cmake/asyncConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/asyncConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/async)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/asyncConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/asyncConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/asyncConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/async)

# dladdr's library for static linking, where it is one (CMAKE_DL_LIBS).
set(_async_dl_flags "")
if(CMAKE_DL_LIBS)
  set(_async_dl_flags "-l${CMAKE_DL_LIBS}")
endif()

# async.pc holds absolute paths, so it is written at install time, when the
# prefix is known: `cmake --install --prefix` overrides CMAKE_INSTALL_PREFIX
# only then, and a file configured with the configure-time prefix would point
# somewhere else. (DESTDIR is not part of the prefix, as it must not be.)
install(CODE "
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(_async_libdir \"${CMAKE_INSTALL_LIBDIR}\")
  set(_async_includedir \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(_async_dl_libs \"${_async_dl_flags}\")
  foreach(_async_dir _async_libdir _async_includedir)
    if(NOT IS_ABSOLUTE \"\${\${_async_dir}}\")
      set(\${_async_dir} \"\\\${prefix}/\${\${_async_dir}}\")
    endif()
  endforeach()
  configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/cmake/async.pc.in\"
                 \"${CMAKE_CURRENT_BINARY_DIR}/async.pc\" @ONLY)
")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/async.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# gdb support (docs/debugging.md): the script, and the stub gdb auto-loads
# with the library. gdb looks for <auto-load dir>/<library's absolute path>-gdb.py,
# so the stub's own path contains the prefix: it is written at install time,
# as async.pc is, when `cmake --install --prefix` has fixed the prefix.
install(FILES gdb/async_gdb.py DESTINATION ${CMAKE_INSTALL_DATADIR}/async/gdb)
if(NOT APPLE)
  install(CODE "
    set(_async_prefix \"\${CMAKE_INSTALL_PREFIX}\")
    set(_async_libdir \"${CMAKE_INSTALL_LIBDIR}\")
    set(_async_datadir \"${CMAKE_INSTALL_DATADIR}\")
    foreach(_async_dir _async_libdir _async_datadir)
      if(NOT IS_ABSOLUTE \"\${\${_async_dir}}\")
        set(\${_async_dir} \"\${_async_prefix}/\${\${_async_dir}}\")
      endif()
    endforeach()
    set(_async_script \"\${_async_datadir}/async/gdb/async_gdb.py\")
    configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/gdb/auto_load.py.in\"
                   \"${CMAKE_CURRENT_BINARY_DIR}/libasync-gdb.py\" @ONLY)
    file(INSTALL \"${CMAKE_CURRENT_BINARY_DIR}/libasync-gdb.py\"
         DESTINATION \"\${_async_datadir}/gdb/auto-load\${_async_libdir}\"
         RENAME \"libasync.so.${PROJECT_VERSION}-gdb.py\")
  ")
endif()
