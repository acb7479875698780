// TetherManager's view of flowtable offload (issue 18; offload.h, offload_applier.h).
#include "tether/core/manager_impl.h"

namespace tetherd {

OffloadStatus TetherManager::offload() const { return impl_->offload.status(); }

}  // namespace tetherd
