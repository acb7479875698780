#include "tether/app/web_commands.h"

#include <string>

namespace tetherd {

namespace {

// " https=off", or " https=on https_port=8443 https_listening=a:p,... fingerprint=AA:BB:..".
std::string httpsFields(const web::WebServer& web) {
  if (!web.httpsPort()) return " https=off";
  std::string listening;
  for (const auto& l : web.listeningHttps()) listening += (listening.empty() ? "" : ",") + l;
  return " https=on https_port=" + std::to_string(web.httpsPort()) +
         " https_listening=" + (listening.empty() ? "none" : listening) + " fingerprint=" + web.tlsFingerprint();
}

}  // namespace

void registerWebCommands(CommandTable& table, web::WebServer& web) {
  table.add("web", "web status | web setup-code | web set-password <password>|- (tetherctl reads '-' from stdin)",
            [&web](const control::Request& req, const control::Responder& r) {
              namespace code = control::code;
              const auto& a = req.args;
              if (a.size() == 1 && a[0] == "status") {
                web::WebApp& app = web.app();
                std::string listening;
                for (const auto& l : web.listening()) listening += (listening.empty() ? "" : ",") + l;
                return r.finish(code::StatusReport, std::string("web password=") + (app.passwordSet() ? "set" : "unset") +
                                                        " sessions=" + std::to_string(app.sessionCount()) +
                                                        " live=" + std::to_string(app.subscriberCount()) +
                                                        " listening=" + (listening.empty() ? "none" : listening) +
                                                        httpsFields(web));
              }
              if (a.size() == 1 && a[0] == "setup-code") {
                // The one-time code that lets another device do the page's first-use setup.
                const std::string& setup = web.app().setupCode();
                if (setup.empty()) return r.fail(makeError(Errc::AlreadyExists, "a web password is set: no setup code"));
                return r.finish(code::CommandOkay, setup);
              }
              if (a.size() == 2 && a[0] == "set-password") {
                return web.app().setPassword(a[1], [r](Status st) {
                  if (!st) return r.fail(st.error());
                  r.finish(code::CommandOkay, "web password set");
                });
              }
              r.finish(code::CommandSyntaxError, "Usage: web status | web setup-code | web set-password <password>|-");
            });
}

}  // namespace tetherd
