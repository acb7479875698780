// The Wi-Fi resource: the soft AP's settings (with the passphrase, for a session), changed as
// `softap set` changes them (validated by the daemon, field errors as {errors: {field: reason}}),
// and the QR code to join. Without a soft AP: 503.
#include "softap/hostapd/softap_settings.h"
#include "tether/base/log.h"
#include "web/qr_svg.h"
#include "web/responses.h"
#include "web/routes/routes.h"

namespace tetherd::web {

namespace {

Response noSoftap() { return errorResponse(503, "no-softap", "there is no soft AP"); }

json wifiJson(softap::SoftApService& ap) {
  json j = wifiImpl(ap.settings(), true);
  j["interface"] = ap.interface();
  return j;
}

void getWifi(WebContext& c, Reply reply) {
  if (!c.deps.softap) return reply(noSoftap());
  reply(jsonResponse(200, wifiJson(*c.deps.softap)));
}

void putWifi(WebContext& c, const Request& req, Reply reply) {
  if (!c.deps.softap) return reply(noSoftap());
  auto body = jsonBody(req, reply);
  if (!body) return;
  auto names = softap::fieldNames();
  names.push_back("body");
  auto pairs = wifiFieldsFrom(*body);
  if (!pairs) return reply(jsonResponse(400, fieldErrors(pairs.error().message, names, "body")));
  softap::Settings next = c.deps.softap->settings();
  if (auto st = softap::setFields(next, *pairs); !st) return reply(jsonResponse(400, fieldErrors(st.error().message, names, "body")));
  if (auto st = c.deps.softap->setAll(next); !st) {
    if (st.error().code == Errc::InvalidArgument) return reply(jsonResponse(400, fieldErrors(st.error().message, names, "body")));
    return reply(errorResponse(st.error()));
  }
  log::notice("web: soft AP settings changed (", pairs->size(), " fields)");
  reply(jsonResponse(200, wifiJson(*c.deps.softap)));
}

void getWifiQr(WebContext& c, Reply reply) {
  if (!c.deps.softap) return reply(noSoftap());
  auto svg = qrSvg(softap::wifiQrPayload(c.deps.softap->settings()));
  if (!svg) return reply(errorResponse(svg.error()));
  Response r;
  r.set("Content-Type", "image/svg+xml");
  r.body = std::move(*svg);
  reply(std::move(r));
}

}  // namespace

void addWifiRoutes(RouteTable& routes, WebContext& c) {
  using A = Access;
  routes.push_back({"GET", "/api/wifi", A::Session, "soft AP settings (with the passphrase)",
                    [&c](const Request&, const Params&, Session*, Reply r) { getWifi(c, std::move(r)); }});
  routes.push_back({"PUT", "/api/wifi", A::Session, "change soft AP settings; field errors as {errors:{field:reason}}",
                    [&c](const Request& q, const Params&, Session*, Reply r) { putWifi(c, q, std::move(r)); }});
  routes.push_back({"GET", "/api/wifi/qr.svg", A::Session, "QR code to join the Wi-Fi (SVG)",
                    [&c](const Request&, const Params&, Session*, Reply r) { getWifiQr(c, std::move(r)); }});
}

}  // namespace tetherd::web
