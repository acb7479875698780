// The status resource: upstream, downstreams, DNS, totals (api.h: statusImpl). The live views get
// the same JSON (events.cpp).
#include "web/routes/routes.h"

namespace tetherd::web {

void addStatusRoutes(RouteTable& routes, WebContext& c) {
  routes.push_back({"GET", "/api/status", Access::Session, "upstream, downstreams, totals",
                    [&c](const Request&, const Params&, Session*, Reply reply) {
                      Response r;
                      r.set("Content-Type", "application/json");
                      r.body = c.statusJson();
                      reply(std::move(r));
                    }});
}

}  // namespace tetherd::web
