// tetherd's admin page: the Clients view (issue 14) — the client list with quota bars, the rate
// limit and quota dialogs, the usage table with a 30-day chart per client — and the notice a
// cut-off client gets on any view, the login screen included (/api/me: only its own state).
// Loaded after app.js, whose helpers (el, api, bytes, cell, toast, showErrors) it uses.
"use strict";

const PERIODS = { day: ["today", "daily quota"], month: ["this month", "monthly quota"], total: ["in total", "quota"] };
const periodText = (p) => PERIODS[p] || [p, p + " quota"];

async function loadClients() {
  const r = await api("GET", "/api/clients");
  if (!r.ok) return;
  state.clients = r.data;
  renderClients(r.data);
  const u = await api("GET", "/api/clients/usage");
  if (u.ok) renderUsage(u.data, r.data.clients);
}

// ---- the 30-day history: one bar per day (download below, upload on top), inline SVG -----------

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

// The 30 days ending with `today` ("YYYY-MM-DD", tetherd's local calendar), oldest first.
function last30(today) {
  const [y, m, d] = today.split("-").map(Number);
  const out = [];
  for (let i = 29; i >= 0; i--) out.push(new Date(Date.UTC(y, m - 1, d - i)).toISOString().slice(0, 10));
  return out;
}

function usageChart(c, today) {
  const perDay = {};
  for (const d of c.days) {
    const t = perDay[d.day] || (perDay[d.day] = { rx: 0, tx: 0 });
    t.rx += d.rx;
    t.tx += d.tx;
  }
  const days = last30(today);
  const max = Math.max(1, ...days.map((d) => (perDay[d] ? perDay[d].rx + perDay[d].tx : 0)));
  const W = 4, GAP = 1, H = 40;
  const chart = svg("svg", { class: "chart", viewBox: "0 0 " + days.length * (W + GAP) + " " + H, width: days.length * (W + GAP) * 2,
                             height: H, role: "img", "aria-label": "bytes per day, last 30 days" });
  let counted = 0;
  days.forEach((day, i) => {
    const v = perDay[day] || { rx: 0, tx: 0 };
    const x = i * (W + GAP);
    const hrx = (H * v.rx) / max, htx = (H * v.tx) / max;
    const g = svg("g", { "data-day": day }, svg("title", {}, day + ": ↓ " + bytes(v.rx) + " ↑ " + bytes(v.tx)));
    g.append(svg("rect", { class: "day", x, y: 0, width: W, height: H }));
    if (v.rx + v.tx > 0) {
      counted++;
      g.append(svg("rect", { class: "rx", x, y: H - hrx, width: W, height: Math.max(hrx, 0) }),
               svg("rect", { class: "tx", x, y: H - hrx - htx, width: W, height: Math.max(htx, 0) }));
    }
    chart.append(g);
  });
  chart.dataset.days = String(counted);
  chart.dataset.max = String(max);
  return chart;
}

// Per-client usage: today's and the last 30 days' bytes (kept by tetherd in state_dir).
function renderUsage(u, clients) {
  const names = Object.fromEntries(clients.map((c) => [c.mac, c.hostname]));
  const head = el("div", { class: "tr th", role: "row" },
                  ...["Client", "Today", "Last 30 days", "Days", "Per day"].map((h) => el("div", { role: "columnheader", text: h })));
  const rows = u.clients.map((c) => el("div", { class: "tr", role: "row", "data-mac": c.mac },
    cell("Client", el("span", { class: "mono", text: (names[c.mac] ? names[c.mac] + " " : "") + c.mac }), "wide"),
    cell("Today", "↓ " + bytes(c.today.rx) + " ↑ " + bytes(c.today.tx)),
    cell("Last 30 days", "↓ " + bytes(c.last30.rx) + " ↑ " + bytes(c.last30.tx)),
    cell("Days", String(new Set(c.days.map((d) => d.day)).size)),
    cell("Per day", u.today ? usageChart(c, u.today) : "–", "wide")));
  $("usage-table").replaceChildren(...(rows.length ? [head, ...rows] : []));
  $("usage-empty").hidden = rows.length > 0;
}

