# The Debian package: `cpack -G DEB` (or tools/package.sh) turns what
# `cmake --install` puts in place into socktrace_<version>_<arch>.deb.
# Configure with -DCMAKE_INSTALL_PREFIX=/usr and a Release build for it.
# dpkg-shlibdeps (dpkg-dev) computes the runtime dependencies from the ELF
# files themselves (Debian's libbpf, libuv, libpcap, jansson, libc ...), so
# they follow whatever this build links.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME socktrace)
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
This package has the socktrace program, its man pages and shell completion,
and libsocktrace (shared and static, headers, pkg-config and CMake files) for
programs that read socktrace traces.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # socktrace_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libsocktrace.so.0 gets a shlibs entry (and ldconfig runs on install).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# What a program linking the headers or the static library also needs.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "libuv1-dev, libjansson-dev, libpcap-dev, libzstd-dev, zlib1g-dev, liblzma-dev, pkg-config")
set(CPACK_STRIP_FILES ON)
include(CPack)
