# Cross-compile for 64-bit Arm Linux (aarch64) with Debian's cross toolchain:
#   bash scripts/install-deps.sh --aarch64
#   cmake -S . -B build-aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake
#   cmake --build build-aarch64 && ctest --test-dir build-aarch64
#
# install-deps.sh --aarch64 installs g++-aarch64-linux-gnu and qemu-user, and
# unpacks Debian's arm64 XNNPACK, pthreadpool and cpuinfo libraries into
# EIDETIC_AARCH64_DEPS (not installed through dpkg: their amd64 and arm64
# packages cannot be installed side by side, so installing the arm64 ones would
# remove what the native build needs). Headers (flatbuffers, doctest, xnnpack.h
# ...) are the build machine's: they are the same on every architecture.
#
# Tests run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR, which ctest puts in
# front of every test program), with the unpacked libraries on the guest's
# library path.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(EIDETIC_AARCH64_DEPS /opt/eidetic-aarch64 CACHE PATH "Debian's arm64 XNNPACK, pthreadpool and cpuinfo, unpacked")
set(EIDETIC_AARCH64_LIBDIR ${EIDETIC_AARCH64_DEPS}/usr/lib/aarch64-linux-gnu)

set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH ${EIDETIC_AARCH64_DEPS} /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # flatc, glslc: the build machine's
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)   # never an amd64 library
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# libXNNPACK.so needs libcpuinfo and libpthreadpool: tell the linker where.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${EIDETIC_AARCH64_LIBDIR}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${EIDETIC_AARCH64_LIBDIR}")

find_program(EIDETIC_QEMU_AARCH64 qemu-aarch64)
if(EIDETIC_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR
      ${EIDETIC_QEMU_AARCH64} -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=${EIDETIC_AARCH64_LIBDIR})
endif()
