// tetherd's admin page: the Settings view — upstream priority, auto-tether, DHCP, idle auto-off
// (issue 14) — and the admin password. Loaded after app.js, whose helpers it uses.
"use strict";

// ---- settings ----------------------------------------------------------------------------------

async function loadSettings() {
  const r = await api("GET", "/api/settings");
  if (!r.ok) return toast("Settings: " + errorText(r));
  const s = r.data;
  state.settings = s;
  state.priority = [...s.upstreamPriority];
  renderPriority();
  const KINDS = { usb: "USB", wifi: "Wi-Fi", bluetooth: "Bluetooth", ethernet: "Ethernet" };
  $("auto-tether").replaceChildren(...Object.keys(KINDS).filter((k) => k in s.autoTether).map((kind) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", id: "auto-" + kind, "data-kind": kind, checked: s.autoTether[kind] }),
       KINDS[kind])));
  $("dhcp-first").value = s.dhcp.rangeFirstHost;
  $("dhcp-last").value = s.dhcp.rangeLastHost;
  $("dhcp-lease").value = Math.round(s.dhcp.leaseTimeSec / 60);
  fillIdle(s.idle);
  showErrors("", {});
}

// Idle auto-off: minutes on the page (0: never), seconds in the API; the daemon checks them.
const UNTETHER = { usb: "USB", bluetooth: "Bluetooth", ethernet: "Ethernet" };
function fillIdle(idle) {
  $("idle-softap").value = idle.softapTimeoutSec / 60;
  $("idle-tethering").value = idle.tetheringTimeoutSec / 60;
  $("idle-untether").replaceChildren(...Object.keys(UNTETHER).filter((k) => k in idle.untether).map((kind) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", id: "idle-" + kind, "data-kind": kind, checked: idle.untether[kind] }),
       UNTETHER[kind])));
}

// Only what changed: a value the page never touched stays tetherd.conf's.
function idleChanges(errs) {
  const before = state.settings.idle, out = {};
  for (const [field, id] of [["softapTimeoutSec", "idle-softap"], ["tetheringTimeoutSec", "idle-tethering"]]) {
    const text = $(id).value.trim(), min = Number(text);
    if (text === "" || !Number.isFinite(min) || min < 0) { errs["idle." + field] = "minutes, 0 for never"; continue; }
    const sec = Math.round(min * 60);
    if (sec !== before[field]) out[field] = sec;
  }
  const untether = {};
  for (const c of document.querySelectorAll("#idle-untether input")) {
    if (c.checked !== before.untether[c.dataset.kind]) untether[c.dataset.kind] = c.checked;
  }
  if (Object.keys(untether).length) out.untether = untether;
  return out;
}

function renderPriority() {
  const names = state.priority;
  $("priority").replaceChildren(...names.map((n, i) => el("li", {},
    el("span", { text: n }),
    el("button", { class: "small quiet", type: "button", text: "↑", "aria-label": "move " + n + " up", disabled: i === 0,
                   onclick: () => { [names[i - 1], names[i]] = [names[i], names[i - 1]]; renderPriority(); } }),
    el("button", { class: "small quiet", type: "button", text: "↓", "aria-label": "move " + n + " down", disabled: i === names.length - 1,
                   onclick: () => { [names[i + 1], names[i]] = [names[i], names[i + 1]]; renderPriority(); } }),
    el("button", { class: "small quiet", type: "button", text: "Remove", onclick: () => { names.splice(i, 1); renderPriority(); } }))));
  const free = ((state.settings && state.settings.interfaces) || []).filter((n) => !names.includes(n));
  $("priority-add-name").replaceChildren(...free.map((n) => el("option", { value: n, text: n })));
  $("priority-add-row").hidden = free.length === 0;
}

$("priority-add").addEventListener("click", () => {
  const n = $("priority-add-name").value;
  if (n) { state.priority.push(n); renderPriority(); }
});

$("settings-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("settings-saved").hidden = true;
  const auto = {};
  for (const c of document.querySelectorAll("#auto-tether input")) auto[c.dataset.kind] = c.checked;
  const first = Number($("dhcp-first").value), last = Number($("dhcp-last").value), lease = Number($("dhcp-lease").value);
  const errs = {};
  if (!Number.isInteger(first) || first < 2 || first > 65000) errs["dhcp.rangeFirstHost"] = "must be between 2 and 65000";
  if (!Number.isInteger(last) || last < 2 || last > 65000) errs["dhcp.rangeLastHost"] = "must be between 2 and 65000";
  else if (first > last) errs["dhcp.rangeFirstHost"] = "greater than the last host";
  if (!Number.isInteger(lease) || lease < 2 || lease > 10080) errs["dhcp.leaseTimeSec"] = "between 2 minutes and 7 days";
  const idle = idleChanges(errs);
  showErrors("", errs);
  if (Object.keys(errs).length) return;
  $("settings-save").disabled = true;
  const change = { upstreamPriority: state.priority, autoTether: auto,
                  dhcp: { rangeFirstHost: first, rangeLastHost: last, leaseTimeSec: lease * 60 } };
  if (Object.keys(idle).length) change.idle = idle;
  const r = await api("PUT", "/api/settings", change);
  $("settings-save").disabled = false;
  if (r.ok) { $("settings-saved").hidden = false; return loadSettings().then(() => { $("settings-saved").hidden = false; }); }
  if (r.data && r.data.errors) {
    const errors = {};
    for (const [k, v] of Object.entries(r.data.errors)) errors[k === "body" ? "settings-body" : k] = v;
    showErrors("", errors);
  } else toast("Settings: " + errorText(r));
});

$("password-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("pw-saved").hidden = true;
  const errs = {};
  const why = passwordProblem($("pw-new").value);
  if (!$("pw-current").value) errs.current = "required";
  if (why) errs.new = why;
  else if ($("pw-new").value !== $("pw-confirm").value) errs.confirm = "the two passwords differ";
  showErrors("", errs);
  if (Object.keys(errs).length) return;
  const r = await api("POST", "/api/password", { current: $("pw-current").value, new: $("pw-new").value });
  if (r.ok) {
    for (const id of ["pw-current", "pw-new", "pw-confirm"]) $(id).value = "";
    $("pw-saved").hidden = false;
    // A fresh session came with the change (every other one ended).
    if (r.data && r.data.csrfToken) {
      state.csrf = r.data.csrfToken;
      connectEvents();
    }
  } else if (r.data && r.data.errors) showErrors("", r.data.errors);
  else if (r.status === 429) showErrors("", { current: "too many wrong passwords; try again in " + r.retryAfter + " s" });
  else toast(errorText(r));
});

