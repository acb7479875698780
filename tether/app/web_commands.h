// The admin page's control commands: `web status` and `web set-password <password>|-`
// (tetherctl reads '-' from stdin, so the password is never in the process list). They live in
// the app layer, which sees both the command table (control) and the page (web): neither of those
// includes the other.
#pragma once

#include "tether/control/command_table.h"
#include "web/web_server.h"

namespace tetherd {

void registerWebCommands(CommandTable& table, web::WebServer& web);

}  // namespace tetherd
