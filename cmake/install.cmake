# What `cmake --install` puts in place, and the library others link:
#   bin/socktrace                          the program
#   lib/libsocktrace.so.0 (+ .a)           core, sinks, the file readers and the
#                                          reader API; no live backend
#   include/socktrace/*.h                  the public headers (+ generated version.h)
#   lib/pkgconfig/socktrace.pc             pkg-config
#   lib/cmake/socktrace/                   find_package(socktrace): socktrace::socktrace
#                                          (shared) and socktrace::socktrace_static
#   share/man/man{1,3,5,7}/                socktrace(1), libsocktrace(3), sktrace(5),
#                                          socktrace-events(7)
#   share/bash-completion, share/zsh       completion
#   lib/systemd/system/socktrace@.service  boot-time sessions
#   share/doc/socktrace/                   README, the .sktrace format, sessions, CI, the example
# Linux (and other Unix) only: on Windows the build makes socktrace.exe alone.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# ---- the installed library ----
# Made from the objects of the internal static libraries the program links,
# so nothing is compiled twice (they are built position-independent for it).
set(ST_LIBRARY_PARTS socktrace st_backend_replay st_etw_decode st_etl st_registry)
if(TARGET st_backend_pcap)
  list(APPEND ST_LIBRARY_PARTS st_backend_pcap)
endif()
set(ST_LIBRARY_OBJECTS "")
foreach(part ${ST_LIBRARY_PARTS})
  list(APPEND ST_LIBRARY_OBJECTS $<TARGET_OBJECTS:${part}>)
endforeach()

# The shared library exports exactly the functions the public headers
# declare (a linker version script made from them here); every other symbol,
# st_ or not, stays inside. Configure runs again when a header changes.
file(GLOB ST_PUBLIC_HEADERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/include/socktrace/*.h)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${ST_PUBLIC_HEADERS})
set(ST_EXPORTS "")
foreach(h ${ST_PUBLIC_HEADERS})
  file(READ ${h} text)
  string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" text "${text}") # comments
  string(REGEX MATCHALL "[^A-Za-z0-9_]st_[a-z0-9_]+ *\\(" calls "${text}")
  foreach(c ${calls})
    string(REGEX REPLACE "^.(st_[a-z0-9_]+).*" "\\1" name "${c}")
    list(APPEND ST_EXPORTS ${name})
  endforeach()
endforeach()
list(REMOVE_DUPLICATES ST_EXPORTS)
list(SORT ST_EXPORTS)
list(JOIN ST_EXPORTS ";\n    " ST_EXPORT_LINES)
set(ST_EXPORTS_MAP ${CMAKE_BINARY_DIR}/socktrace.map)
file(CONFIGURE OUTPUT ${ST_EXPORTS_MAP}
     CONTENT "/* Made by cmake/install.cmake from include/socktrace/*.h. */\nSOCKTRACE_${PROJECT_VERSION_MAJOR} {\n  global:\n    ${ST_EXPORT_LINES};\n  local:\n    *;\n};\n")
# The list, one name a line, for the install check (tests/install).
list(JOIN ST_EXPORTS "\n" ST_EXPORT_NAMES)
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/socktrace.exports CONTENT "${ST_EXPORT_NAMES}\n")

