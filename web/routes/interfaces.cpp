// The interfaces resource: tether or untether one downstream, as `tether interface add|remove`.
#include "web/responses.h"
#include "web/routes/routes.h"

namespace tetherd::web {

namespace {

void postInterface(WebContext& c, const Params& params, Reply reply, bool start) {
  const std::string& name = params.at("name");
  Status st = start ? c.deps.manager.addInterface(name) : c.deps.manager.removeInterface(name);
  if (!st) return reply(errorResponse(st.error()));
  c.pushStatusSoon();
  reply(ok());
}

}  // namespace

void addInterfaceRoutes(RouteTable& routes, WebContext& c) {
  routes.push_back({"POST", "/api/interfaces/{name}/start", Access::Session, "tether an interface",
                    [&c](const Request&, const Params& p, Session*, Reply r) { postInterface(c, p, std::move(r), true); }});
  routes.push_back({"POST", "/api/interfaces/{name}/stop", Access::Session, "untether an interface",
                    [&c](const Request&, const Params& p, Session*, Reply r) { postInterface(c, p, std::move(r), false); }});
}

}  // namespace tetherd::web
