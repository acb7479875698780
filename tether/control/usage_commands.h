// `client usage [<mac>]` (issue 14): the usage history, one line per day, client and
// downstream: "day=2026-12-05 mac=02:de:ad:be:ef:01 downstream=usb0 rx_bytes=1048576
// tx_bytes=20480" (rx: to the client, tx: from it), oldest day first. With a MAC, only that
// client's (an invalid MAC is refused naming "mac"). The counters are read first: today's
// lines are live.
#pragma once

#include <string>
#include <vector>

#include "tether/control/command_table.h"
#include "tether/core/client_usage.h"

namespace tetherd {

void clientUsageCommand(const std::vector<std::string>& args, ClientUsage& usage, const control::Responder& r);
// " rx_bytes=N tx_bytes=N": today's totals for `client list` (0 for a client not counted yet).
std::string usageFields(const std::map<std::string, UsageBytes>& today, const std::string& mac);

}  // namespace tetherd