set(ST_LIB_INCLUDES $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
                    $<BUILD_INTERFACE:${ST_GENERATED_INCLUDE}>
                    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

# The SONAME follows the major version: an ABI break bumps it (while at 0.x,
# ABI changes are announced in the release notes).
add_library(socktrace_shared SHARED ${ST_LIBRARY_OBJECTS})
set_target_properties(socktrace_shared PROPERTIES
  OUTPUT_NAME socktrace EXPORT_NAME socktrace
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib
  LINK_DEPENDS ${ST_EXPORTS_MAP})
target_include_directories(socktrace_shared INTERFACE ${ST_LIB_INCLUDES})
target_link_options(socktrace_shared PRIVATE -Wl,--version-script=${ST_EXPORTS_MAP}
                    -Wl,--no-undefined)
target_link_libraries(socktrace_shared PRIVATE PkgConfig::UV PkgConfig::JANSSON
                      $<TARGET_NAME_IF_EXISTS:PkgConfig::LIBPCAP>
                      $<TARGET_NAME_IF_EXISTS:PkgConfig::ZSTD>
                      $<TARGET_NAME_IF_EXISTS:PkgConfig::ZLIB>
                      $<TARGET_NAME_IF_EXISTS:PkgConfig::LZMA>)

# The static library carries what it needs as plain library names, so that
# a program linking it needs only the -dev packages, not our pkg-config names.
add_library(socktrace_static STATIC ${ST_LIBRARY_OBJECTS})
set_target_properties(socktrace_static PROPERTIES
  OUTPUT_NAME socktrace EXPORT_NAME socktrace_static
  ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
target_include_directories(socktrace_static INTERFACE ${ST_LIB_INCLUDES})
set(ST_STATIC_LIBS uv jansson)
if(TARGET st_backend_pcap)
  list(APPEND ST_STATIC_LIBS pcap)
endif()
if(TARGET PkgConfig::ZSTD)
  list(APPEND ST_STATIC_LIBS zstd z lzma)
endif()
list(APPEND ST_STATIC_LIBS pthread dl)
target_link_libraries(socktrace_static INTERFACE ${ST_STATIC_LIBS})

# ---- install ----
# Components, one .deb each (cmake/package.cmake): program (socktrace), lib
# (libsocktrace0: the shared library) and dev (libsocktrace-dev: headers,
# the .so link, the static library, pkg-config, CMake files, libsocktrace(3)).
install(TARGETS socktrace-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT program)
install(TARGETS socktrace_shared socktrace_static EXPORT socktraceTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib NAMELINK_COMPONENT dev
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(FILES ${ST_PUBLIC_HEADERS} ${ST_GENERATED_INCLUDE}/socktrace/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/socktrace COMPONENT dev)

# pkg-config: relocatable (prefix found from the .pc file's own place), so
# the same file works from /usr, /usr/local or an unpacked package.
file(RELATIVE_PATH ST_PC_UP /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
set(ST_PC_PREFIX "\${pcfiledir}/${ST_PC_UP}")
set(ST_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
set(ST_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
# A system install (/usr, the .deb) states its paths as they are: pkg-config
# --variable=includedir says /usr/include, not .../pkgconfig/../../../include.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR IS_ABSOLUTE ${CMAKE_INSTALL_LIBDIR}
   OR IS_ABSOLUTE ${CMAKE_INSTALL_INCLUDEDIR})
  set(ST_PC_PREFIX ${CMAKE_INSTALL_PREFIX}) # not relocatable
  set(ST_PC_LIBDIR ${CMAKE_INSTALL_FULL_LIBDIR})
  set(ST_PC_INCLUDEDIR ${CMAKE_INSTALL_FULL_INCLUDEDIR})
endif()
list(JOIN ST_STATIC_LIBS " -l" ST_PC_PRIVATE)
set(ST_PC_PRIVATE "-l${ST_PC_PRIVATE}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/socktrace.pc.in ${CMAKE_BINARY_DIR}/socktrace.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/socktrace.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev)

# find_package(socktrace)
set(ST_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/socktrace)
install(EXPORT socktraceTargets NAMESPACE socktrace:: DESTINATION ${ST_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/socktraceConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/socktraceConfig.cmake
                              INSTALL_DESTINATION ${ST_CMAKE_DIR})
# 0.x: a new minor version may change the API, so only the same minor fits.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/socktraceConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/socktraceConfig.cmake
              ${CMAKE_BINARY_DIR}/socktraceConfigVersion.cmake
        DESTINATION ${ST_CMAKE_DIR} COMPONENT dev)

# Man pages: roff written by hand in docs/man/, compressed here as Debian
# installs them (gzip -n: no name or time inside, so builds are reproducible).
file(GLOB ST_MAN_PAGES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/*.[1-8])
find_program(ST_GZIP gzip)
set(ST_MAN_OUT "")
foreach(page ${ST_MAN_PAGES})
  get_filename_component(name ${page} NAME)
  string(REGEX REPLACE ".*\\.([1-8])$" "\\1" section ${name})
  set(installed ${page})
  if(ST_GZIP)
    set(installed ${CMAKE_BINARY_DIR}/man/${name}.gz)
    add_custom_command(OUTPUT ${installed}
                       COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
                       COMMAND sh -c "${ST_GZIP} -9 -n -c '${page}' > '${installed}'"
                       DEPENDS ${page} VERBATIM)
    list(APPEND ST_MAN_OUT ${installed})
  endif()
  set(component program)
  if(section STREQUAL "3")
    set(component dev) # the library's page goes with its headers
  endif()
  install(FILES ${installed} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT ${component})
endforeach()
add_custom_target(st_man_pages ALL DEPENDS ${ST_MAN_OUT})

# Shell completion where each shell looks: bash-completion's directory, and
# for zsh Debian's vendor directory under /usr, site-functions elsewhere.
install(FILES ${CMAKE_SOURCE_DIR}/tools/completion/socktrace.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME socktrace
        COMPONENT program)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(ST_ZSH_DIR ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
else()
  set(ST_ZSH_DIR ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/tools/completion/_socktrace DESTINATION ${ST_ZSH_DIR}
        COMPONENT program)

# The boot-time session unit (socktrace@NAME.service), run from where the
# program is installed; systemd looks in PREFIX/lib/systemd/system for /usr
# and /usr/local.
file(READ ${CMAKE_SOURCE_DIR}/tools/systemd/socktrace@.service ST_UNIT)
string(REPLACE "/usr/bin/socktrace" "${CMAKE_INSTALL_FULL_BINDIR}/socktrace" ST_UNIT "${ST_UNIT}")
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/systemd/socktrace@.service CONTENT "${ST_UNIT}" @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_SOURCE_DIR}/tools/systemd/socktrace@.service)
install(FILES ${CMAKE_BINARY_DIR}/systemd/socktrace@.service DESTINATION lib/systemd/system
        COMPONENT program)

install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/sktrace-format.md
              ${CMAKE_SOURCE_DIR}/docs/sessions.md ${CMAKE_SOURCE_DIR}/docs/ci.md
              ${CMAKE_SOURCE_DIR}/docs/html-report.png
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT program)
install(FILES ${CMAKE_SOURCE_DIR}/docs/example/print_trace.c
              ${CMAKE_SOURCE_DIR}/docs/example/CMakeLists.txt
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/example COMPONENT dev)