// ---- actions and dialogs -----------------------------------------------------------------------

async function clientAction(mac, action) {
  const r = await api("POST", "/api/clients/" + encodeURIComponent(mac) + "/" + action);
  const done = { kick: "disconnected", pin: "pinned", unpin: "unpinned" }[action] || action + "ed";
  toast(r.ok ? mac + ": " + done : mac + ": " + errorText(r));
  loadClients();
}

// A dialog's form posted to /api/clients/<mac>/<what>; the daemon checks the values (units
// included) and names the field it refuses, shown beside that field.
let dialogClient = null;
function openDialog(id, c, fill) {
  dialogClient = c;
  $(id + "-mac").textContent = (c.hostname ? c.hostname + " " : "") + c.mac;
  fill();
  showErrors(id + "-", {});
  $(id).showModal();
}

async function submitDialog(id, what, body, done) {
  const c = dialogClient;
  $(id + "-save").disabled = true;
  const r = await api("POST", "/api/clients/" + encodeURIComponent(c.mac) + "/" + what, body);
  $(id + "-save").disabled = false;
  if (!r.ok) return showErrors(id + "-", (r.data && r.data.errors) || { body: errorText(r) });
  $(id).close();
  toast(c.mac + ": " + done);
  loadClients();
  loadMe();
}

for (const id of ["limit-dialog", "quota-dialog"]) {
  $(id + "-cancel").addEventListener("click", () => $(id).close());
  $(id).addEventListener("input", () => showErrors(id + "-", {}));
}

$("limit-dialog").addEventListener("submit", (e) => {
  e.preventDefault();
  const body = { download: $("limit-download").value.trim() || "off", upload: $("limit-upload").value.trim() || "off" };
  submitDialog("limit-dialog", "limit", body, "limit ↓ " + body.download + " ↑ " + body.upload);
});

$("quota-dialog").addEventListener("submit", (e) => {
  e.preventDefault();
  const by = e.submitter ? e.submitter.id : "";
  const size = by === "quota-dialog-remove" ? "off" : by === "quota-dialog-reset" ? "reset" : $("quota-size").value.trim() || "off";
  const body = size === "off" || size === "reset" ? { quota: size } : { quota: size, period: $("quota-period").value };
  submitDialog("quota-dialog", "quota", body, size === "off" ? "no quota" : size === "reset" ? "quota started again"
                                                : "quota " + size + " " + { day: "a day", month: "a month", total: "in total" }[body.period]);
});

// ---- the list ----------------------------------------------------------------------------------

function quotaBar(q) {
  const fill = el("div", { class: "fill" });
  fill.style.width = (q.bytes ? Math.min(100, (100 * q.used) / q.bytes) : 100).toFixed(1) + "%";
  const [when] = periodText(q.period);
  return el("div", { class: "quota level" + q.level, "data-level": q.level },
            el("div", { class: "bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(q.bytes),
                        "aria-valuenow": String(Math.min(q.used, q.bytes)), "aria-label": "quota used" }, fill),
            el("span", { class: "sub", text: bytes(q.used) + " of " + bytes(q.bytes) + " " + when }),
            q.level >= 2 ? badge("cut off", "cutoff") : null);
}

