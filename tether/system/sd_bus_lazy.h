// sd-bus without linking libsystemd: tetherd defines the sd_bus_* functions it uses (the
// declarations of <systemd/sd-bus.h>) as stubs that load libsystemd.so.0 with dlopen() the
// first time one is called, and forward to it. Only a board with [bluetooth] enabled ever
// calls one (the NAP talks to BlueZ), so every other run maps neither libsystemd nor its
// compression and crypto libraries (about 1 MiB resident; docs/PERFORMANCE.md).
//
// When the library cannot be loaded, the int-returning stubs answer -ELIBACC and the others
// nullptr, so each caller's ordinary error path reports it; loadSdBus() says why.
#pragma once

#include <string>

namespace tetherd {

// Loads libsystemd.so.0 (once). "" when ready, else the reason ("libsystemd.so.0: cannot
// open shared object file..." or a missing function).
std::string loadSdBus();

}  // namespace tetherd
