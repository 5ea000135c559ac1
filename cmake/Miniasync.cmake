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

add_library(miniasync_objects OBJECT ${MINIASYNC_SOURCES})
set_target_properties(miniasync_objects PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  CXX_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON)
target_include_directories(miniasync_objects PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/include)
target_compile_options(miniasync_objects PRIVATE -Wall -Wextra -Wpedantic)
if(ASYNC_WARNINGS_AS_ERRORS)
  target_compile_options(miniasync_objects PRIVATE -Werror)
endif()
if(ASYNC_LIBRARY_SANITIZE_FLAGS)
  target_compile_options(miniasync_objects PRIVATE ${ASYNC_LIBRARY_SANITIZE_FLAGS})
endif()

add_library(miniasync SHARED $<TARGET_OBJECTS:miniasync_objects>)
add_library(miniasync_static STATIC $<TARGET_OBJECTS:miniasync_objects>)
set_target_properties(miniasync_static PROPERTIES OUTPUT_NAME miniasync)
set_target_properties(miniasync PROPERTIES SOVERSION 0)
if(NOT APPLE AND NOT WIN32)
  target_link_options(miniasync PRIVATE
    "LINKER:--version-script=${CMAKE_CURRENT_SOURCE_DIR}/cmake/libminiasync.map")
  set_property(TARGET miniasync APPEND PROPERTY
    LINK_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cmake/libminiasync.map)
endif()
foreach(lib miniasync miniasync_static)
  target_include_directories(${lib} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${lib} PUBLIC Threads::Threads)
endforeach()
target_link_libraries(miniasync_static INTERFACE ${_async_cxx_runtime})
add_library(async::miniasync ALIAS miniasync)
add_library(async::miniasync_static ALIAS miniasync_static)

# Headers: include/libminiasync.h and include/libminiasync/ are installed by
# AsyncInstall.cmake's install(DIRECTORY include/).
install(TARGETS miniasync miniasync_static
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

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
