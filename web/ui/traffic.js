// tetherd's admin page: the Traffic view — throughput per downstream over the last minutes
// (canvas), fed by the "traffic" samples of /api/events. Loaded after app.js, whose helpers it uses.
"use strict";

// ---- traffic -----------------------------------------------------------------------------------

const COLORS = ["#1f6feb", "#d9480f", "#2f9e44", "#ae3ec9", "#e8590c", "#0c8599"];
const WINDOW_MS = 5 * 60 * 1000;  // kept; shown: at least 1 min, at most 5, as far back as there are samples

async function loadTraffic() {
  const r = await api("GET", "/api/traffic");
  if (r.ok) {
    const known = new Set(state.traffic.map((s) => s.t));
    for (const s of r.data.samples) if (!known.has(s.t)) state.traffic.push(s);
    state.traffic.sort((a, b) => a.t - b.t);
  }
  drawTraffic();
}

function addSample(s) {
  state.traffic.push(s);
  const cutoff = s.t - WINDOW_MS;
  while (state.traffic.length && state.traffic[0].t < cutoff) state.traffic.shift();
  if (state.view === "traffic") drawTraffic();
}

// The y axis: 5 intervals of a round step (1, 2 or 5 times a power of ten) covering v.
function niceMax(v) {
  const step0 = Math.max(v, 5000) / 5;
  const p = Math.pow(10, Math.floor(Math.log10(step0)));
  for (const m of [1, 2, 5, 10]) if (m * p >= step0) return 5 * m * p;
  return 50 * p;
}

function drawTraffic() {
  const canvas = $("traffic-graph");
  const samples = state.traffic;
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.downstreams)))].sort();
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600, h = canvas.clientHeight || 260;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue("--muted").trim() || "#666", line = css.getPropertyValue("--line").trim() || "#ddd";
  g.clearRect(0, 0, w, h);
  const left = 64, right = 10, top = 10, bottom = 24;
  const now = samples.length ? samples[samples.length - 1].t : Date.now();
  const span = samples.length ? now - samples[0].t : 0;
  const windowMs = Math.min(WINDOW_MS, Math.max(60000, Math.ceil(span / 60000) * 60000));
  let peak = 0;
  for (const s of samples) for (const v of Object.values(s.downstreams)) peak = Math.max(peak, v.rx, v.tx);
  const max = niceMax(peak);
  const x = (t) => left + (w - left - right) * (1 - (now - t) / windowMs);
  const y = (v) => h - bottom - (h - top - bottom) * (v / max);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = fg;
  g.strokeStyle = line;
  g.lineWidth = 1;
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5, yy = Math.round(y(v)) + 0.5;
    g.beginPath(); g.moveTo(left, yy); g.lineTo(w - right, yy); g.stroke();
    g.textAlign = "right"; g.textBaseline = "middle";
    g.fillText(rate(v), left - 6, yy);
  }
  g.textAlign = "center"; g.textBaseline = "top";
  let tick = windowMs <= 60000 ? 10000 : 60000;
  while ((w - left - right) * (tick / windowMs) < 48) tick *= 2;  // labels never overlap
  for (let at = 0; at <= windowMs; at += tick) {
    g.textAlign = at === 0 ? "right" : at === windowMs ? "left" : "center";
    g.fillText(at === 0 ? "now" : tick < 60000 ? "-" + at / 1000 + " s" : "-" + at / 60000 + " min", x(now - at), h - bottom + 6);
  }
  names.forEach((name, i) => {
    const color = COLORS[i % COLORS.length];
    for (const dir of ["rx", "tx"]) {
      g.strokeStyle = color;
      g.lineWidth = dir === "rx" ? 2 : 1.5;
      g.setLineDash(dir === "rx" ? [] : [5, 4]);
      g.beginPath();
      let started = false;
      for (const s of samples) {
        const v = s.downstreams[name];
        if (!v) { started = false; continue; }
        if (!started) g.moveTo(x(s.t), y(v[dir])); else g.lineTo(x(s.t), y(v[dir]));
        started = true;
      }
      g.stroke();
    }
  });
  g.setLineDash([]);
  canvas.dataset.samples = String(samples.length);
  canvas.dataset.peak = String(Math.round(peak));
  const last = samples[samples.length - 1];
  $("traffic-legend").replaceChildren(...(names.length ? names.map((name, i) => {
    const v = last && last.downstreams[name];
    return el("span", { class: "item", "data-if": name }, el("span", { class: "sw" + i + " sw" }), el("strong", { text: name }),
              " ↓ " + rate(v ? v.rx : 0) + "  ↑ " + rate(v ? v.tx : 0));
  }) : [el("span", { class: "empty", text: "Waiting for samples (every 2 s)…" })]));
  for (const [i] of names.entries()) {
    const sw = document.querySelector("#traffic-legend .sw" + i);
    if (sw) sw.style.background = COLORS[i % COLORS.length];
  }
  const clients = last ? Object.entries(last.clients) : [];
  $("traffic-clients").replaceChildren(...(clients.length ? [
    el("div", { class: "tr th", role: "row" }, ...["Client", "To client", "From client", ""].map((t) => el("div", { text: t }))),
    ...clients.map(([mac, v]) => el("div", { class: "tr", role: "row" }, cell("Client", el("span", { class: "mono", text: mac }), "wide"),
                                    cell("To client", rate(v.rx)), cell("From client", rate(v.tx)), el("div")))] : []));
  $("traffic-clients").classList.add("traffic");
  $("traffic-clients-empty").hidden = clients.length > 0;
}

window.addEventListener("resize", () => { if (state.view === "traffic") drawTraffic(); });
