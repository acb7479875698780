# Cross build for arm64 (aarch64) on a Debian 12 amd64 machine, with Debian's
# crossbuild-essential-arm64 and the :arm64 development packages installed side by side
# (multiarch: `dpkg --add-architecture arm64`; scripts/install-deps.sh does it).
# Used by `scripts/build.sh arm64` (build-arm64/). Only tetherd and tetherctl are built: the
# tests need the host (CMAKE_CROSSCOMPILING leaves tests/ out); the arm64 binaries are proven in the VM lab
# (tests/vm/run.sh --arch arm64, docs/VM-LAB.md).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Multiarch needs no sysroot: headers are in /usr/include (the same for both architectures),
# libraries in /usr/lib/aarch64-linux-gnu (CMAKE_LIBRARY_ARCHITECTURE makes find_library look
# there, never in the host's /usr/lib/x86_64-linux-gnu).

# Debian 12's cross kernel headers (linux-libc-dev-arm64-cross 6.1.4, in
# /usr/aarch64-linux-gnu/include) still spell __ALIGN_KERNEL with `typeof`, which C++20 without
# GNU extensions does not have (XT_ALIGN in tether/system/iptc_tables.cpp). The kernel's uapi
# linux/ headers are the same on every architecture: take the native ones (linux-libc-dev,
# 6.1.187, `__typeof__`, what the amd64 build compiles with) ahead of the cross ones; asm/
# still comes from the cross package.
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/uapi)
file(CREATE_LINK /usr/include/linux ${CMAKE_BINARY_DIR}/uapi/linux SYMBOLIC)
set(CMAKE_CXX_FLAGS_INIT "-isystem ${CMAKE_BINARY_DIR}/uapi")

# Debian has no aarch64-linux-gnu-pkg-config wrapper: the host's pkg-config reads only the
# arm64 .pc files (and the architecture-independent ones).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
