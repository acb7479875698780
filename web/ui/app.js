// tetherd's admin page: one small page app, no dependencies. Talks to /api/ (JSON) with the
// session cookie and the X-CSRF-Token header, and listens to /api/events for live updates.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { csrf: "", view: "", status: null, clients: null, wifi: null, settings: null,
                traffic: [], events: null, priority: [] };
const VIEWS = ["dashboard", "clients", "wifi", "traffic", "settings"];

// ---- helpers ----------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(n < 10 ? 1 : 0) : n) + " " + u[i];
}
const rate = (n) => bytes(n) + "/s";

function duration(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  const h = Math.floor(s / 3600);
  return h < 48 ? h + " h " + Math.floor((s % 3600) / 60) + " min" : Math.floor(h / 24) + " days";
}

let toastTimer = 0;
function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 3500);
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET") opts.headers["X-CSRF-Token"] = state.csrf;
  let r;
  try {
    r = await fetch(path, opts);
  } catch (e) {
    toast("tetherd does not answer");
    return { status: 0, ok: false, data: null };
  }
  let data = null;
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  if (r.status === 401 && path !== "/api/login") { loggedOut(); }
  return { status: r.status, ok: r.ok, data, retryAfter: r.headers.get("Retry-After") };
}

function errorText(res) {
  if (res.data && res.data.error) return res.data.error.message;
  return "failed (" + res.status + ")";
}

// Field errors: {"errors": {"field": "reason"}} from the daemon, or from the checks below.
function showErrors(prefix, errors) {
  document.querySelectorAll("[id^='err-" + prefix + "']").forEach((p) => { p.textContent = ""; });
  for (const [field, why] of Object.entries(errors || {})) {
    const p = $("err-" + prefix + field) || $("err-" + prefix + "body") || $("err-body");
    if (p) p.textContent = why;
  }
}

// ---- session and views ------------------------------------------------------------------------

function show(view) {
  $("toast").hidden = true;
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== "view-" + view;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === view);
  state.view = view;
  const loggedIn = VIEWS.includes(view);
  $("nav").hidden = !loggedIn;
  $("logout").hidden = !loggedIn;
  $("live").hidden = !loggedIn;
  if (view === "clients") loadClients();
  if (view === "wifi") loadWifi();
  if (view === "traffic") loadTraffic();
  if (view === "settings") loadSettings();
  if (view === "dashboard" && state.status) renderStatus(state.status);
  if (view === "login") setTimeout(() => $("login-password").focus(), 0);
}

function route() {
  const want = location.hash.replace(/^#/, "") || "dashboard";
  if (!state.csrf) return;
  show(VIEWS.includes(want) ? want : "dashboard");
}

async function start() {
  loadMe();  // a cut-off device learns why, logged in or not (clients.js)
  const r = await api("GET", "/api/session");
  if (!r.ok) { toast("tetherd does not answer"); return; }
  if (!r.data.passwordSet) {
    $("setup-code-field").hidden = !r.data.setupCodeNeeded;
    return show("setup");
  }
  if (!r.data.authenticated) return show("login");
  loggedIn(r.data.csrfToken);
}

function loggedIn(csrf) {
  state.csrf = csrf;
  connectEvents();
  api("GET", "/api/status").then((r) => { if (r.ok) updateStatus(r.data); });
  route();
}

function loggedOut() {
  if (state.events) state.events.close();
  state.events = null;
  const wasIn = !!state.csrf;
  state.csrf = "";
  show("login");
  if (wasIn) toast("Your session ended: log in again");
}

function connectEvents() {
  if (state.events) state.events.close();
  const es = new EventSource("/api/events");
  state.events = es;
  es.addEventListener("open", () => $("live").classList.remove("off"));
  es.addEventListener("status", (e) => updateStatus(JSON.parse(e.data)));
  es.addEventListener("traffic", (e) => addSample(JSON.parse(e.data)));
  es.addEventListener("change", (e) => {
    const c = JSON.parse(e.data);
    if (c.type !== "quotaAlert") return;
    toast((c.mac || "downstream " + c.downstream) + (c.reached ? " reached its quota: cut off" : " used 80 % of its quota"));
    if (state.view === "clients") loadClients();
    loadMe();
  });
  es.addEventListener("error", async () => {
    $("live").classList.add("off");
    if (es.readyState === EventSource.CLOSED) {
      // Ended by the server: logged out or expired? Ask, then reconnect or log in.
      const r = await api("GET", "/api/session");
      if (r.ok && r.data.authenticated && state.events === es) setTimeout(connectEvents, 2000);
      else if (r.ok && !r.data.authenticated) loggedOut();
    }
  });
}

// ---- setup, login, logout ---------------------------------------------------------------------

function passwordProblem(p) {
  if (new TextEncoder().encode(p).length < 8) return "shorter than 8 characters";
  if (new TextEncoder().encode(p).length > 256) return "longer than 256 bytes";
  if (/[\x00-\x1f\x7f]/.test(p)) return "contains a control character";
  return "";
}

$("setup-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const pw = $("setup-password").value;
  const errs = {};
  const why = passwordProblem(pw);
  if (why) errs.password = why;
  else if (pw !== $("setup-confirm").value) errs.confirm = "the two passwords differ";
  showErrors("setup-", errs);
  if (Object.keys(errs).length) return;
  $("setup-submit").disabled = true;
  const body = { password: pw };
  if (!$("setup-code-field").hidden) body.code = $("setup-code").value;
  const r = await api("POST", "/api/setup", body);
  $("setup-submit").disabled = false;
  if (r.ok) {
    $("setup-password").value = $("setup-confirm").value = $("setup-code").value = "";
    toast("Password set");
    return loggedIn(r.data.csrfToken);
  }
  if (r.status === 409) return start();
  showErrors("setup-", (r.data && r.data.errors) || { password: errorText(r) });
});

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-submit").disabled = true;
  const r = await api("POST", "/api/login", { password: $("login-password").value });
  $("login-submit").disabled = false;
  if (r.ok) {
    $("login-password").value = "";
    $("err-login").textContent = "";
    return loggedIn(r.data.csrfToken);
  }
  if (r.status === 429) $("err-login").textContent = "Too many wrong passwords. Try again in " + r.retryAfter + " s.";
  else if (r.status === 401) $("err-login").textContent = "Wrong password.";
  else if (r.status === 409) return start();
  else $("err-login").textContent = errorText(r);
});

