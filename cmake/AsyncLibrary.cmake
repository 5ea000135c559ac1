# SPDX-License-Identifier: MIT
# async_add_library: the target setup libasync and libminiasync share.
#
#   async_add_library(<name>
#     SOURCES <file>...        compiled once into <name>_objects
#     VERSION_SCRIPT <file>    what the shared library exports (ELF only)
#     [SOVERSION <n>] [VERSION <x.y.z>]
#     [LINK <library>...]      public link dependencies of both libraries
#     [EXPORT <set>])          the install(EXPORT) set the targets join
#
# gives <name>_objects (OBJECT: position-independent, hidden visibility,
# -Wall -Wextra -Wpedantic, -Werror with ASYNC_WARNINGS_AS_ERRORS, clang's
# -Wthread-safety as an error, the library part of the sanitizer flags),
# <name> (SHARED, lib<name>.so) and <name>_static (STATIC, lib<name>.a) built
# from those objects, their aliases async::<name> and async::<name>_static,
# and installs both libraries. What
# only one library needs is added to these targets after the call.

# lib<name>.a is C++ inside: a program linked by the C compiler (a C project,
# or `cc` with pkg-config --static) also needs the C++ runtime libraries, the
# ones the C++ compiler links and the C compiler does not (stdc++ and m with
# GCC). CMake would only add them when the consumer enables CXX itself.
set(ASYNC_CXX_RUNTIME_LIBS ${CMAKE_CXX_IMPLICIT_LINK_LIBRARIES})
if(ASYNC_CXX_RUNTIME_LIBS AND CMAKE_C_IMPLICIT_LINK_LIBRARIES)
  list(REMOVE_ITEM ASYNC_CXX_RUNTIME_LIBS ${CMAKE_C_IMPLICIT_LINK_LIBRARIES})
endif()
list(REMOVE_DUPLICATES ASYNC_CXX_RUNTIME_LIBS)

function(async_add_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "VERSION_SCRIPT;SOVERSION;VERSION;EXPORT" "SOURCES;LINK")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_SOURCES OR NOT arg_VERSION_SCRIPT)
    message(FATAL_ERROR "async_add_library(${name}): SOURCES and VERSION_SCRIPT are required; "
                        "unknown: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  set(objects ${name}_objects)
  set(static ${name}_static)

  # One set of objects, compiled position-independent, for both libraries.
  add_library(${objects} OBJECT ${arg_SOURCES})
  set_target_properties(${objects} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_include_directories(${objects} PRIVATE ${PROJECT_SOURCE_DIR}/include)
  target_compile_options(${objects} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic>)
  if(ASYNC_WARNINGS_AS_ERRORS)
    target_compile_options(${objects} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
  # clang checks the locking annotations (src/arch/thread_safety.h): a guarded
  # field touched without its lock fails the build, whatever the option above.
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${objects} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wthread-safety -Werror=thread-safety>)
  endif()
  if(ASYNC_LIBRARY_SANITIZE_FLAGS)
    target_compile_options(${objects} PRIVATE ${ASYNC_LIBRARY_SANITIZE_FLAGS})
  endif()

  add_library(${name} SHARED $<TARGET_OBJECTS:${objects}>)
  add_library(${static} STATIC $<TARGET_OBJECTS:${objects}>)
  set_target_properties(${static} PROPERTIES OUTPUT_NAME ${name})
  if(DEFINED arg_SOVERSION)
    set_target_properties(${name} PROPERTIES SOVERSION ${arg_SOVERSION})
  endif()
  if(DEFINED arg_VERSION)
    set_target_properties(${name} PROPERTIES VERSION ${arg_VERSION})
  endif()
  # Export only the public API: the version script lists it. ELF only;
  # Mach-O builds rely on -fvisibility=hidden and .private_extern.
  if(NOT APPLE AND NOT WIN32)
    target_link_options(${name} PRIVATE "LINKER:--version-script=${arg_VERSION_SCRIPT}")
    set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${arg_VERSION_SCRIPT})
  endif()
  foreach(lib ${name} ${static})
    target_include_directories(${lib} PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_link_libraries(${lib} PUBLIC ${arg_LINK})
  endforeach()
  target_link_libraries(${static} INTERFACE ${ASYNC_CXX_RUNTIME_LIBS})
  add_library(async::${name} ALIAS ${name})
  add_library(async::${static} ALIAS ${static})

  if(arg_EXPORT)
    set(export_set EXPORT ${arg_EXPORT})
  endif()
  install(TARGETS ${name} ${static} ${export_set}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endfunction()