function renderClients(d) {
  const head = el("div", { class: "tr th", role: "row" },
                  ...["Name", "MAC", "IP", "Interface", "Connected", "Signal", "Traffic", "Quota", ""].map((h) => el("div", { role: "columnheader", text: h })));
  const button = (text, title, onclick, cls) => el("button", { class: "small " + (cls || "quiet"), type: "button", text, title, onclick });
  const rows = d.clients.map((c) => el("div", { class: "tr client", role: "row", "data-mac": c.mac },
    cell("Name", el("strong", { text: c.hostname || "(no name)" }), "wide"),
    cell("MAC", el("span", { class: "mono", text: c.mac })),
    cell("IP", el("span", {}, el("span", { class: "mono", text: c.ip || "–" }),
                  ...(c.ipv6 || []).map((a) => el("span", { class: "mono sub ipv6", text: a })))),
    cell("Interface", c.interface + " (" + c.kind + ")"),
    cell("Connected", c.connectedSec !== null ? duration(c.connectedSec)
                        : c.leaseExpires ? el("span", { class: "sub", text: "lease: " + duration(Math.max(0, c.leaseExpires - Math.floor(Date.now() / 1000))) + " left" })
                        : "–"),
    cell("Signal", c.signalDbm !== null ? c.signalDbm + " dBm" : "–"),
    cell("Traffic", c.downloadBytes !== null ? "↓ " + bytes(c.downloadBytes) + " ↑ " + bytes(c.uploadBytes) : "–"),
    cell("Quota", c.quota ? quotaBar(c.quota) : "–"),
    el("div", { class: "actions" },
       c.canKick ? button("Kick", null, () => clientAction(c.mac, "kick")) : null,
       c.canBlock && c.ip ? button(c.pinned ? "Unpin" : "Pin", c.pinned ? "pinned to " + c.pinned : "always give this client " + c.ip,
                                   () => clientAction(c.mac, c.pinned ? "unpin" : "pin")) : null,
       c.canBlock && c.ip ? button(c.limit ? "Limit ↓" + c.limit.download + " ↑" + c.limit.upload : "Limit", "rate-limit this client",
                                   () => openDialog("limit-dialog", c, () => {
                                     $("limit-download").value = c.limit ? c.limit.download : "off";
                                     $("limit-upload").value = c.limit ? c.limit.upload : "off";
                                   })) : null,
       c.canBlock ? button("Quota", "a quota for this client", () => openDialog("quota-dialog", c, () => {
         $("quota-size").value = c.quota ? c.quota.size : "";
         $("quota-period").value = c.quota ? c.quota.period : "day";
         $("quota-dialog-remove").hidden = $("quota-dialog-reset").hidden = !c.quota;
       })) : null,
       c.canBlock && !c.blocked ? button("Block", null, () => clientAction(c.mac, "block"), "danger") : null)));
  $("clients-table").replaceChildren(...(rows.length ? [head, ...rows] : []));
  $("clients-empty").hidden = rows.length > 0;
  $("blocked").replaceChildren(...(d.blocked.length ? d.blocked.map((m) => el("li", {},
    el("span", { class: "mono", text: m }),
    el("button", { class: "small quiet", type: "button", text: "Unblock", onclick: () => clientAction(m, "unblock") })))
    : [el("li", { class: "empty", text: "Nobody is blocked." })]));
}

// ---- the cut-off notice: this device's own state, logged in or not -----------------------------

async function loadMe() {
  const r = await api("GET", "/api/me");
  const n = $("cutoff");
  if (!r.ok || !r.data.known || !r.data.cutOff) { n.hidden = true; return; }
  const me = r.data, who = "This device (" + (me.hostname ? me.hostname + ", " : "") + me.mac + ")";
  let text;
  if (me.reason === "quota") {
    const q = me.quota, [, what] = periodText(q.period);
    const when = q.resetsInSec === null ? "It stays cut off until the admin raises, starts again or removes the quota."
      : "It is whole again " + (q.period === "day" ? "at midnight" : "on " + q.resetsOn) + " (tetherd's local time), in " + duration(q.resetsInSec) + ".";
    text = who + " is cut off from the internet: it used " + bytes(q.used) + " of its " + what + " of " + bytes(q.bytes) + ". " + when;
  } else {
    text = who + " is blocked by this hotspot's admin: it cannot reach the internet.";
  }
  n.replaceChildren(el("strong", { text: "No internet access. " }), text,
                    el("span", { class: "sub", text: " This page, DHCP and DNS still answer." }));
  n.dataset.reason = me.reason;
  n.hidden = false;
}