$("logout").addEventListener("click", async () => {
  await api("POST", "/api/logout");
  state.csrf = "";
  if (state.events) state.events.close();
  state.events = null;
  show("login");
});

for (const b of document.querySelectorAll("button.reveal")) {
  b.addEventListener("click", () => {
    const input = $(b.dataset.for);
    const reveal = input.type === "password";
    input.type = reveal ? "text" : "password";
    b.textContent = reveal ? "Hide" : "Show";
    b.setAttribute("aria-pressed", String(reveal));
  });
}

window.addEventListener("hashchange", route);
$("setup-form").addEventListener("input", () => showErrors("setup-", {}));
$("login-form").addEventListener("input", () => { $("err-login").textContent = ""; });

// ---- dashboard ---------------------------------------------------------------------------------

function updateStatus(s) {
  state.status = s;
  $("nav-clients").textContent = s.totals.clients ? String(s.totals.clients) : "";
  if (state.view === "dashboard") renderStatus(s);
}

function badge(text, cls) { return el("span", { class: "badge state-" + (cls || text), text }); }

function kv(pairs) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v] of pairs) dl.append(el("dt", { text: k }), el("dd", { text: v }));
  return dl;
}

function renderStatus(s) {
  const t = s.totals;
  $("totals").replaceChildren(
    ...[["Tethered", t.tethered + " / " + t.downstreams, "stat-tethered"], ["Clients", String(t.clients), "stat-clients"],
        ["To clients", bytes(t.rxBytes), "stat-rx"], ["From clients", bytes(t.txBytes), "stat-tx"]]
      .map(([label, value, id]) => el("div", { class: "card" }, el("div", { class: "stat", id, text: value }),
                                      el("div", { class: "label", text: label }))));
  const up = s.upstream;
  const upCard = $("upstream");
  upCard.replaceChildren(
    el("div", { class: "ds" },
       el("h3", {}, el("span", { id: "upstream-name", text: up.name || "none" }), badge(up.state)),
       kv([["Address", up.address || "–"], ["DNS", up.dns.join(", ") || "–"],
           ["Tethering", (s.tethering.started ? "started" : "stopped") + " (" + s.tethering.state + ")"],
           ["Validation", up.validation || "off"],
           ["IPv6", !s.ipv6 || s.ipv6.configured === "off" ? "off" : s.ipv6.configured + " → " + s.ipv6.mode +
                    (s.ipv6.delegated ? ", delegated " + s.ipv6.delegated.prefix : "")],
           ["Candidates", s.upstreams.map((u) => u.name + " " + u.state + (u.validation ? " " + u.validation : "") +
                                                (u.portalUrl ? " (portal " + u.portalUrl + ")" : "")).join(", ") || "none configured"]]),
       s.tethering.error ? el("p", { class: "error" }, s.tethering.error.message + " ", el("code", { text: s.tethering.error.code })) : null));
  const list = $("downstreams");
  if (!s.downstreams.length) {
    list.replaceChildren(el("p", { class: "empty", text: "No downstream interfaces (plug in USB, start the Wi-Fi or pair Bluetooth)." }));
    return;
  }
  list.replaceChildren(...s.downstreams.map((d) => {
    const active = d.state === "tethered" || d.state === "starting";
    const button = el("button", { class: active ? "small danger" : "small", type: "button", "data-if": d.name,
                                  text: active ? "Stop" : "Start",
                                  onclick: async (e) => {
                                    e.target.disabled = true;
                                    const r = await api("POST", "/api/interfaces/" + encodeURIComponent(d.name) + (active ? "/stop" : "/start"));
                                    e.target.disabled = false;
                                    if (!r.ok) toast(d.name + ": " + errorText(r));
                                    const st = await api("GET", "/api/status");
                                    if (st.ok) updateStatus(st.data);
                                  } });
    return el("div", { class: "card ds", id: "ds-" + d.name },
              el("h3", {}, el("span", { text: d.name }), badge(d.kind, "kind"), badge(d.state)),
              kv([["Subnet", d.subnet || "–"], ["IPv6", d.ipv6Prefix ? d.ipv6Prefix + " (" + d.ipv6 + ")" : "–"],
                  ["Clients", String(d.clients)], ["DHCP", d.dhcp ? "running" : "stopped"],
                  ["Traffic", "↓ " + bytes(d.rxBytes) + "  ↑ " + bytes(d.txBytes)]]),
              d.quota ? quotaBar(d.quota) : null,  // the downstream's quota (clients.js)
              d.error ? el("p", { class: "error" }, d.error.message + " ", el("code", { text: d.error.code })) : null,
              button);
  }));
}

