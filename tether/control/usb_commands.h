// `usb ...` control-socket commands: thin text adapters over UsbGadgetService.
#pragma once

#include <string>

#include "tether/control/command_table.h"
#include "tether/radios/usb/usb_service.h"

namespace tetherd {

void registerUsbCommands(CommandTable& table, UsbGadgetService& usb);
// "gadget=tetherd functions=rndis+ncm state=bound udc=dummy_udc.0 vendor=0x1d6b product=0x0104
// interfaces=rndis:usb0,ncm:usb1 carrier_bounces=0" (+ error="..." when there is one).
std::string describeUsb(const UsbGadgetService::View& v);

}  // namespace tetherd
