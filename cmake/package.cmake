# The Debian package: `cpack -G DEB` (or tools/package.sh) turns what
# `cmake --install` puts in place into socktrace_<version>_<arch>.deb.
# Configure with -DCMAKE_INSTALL_PREFIX=/usr and a Release build for it.
# dpkg-shlibdeps (dpkg-dev) computes the runtime dependencies from the ELF
# files themselves (Debian's libbpf, libuv, libpcap, jansson, libc ...), so
# they follow whatever this build links.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME socktrace)
# Three packages, as Debian splits a program and its library: socktrace (the
# program, its pages, completions, unit and docs), libsocktrace0 (the shared
# library, named after its soname) and libsocktrace-dev (what building
# against it needs). The components are set in cmake/install.cmake.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL program lib dev)
set(CPACK_DEBIAN_PROGRAM_PACKAGE_NAME socktrace)
set(CPACK_DEBIAN_LIB_PACKAGE_NAME libsocktrace0)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libsocktrace-dev)
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libsocktrace0 (= ${PROJECT_VERSION})")
set(CPACK_COMPONENT_LIB_DESCRIPTION "socket-event traces as st_event: the socktrace library
libsocktrace reads socktrace traces (.sktrace, JSON Lines, pcap and Windows
etl files) as one event schema. This package has the shared library.")
# ldconfig by trigger; CPack would otherwise call it from generated
# postinst/postrm scripts (lintian: maintscript-calls-ldconfig).
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/cmake/deb/triggers
    ${CMAKE_SOURCE_DIR}/cmake/deb/postinst ${CMAKE_SOURCE_DIR}/cmake/deb/postrm)
set(CPACK_COMPONENT_DEV_DESCRIPTION "socket-event traces as st_event: development files
Headers, the static library, pkg-config and CMake files, libsocktrace(3)
and an example program, for programs that read socktrace traces.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "socktrace")
set(CPACK_PACKAGE_CONTACT "socktrace developers <socktrace@localhost>"
    CACHE STRING "The .deb's Maintainer field")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "portable socket-event tracer (eBPF, ETW, pcap)")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "socktrace records every socket's life -- create, bind, listen, connect,
accept, send/receive, aborts, resets, close -- and says in words who
connected where and why it failed, with one event schema on every OS: eBPF
tracepoints on Linux, ETW on Windows, and readers for recorded traces
(.sktrace, JSON Lines, Windows .etl) and packet captures.
.
This package has the socktrace program, its man pages, shell completion, the
systemd unit for boot-time sessions and the docs.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # socktrace_0.1.0_amd64.deb, libsocktrace0_..., ...
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libsocktrace.so.0 gets a shlibs entry (and ldconfig runs on install).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# What a program linking the headers or the static library also needs.
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS 
    "libuv1-dev, libjansson-dev, libpcap-dev, libzstd-dev, zlib1g-dev, liblzma-dev, pkg-config")
set(CPACK_STRIP_FILES ON)

# Each package's /usr/share/doc/<package>/changelog.gz, which Debian wants
# even of a native package: one entry for this version, by the Maintainer,
# dated by SOURCE_DATE_EPOCH when set (reproducible builds), else now.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND ST_GZIP)
  string(TIMESTAMP ST_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
  foreach(comp program lib dev)
    string(TOUPPER ${comp} COMP)
    set(pkg ${CPACK_DEBIAN_${COMP}_PACKAGE_NAME})
    file(WRITE ${CMAKE_BINARY_DIR}/deb/${pkg}/changelog
         "${pkg} (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
         "  * socktrace ${PROJECT_VERSION}; what it does is in the README and socktrace(1).\n\n"
         " -- ${CPACK_PACKAGE_CONTACT}  ${ST_CHANGELOG_DATE}\n")
    execute_process(COMMAND sh -c "${ST_GZIP} -9 -n -c changelog > changelog.gz"
                    WORKING_DIRECTORY ${CMAKE_BINARY_DIR}/deb/${pkg})
    install(FILES ${CMAKE_BINARY_DIR}/deb/${pkg}/changelog.gz
            DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg} COMPONENT ${comp})
  endforeach()
endif()
include(CPack)