// ---- clients (clients.js) -----------------------------------------------------------------------

function cell(label, content, cls) {
  return el("div", { class: "cell " + (cls || ""), role: "cell", "data-label": label }, content);
}

// ---- Wi-Fi: the daemon's rules, checked here first ---------------------------------------------

const CH5 = [36, 40, 44, 48, 52, 56, 60, 64, 100, 104, 108, 112, 116, 120, 124, 128, 132, 136, 140, 144, 149, 153, 157, 161, 165];

function wifiForm() {
  const ch = $("wifi-channel").value.trim();
  return {
    ssid: $("wifi-ssid").value, security: $("wifi-security").value, passphrase: $("wifi-passphrase").value,
    band: $("wifi-band").value, channel: ch === "" || ch === "auto" ? "auto" : ch, country: $("wifi-country").value.trim().toUpperCase(),
    hidden: $("wifi-hidden").checked, isolation: $("wifi-isolation").checked,
    "max-stations": $("wifi-max").value, "80211n": $("wifi-n").checked, "80211ac": $("wifi-ac").checked,
  };
}

// The same checks, in the same words, as softap_settings.cpp's validate().
function wifiProblems(s) {
  const e = {};
  const enc = new TextEncoder();
  const ssidBytes = enc.encode(s.ssid).length;
  if (!ssidBytes) e.ssid = "empty (1 to 32 bytes)";
  else if (/[\r\n\0]/.test(s.ssid)) e.ssid = "contains a newline or NUL";
  else if (ssidBytes > 32) e.ssid = "longer than 32 bytes (" + ssidBytes + ")";
  else if (/[\x00-\x1f\x7f]/.test(s.ssid)) e.ssid = "contains a control character";
  const p = s.passphrase, sae = s.security === "wpa3-sae" || s.security === "wpa2-wpa3";
  if (!p) { if (s.security !== "open") e.passphrase = "required for " + s.security; }
  else if (/[\r\n\0]/.test(p)) e.passphrase = "contains a newline or NUL";
  else if (p.length === 64) {
    if (!/^[0-9a-fA-F]{64}$/.test(p)) e.passphrase = "64 characters must be 64 hex digits (a raw PSK); a passphrase has 8 to 63 characters";
    else if (sae) e.passphrase = "a raw 64-hex-digit PSK cannot be used with " + s.security + " (SAE needs a passphrase of 8 to 63 characters)";
  } else if (p.length < 8) e.passphrase = "shorter than 8 characters (" + p.length + ")";
  else if (p.length > 64) e.passphrase = "longer than 63 characters (" + p.length + ")";
  else if (/[^\x20-\x7e]/.test(p)) e.passphrase = "character " + (p.search(/[^\x20-\x7e]/) + 1) + " is not printable ASCII (0x20 to 0x7e)";
  else if (sae) for (const t of ["|mac=", "|vlanid=", "|pk=", "|id="]) if (p.includes(t)) e.passphrase = "contains '" + t + "', which hostapd would read as a sae_password parameter";
  if (s.channel !== "auto") {
    const c = Number(s.channel);
    if (!/^\d{1,9}$/.test(s.channel)) e.channel = "'" + s.channel + "' is not a channel number or auto";
    else if (s.band === "2.4") {
      if (c < 1 || c > 14) e.channel = c + " is not a 2.4 GHz channel (1 to 13; 14 in JP only)";
      else if (c === 14 && s.country !== "JP") e.channel = "14 is allowed only with country JP";
    } else if (!CH5.includes(c)) e.channel = c + " is not a 5 GHz channel (36-64, 100-144 in steps of 4, 149-165)";
    else if (c >= 52 && c <= 144 && !s.country) e.channel = c + " needs radar detection (DFS): set the country first";
  }
  if (s.country && !/^[A-Z]{2}$/.test(s.country)) e.country = "'" + s.country + "' is not an ISO 3166-1 alpha-2 country code";
  const m = Number(s["max-stations"]);
  if (!/^\d+$/.test(s["max-stations"])) e["max-stations"] = "'" + s["max-stations"] + "' is not a whole number";
  else if (m < 1 || m > 2007) e["max-stations"] = "must be between 1 and 2007 (" + m + ")";
  if (s["80211n"] && s.channel === "14") e["80211n"] = "not available on channel 14 (802.11b only)";
  if (s["80211ac"] && s.band !== "5") e["80211ac"] = "only on the 5 GHz band";
  else if (s["80211ac"] && !s["80211n"]) e["80211ac"] = "needs 80211n";
  return e;
}

