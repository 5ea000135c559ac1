# SPDX-License-Identifier: MIT
# Installs the libraries, headers, a CMake package (find_package(async) gives
# async::async and async::async_static) and a pkg-config file (async.pc).
include(CMakePackageConfigHelpers)

install(TARGETS async async_static EXPORT asyncTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
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

configure_file(cmake/async.pc.in ${CMAKE_CURRENT_BINARY_DIR}/async.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/async.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
