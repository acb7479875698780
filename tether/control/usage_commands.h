// `client usage [<mac>]` (issue 14): the usage history, one line per day, client and
// downstream: "day=2026-12-05 mac=02:de:ad:be:ef:01 downstream=usb0 rx_bytes=1048576
// tx_bytes=20480" (rx: to the client, tx: from it), oldest day first. With a MAC, only that
// client's (an invalid MAC is refused naming "mac"). The counters are read first: today's
// lines are live.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tether/control/command_table.h"
#include "tether/core/client_usage.h"
#include "tether/core/clients/client_quotas.h"

namespace tetherd {

void clientUsageCommand(const std::vector<std::string>& args, ClientUsage& usage, const control::Responder& r);
// `client quota <mac> <size> [<period>]|off|reset`, `client quotas`, and the same for
// downstreams (`tether quota <if> ...`, `tether quotas`): args after "quota"/"quotas".
// A quota line: "<mac>|<if> quota=5000000 period=day used=1200 remaining=4998800
// resets=2026-12-06" (resets=never for a total).
using QuotaSetter = std::function<Status(const QuotaRequest&)>;
void quotaCommand(const std::vector<std::string>& args, const QuotaSetter& set, bool downstream, const control::Responder& r);
void quotasCommand(const std::vector<QuotaRow>& rows, bool downstream, const control::Responder& r);
// " rx_bytes=N tx_bytes=N": today's totals for `client list` (0 for a client not counted yet).
std::string usageFields(const std::map<std::string, UsageBytes>& today, const std::string& mac);

}  // namespace tetherd
