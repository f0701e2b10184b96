# Cross-compiling socktrace for 64-bit Windows with mingw-w64 on Linux.
# Tests run under wine (CMAKE_CROSSCOMPILING_EMULATOR), so ctest works as
# on Linux. Libraries cross-built for Windows (libuv, jansson) are found
# under ST_WIN_PREFIX (tools/windows-build.sh sets it).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(ST_MINGW_TRIPLET x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${ST_MINGW_TRIPLET}-gcc)
set(CMAKE_RC_COMPILER ${ST_MINGW_TRIPLET}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${ST_MINGW_TRIPLET} ${ST_WIN_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Keep ST_WIN_PREFIX in try_compile projects too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ST_WIN_PREFIX)

# C99 printf (%zu, %llu) from mingw's own stdio rather than msvcrt's.
set(CMAKE_C_FLAGS_INIT "-D__USE_MINGW_ANSI_STDIO=1")

# One self-contained .exe: no libgcc / winpthread DLLs to ship.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

find_program(ST_WINE NAMES wine wine64)
if(ST_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${ST_WINE})
endif()
