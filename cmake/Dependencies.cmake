# Every dependency is a Debian 12 package; a missing one stops configuration with the
# package to install (scripts/install-deps.sh installs them all).
find_package(PkgConfig)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config'")
endif()

function(tetherd_require_pkg var module debian_package)
  pkg_check_modules(${var} IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "${module} not found: install the Debian package '${debian_package}' (scripts/install-deps.sh)")
  endif()
endfunction()

tetherd_require_pkg(LIBNL libnl-3.0 libnl-3-dev)
tetherd_require_pkg(LIBNL_ROUTE libnl-route-3.0 libnl-route-3-dev)
tetherd_require_pkg(LIBNL_GENL libnl-genl-3.0 libnl-genl-3-dev)  # nl80211: the Wi-Fi upstream's AP interface
tetherd_require_pkg(LIBIP4TC libip4tc libip4tc-dev)
tetherd_require_pkg(LIBIP6TC libip6tc libip6tc-dev)
tetherd_require_pkg(LIBNFTABLES libnftables libnftables-dev)  # tether doctor reads the ruleset
tetherd_require_pkg(LIBSYSTEMD libsystemd libsystemd-dev)
tetherd_require_pkg(LIBSODIUM libsodium libsodium-dev)
tetherd_require_pkg(LIBQRENCODE libqrencode libqrencode-dev)

find_package(Boost 1.74 QUIET)
if(NOT Boost_FOUND)
  message(FATAL_ERROR "Boost >= 1.74 headers not found: install the Debian package 'libboost-dev'")
endif()
find_package(nlohmann_json 3.10 QUIET)
if(NOT nlohmann_json_FOUND)
  message(FATAL_ERROR "nlohmann-json not found: install the Debian package 'nlohmann-json3-dev'")
endif()
find_package(GTest QUIET)
if(TETHERD_TESTS AND NOT GTest_FOUND AND NOT CMAKE_CROSSCOMPILING)  # a cross build has no tests
  message(FATAL_ERROR "GoogleTest not found: install the Debian packages 'libgtest-dev libgmock-dev'")
endif()
find_package(Threads REQUIRED)