function fillWifi(w) {
  state.wifi = w;
  $("wifi-ssid").value = w.ssid;
  $("wifi-security").value = w.security;
  $("wifi-passphrase").value = w.passphrase;
  $("wifi-band").value = w.band;
  $("wifi-channel").value = w.channel === "auto" ? "" : w.channel;
  $("wifi-country").value = w.country;
  $("wifi-max").value = w["max-stations"];
  $("wifi-hidden").checked = w.hidden;
  $("wifi-isolation").checked = w.isolation;
  $("wifi-n").checked = w["80211n"];
  $("wifi-ac").checked = w["80211ac"];
  $("wifi-qr-ssid").textContent = w.ssid;
  $("wifi-qr").src = "/api/wifi/qr.svg?v=" + Date.now();
  markInvalid({});
}

function markInvalid(errs) {
  for (const input of $("wifi-form").querySelectorAll("input, select")) {
    input.setAttribute("aria-invalid", errs[input.name] ? "true" : "false");
  }
  showErrors("", errs);
}

async function loadWifi() {
  const r = await api("GET", "/api/wifi");
  if (r.ok) fillWifi(r.data);
  else toast("Wi-Fi: " + errorText(r));
}

$("wifi-form").addEventListener("input", () => {
  $("wifi-saved").hidden = true;
  markInvalid(wifiProblems(wifiForm()));
});

$("wifi-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const s = wifiForm();
  const errs = wifiProblems(s);
  markInvalid(errs);
  if (Object.keys(errs).length) return;
  // Only what changed; the daemon validates again (and answers field by field).
  const changed = {};
  for (const [k, v] of Object.entries(s)) {
    const before = state.wifi ? state.wifi[k] : undefined;
    const now = k === "max-stations" ? Number(v) : v;
    if (String(before) !== String(now)) changed[k] = now;
  }
  if (!Object.keys(changed).length) { $("wifi-saved").hidden = false; return; }
  $("wifi-save").disabled = true;
  const r = await api("PUT", "/api/wifi", changed);
  $("wifi-save").disabled = false;
  if (r.ok) {
    fillWifi(r.data);
    $("wifi-saved").hidden = false;
    return;
  }
  if (r.data && r.data.errors) markInvalid(r.data.errors);
  else toast("Wi-Fi: " + errorText(r));
});

// The Clients view is in clients.js, Traffic in traffic.js, Settings in settings.js (loaded
// after this file): start once every script is there.
document.addEventListener("DOMContentLoaded", start);
