// trimHeap(): gives the heap's free pages back to the kernel (glibc's malloc_trim(0), which
// also releases whole free pages inside the heap, not only at its top). A reconcile with many
// clients builds and drops several copies of the planned tables (hundreds of kB with 250
// counted clients); glibc keeps what a later small allocation pins, so the idle daemon would
// stay resident at its busiest size (docs/PERFORMANCE.md, "Footprint with 250 clients").
// No-op on a C library without malloc_trim.
#pragma once

#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace tetherd {

inline void trimHeap() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

}  // namespace tetherd
