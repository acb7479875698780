// The admin page in a real browser: Debian's chromium, driven by playwright-core, running inside
// the lab client's network namespace (chromium-in-netns), so it reaches tetherd the way a phone
// on the USB downstream does: through its DHCP address, to the downstream's own address.
// Run by test_browser.py, which builds the lab and passes everything through the environment;
// it prints one JSON line of findings at the end. Any failed expectation throws (exit 1).
import { createRequire } from "module";
import { spawn } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`admin_page.mjs: ${name} is not set`);
  return v;
};
const URL_ = env("WEB_URL");                 // http://192.168.42.1:18080/
const NETNS = env("TETHER_NETNS");           // the client's namespace
const SHOTS = env("SCREENSHOT_DIR");
const CLIENT_MAC = env("CLIENT_MAC");
const CLIENT_IP = env("CLIENT_IP");
const CLIENT_NAME = env("CLIENT_HOSTNAME");
const DOWNLOAD_URL = env("DOWNLOAD_URL");    // the lab's inet: /bytes/<n>
const SETUP_CODE = env("SETUP_CODE");        // `tetherctl web setup-code`: first use from a downstream
const PASSWORD = "tether lab admin 1";
const HERE = path.dirname(new URL(import.meta.url).pathname);

const t0 = Date.now();
const log = (...a) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
function expect(cond, what) {
  if (!cond) throw new Error("expectation failed: " + what);
}
async function waitFor(fn, what, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

const findings = { consoleErrors: [], cspViolations: [] };
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "tetherd-chromium-"));
process.env.TETHER_NETNS = NETNS;
const context = await chromium.launchPersistentContext(profile, {
  executablePath: path.join(HERE, "chromium-in-netns"),
  headless: true,
  viewport: { width: 1280, height: 860 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  env: { ...process.env, TETHER_NETNS: NETNS },
  timeout: 30000,
});
let download = null;
try {
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(10000);
  // Script errors and CSP violations fail the test; failed loads with the statuses this test
  // provokes itself (401 wrong password / after logout, 400 refused settings, 403 wrong setup
  // code, 409 own device not blocked) do not.
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const t = m.text();
    if (/Content Security Policy|Refused to/.test(t)) findings.cspViolations.push(t);
    else if (!/^Failed to load resource: the server responded with a status of 40[0139] /.test(t)) findings.consoleErrors.push(t);
  });
  page.on("pageerror", (e) => findings.consoleErrors.push(String(e)));
  const shot = async (name) => {
    await page.waitForTimeout(150);  // let the last render settle
    await page.screenshot({ path: path.join(SHOTS, `${name}-desktop.png`), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(250);
    await page.screenshot({ path: path.join(SHOTS, `${name}-phone.png`), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.waitForTimeout(100);
  };
  const go = async (view) => {
    await page.click(`#nav a[data-view=${view}]`);
    await page.waitForSelector(`#view-${view}:not([hidden])`);
  };

  // First use: no password yet, the page asks for one.
  log("open", URL_);
  await page.goto(URL_);
  await page.waitForSelector("#view-setup:not([hidden])");
  await page.fill("#setup-password", "short");
  await page.fill("#setup-confirm", "short");
  await page.click("#setup-submit");
  expect((await page.textContent("#err-setup-password")) === "shorter than 8 characters", "setup refuses a short password");
  await page.fill("#setup-password", PASSWORD);
  await page.fill("#setup-confirm", PASSWORD);
  // From a downstream the first use needs the one-time setup code: a wrong one is refused.
  expect(await page.isVisible("#setup-code"), "the setup form asks a downstream client for the setup code");
  await page.fill("#setup-code", "0000-0000-0000");
  await page.click("#setup-submit");
  await waitFor(async () => (await page.textContent("#err-setup-code")) === "wrong setup code", "a wrong setup code refused");
  await page.fill("#setup-code", SETUP_CODE);
  await shot("setup");
  await page.click("#setup-submit");
  await page.waitForSelector("#view-dashboard:not([hidden])");
  log("password set, dashboard shown");

  // Log out and in again (a wrong password first).
  await page.click("#logout");
  await page.waitForSelector("#view-login:not([hidden])");
  await page.fill("#login-password", "not the password");
  await page.click("#login-submit");
  await waitFor(async () => (await page.textContent("#err-login")) === "Wrong password.", "wrong password message");
  await shot("login");
  await page.fill("#login-password", PASSWORD);
  await page.click("#login-submit");
  await page.waitForSelector("#view-dashboard:not([hidden])");
  log("logged in");

  // Dashboard: the upstream and the tethered USB downstream with its client, live.
  await waitFor(async () => (await page.textContent("#upstream-name")) === "eth0", "upstream eth0");
  await waitFor(async () => ((await page.textContent("#ds-usb0")) || "").includes("tethered"), "usb0 tethered");
  await waitFor(async () => (await page.textContent("#stat-clients")) === "1", "one client in the totals");
  await waitFor(async () => (await page.getAttribute("#live", "class")) === "live", "live updates connected");
  const dsText = await page.textContent("#ds-usb0");
  expect(dsText.includes("192.168.42.0/24"), "usb0 subnet shown: " + dsText);
  const dsQuota = await page.textContent("#ds-usb0 .quota");
  expect(dsQuota.includes("of 50 GB this month"), "usb0's monthly quota on its card: " + dsQuota);
  await shot("dashboard");

  // Clients: the lab client, by MAC, with its leased address and host name.
  await go("clients");
  const row = `#clients-table .client[data-mac="${CLIENT_MAC}"]`;
  await page.waitForSelector(row);
  const rowText = await page.textContent(row);
  expect(rowText.includes(CLIENT_IP), "client IP in the list: " + rowText);
  expect(rowText.includes(CLIENT_NAME), "client host name in the list: " + rowText);
  expect(rowText.includes("usb0"), "client interface in the list: " + rowText);
  await shot("clients");
  log("client", CLIENT_MAC, CLIENT_IP, "listed");
  // Kick and Block are offered for a USB client too; the daemon refuses to block the device
  // the page is used from (the admin would lock themselves out) and the page says why.
  expect(await page.isVisible(`${row} button:has-text("Kick")`), "Kick offered for the USB client");
  await page.click(`${row} button:has-text("Block")`);
  await waitFor(async () => ((await page.textContent("#toast")) || "").includes("is the device you are using this page from"),
                "own device not blocked, with the reason");
  expect(((await page.textContent("#blocked")) || "").includes("Nobody is blocked."), "nobody blocked");
  findings.ownBlockRefused = await page.textContent("#toast");

  // Wi-Fi: change the SSID; a 7-character passphrase is refused beside its field (by the page),
  // an unknown country by the daemon; the QR code is there.
  await go("wifi");
  await waitFor(async () => (await page.inputValue("#wifi-ssid")).length > 0, "Wi-Fi settings loaded");
  const oldPass = await page.inputValue("#wifi-passphrase");
  expect((await page.getAttribute("#wifi-passphrase", "type")) === "password", "passphrase hidden at first");
  await page.click("#wifi-reveal");
  expect((await page.getAttribute("#wifi-passphrase", "type")) === "text", "show reveals the passphrase");
  await page.click("#wifi-reveal");
  await page.fill("#wifi-ssid", "tetherd lab café");
  await page.click("#wifi-save");
  await page.waitForSelector("#wifi-saved:not([hidden])");
  await waitFor(async () => (await page.textContent("#wifi-qr-ssid")) === "tetherd lab café", "QR caption follows the SSID");
  findings.ssid = await page.inputValue("#wifi-ssid");
  log("SSID changed");
  await page.fill("#wifi-passphrase", "1234567");
  await waitFor(async () => (await page.textContent("#err-passphrase")) === "shorter than 8 characters (7)", "7-character passphrase refused");
  expect((await page.getAttribute("#wifi-passphrase", "aria-invalid")) === "true", "field marked invalid");
  await page.click("#wifi-save");
  expect(!(await page.isVisible("#wifi-saved")), "nothing saved with an invalid passphrase");
  await page.click("#wifi-reveal");  // show what was typed next to its error
  await shot("wifi-error");
  await page.click("#wifi-reveal");
  await page.fill("#wifi-passphrase", oldPass);
  await waitFor(async () => (await page.textContent("#err-passphrase")) === "", "error cleared");
  // Valid in the page (two letters), refused by the daemon: its message appears beside the field.
  await page.fill("#wifi-country", "XX");
  await page.click("#wifi-save");
  await waitFor(async () => ((await page.textContent("#err-country")) || "").includes("is not an ISO 3166-1 alpha-2 country code"),
                "the daemon's field error beside country");
  findings.daemonCountryError = await page.textContent("#err-country");
  await page.fill("#wifi-country", "");
  await page.waitForFunction(() => {
    const img = document.getElementById("wifi-qr");
    return img.complete && img.naturalWidth > 100;
  });
  const qr = await page.evaluate(async () => {
    const r = await fetch(document.getElementById("wifi-qr").src);
    return { type: r.headers.get("Content-Type"), body: await r.text() };
  });
  expect(qr.type === "image/svg+xml" && qr.body.startsWith("<svg"), "QR code is an SVG");
  await shot("wifi");
  log("Wi-Fi page checked");

  // Traffic: the graph moves while the client downloads through the tether.
  await go("traffic");
  await waitFor(async () => Number(await page.getAttribute("#traffic-graph", "data-samples")) >= 2, "first traffic samples", 15000);
  const before = await page.evaluate(() => document.getElementById("traffic-graph").toDataURL());
  // Several downloads one after the other in one curl (one pid to stop), so it lasts through
  // the screenshots; the lab's teardown kills it anyway (TETHER_LAB is in its environment).
  const urls = Array(6).fill(DOWNLOAD_URL);
  download = spawn("ip", ["netns", "exec", NETNS, "curl", "-s", "--limit-rate", "2M",
                          ...urls.flatMap((u) => ["-o", "/dev/null", u])], { stdio: "ignore" });
  const peak = await waitFor(async () => {
    const p = Number(await page.getAttribute("#traffic-graph", "data-peak"));
    return p > 500000 ? p : 0;
  }, "download throughput in the graph", 20000);
  const legend = await page.textContent('#traffic-legend [data-if="usb0"]');
  expect(/↓ [0-9.]+ (KB|MB)\/s/.test(legend), "usb0's download rate in the legend: " + legend);
  // A few more samples of the running download, for a graph worth looking at.
  const seen = Number(await page.getAttribute("#traffic-graph", "data-samples"));
  await waitFor(async () => Number(await page.getAttribute("#traffic-graph", "data-samples")) >= seen + 3, "more samples", 15000);
  const after = await page.evaluate(() => document.getElementById("traffic-graph").toDataURL());
  expect(before !== after, "the graph changed");
  findings.trafficPeakBytesPerSec = peak;
  await shot("traffic");
  download.kill("SIGTERM");
  download = null;
  log("traffic graph moved, peak", peak, "B/s");

  // Clients again (issue 14): the download is in the usage table and today's bar of its chart.
  await go("clients");
  const urow = `#usage-table [data-mac="${CLIENT_MAC}"]`;
  await page.waitForSelector(urow);
  const todayText = await page.textContent(`${urow} [data-label="Today"]`);
  expect(/↓ [0-9.]+ (MB|GB)/.test(todayText), "today's download in the usage table: " + todayText);
  expect(((await page.textContent(`${urow} [data-label="Last 30 days"]`)) || "").includes("↓"), "30-day total shown");
  const chart = `${urow} svg.chart`;
  expect(Number(await page.getAttribute(chart, "data-days")) >= 1, "a day with traffic in the chart");
  expect((await page.$$(`${chart} g`)).length === 30, "30 days in the chart");
  const todayBar = Number(await page.getAttribute(`${chart} g:last-of-type rect.rx`, "height"));
  expect(todayBar > 0, "today's bar is the last one and has a height: " + todayBar);
  findings.usageToday = todayText;
  log("usage table and chart:", todayText);

  // Rate limit through its dialog: a value without a unit is refused beside its field.
  await page.click(`${row} button:has-text("Limit")`);
  await page.waitForSelector("#limit-dialog[open]");
  await page.fill("#limit-download", "5");
  await page.click("#limit-dialog-save");
  await waitFor(async () => ((await page.textContent("#err-limit-dialog-download")) || "").includes("has no unit"),
                "the daemon's refusal beside download");
  await page.fill("#limit-download", "5Mbit");
  await page.fill("#limit-upload", "off");
  await page.click("#limit-dialog-save");
  await page.waitForSelector("#limit-dialog", { state: "hidden" });
  await waitFor(async () => ((await page.textContent(row)) || "").includes("Limit ↓5Mbit ↑off"), "the limit on the client's button");

  // A quota already used up: the bar says cut off, and so does the notice (this is the device).
  await page.click(`${row} button:has-text("Quota")`);
  await page.waitForSelector("#quota-dialog[open]");
  await page.fill("#quota-size", "1");
  await page.click("#quota-dialog-save");
  await waitFor(async () => ((await page.textContent("#err-quota-dialog-quota")) || "").includes("has no unit"),
                "the daemon's refusal beside the quota");
  await page.fill("#quota-size", "1MB");
  await page.click("#quota-dialog-save");
  await page.waitForSelector("#quota-dialog", { state: "hidden" });
  await page.waitForSelector(`${row} .quota[data-level="2"]`);
  const quotaText = await page.textContent(`${row} .quota`);
  expect(quotaText.includes("of 1.0 MB today") && quotaText.includes("cut off"), "quota bar: " + quotaText);
  await page.waitForSelector("#cutoff:not([hidden])");
  await shot("clients-quota");
  // The login screen says why too: a fresh load, logged out.
  await page.click("#logout");
  await page.waitForSelector("#view-login:not([hidden])");
  await page.reload();
  await page.waitForSelector("#view-login:not([hidden])");
  await page.waitForSelector("#cutoff:not([hidden])");
  const notice = await page.textContent("#cutoff");
  expect(notice.includes(CLIENT_MAC) && notice.includes("daily quota of 1.0 MB") && notice.includes("at midnight"),
         "the cut-off notice: " + notice);
  findings.cutoffNotice = notice;
  await shot("cutoff");
  await page.fill("#login-password", PASSWORD);
  await page.click("#login-submit");
  await page.waitForSelector("#view-clients:not([hidden])");  // the address still says #clients
  await page.waitForSelector(row);
  await page.click(`${row} button:has-text("Quota")`);
  await page.waitForSelector("#quota-dialog[open]");
  expect((await page.inputValue("#quota-size")) === "1MB" && (await page.inputValue("#quota-period")) === "day",
         "the dialog shows the quota set");
  // Start the period again: nothing used, not cut off any more, the notice goes.
  await page.click("#quota-dialog-reset");
  await page.waitForSelector("#quota-dialog", { state: "hidden" });
  await page.waitForSelector(`${row} .quota[data-level="0"]`);
  await page.waitForSelector("#cutoff[hidden]", { state: "attached" });
  await page.click(`${row} button:has-text("Quota")`);
  await page.waitForSelector("#quota-dialog[open]");
  await page.click("#quota-dialog-remove");
  await page.waitForSelector("#quota-dialog", { state: "hidden" });
  await waitFor(async () => (await page.$(`${row} .quota`)) === null, "no quota bar once removed");
  log("limit and quota set through their dialogs; cut-off notice shown and gone");

  // Settings.
  await go("settings");
  await waitFor(async () => (await page.textContent("#priority")).includes("eth0"), "upstream priority shown");
  expect((await page.inputValue("#dhcp-lease")) === "60", "lease time in minutes");
  await shot("settings");
  // Idle auto-off: a timeout above 24 h is refused by the daemon beside its field; 10 min saved.
  await page.fill("#idle-tethering", "2000");
  await page.click("#settings-save");
  await waitFor(async () => (await page.textContent('[id="err-idle.tetheringTimeoutSec"]')) === "must be between 1s and 24h (or off)",
                "the daemon's refusal beside the idle timeout");
  await page.fill("#idle-tethering", "10");
  await page.check("#idle-usb");
  await page.click("#settings-save");
  await page.waitForSelector("#settings-saved:not([hidden])");
  await waitFor(async () => (await page.inputValue("#idle-tethering")) === "10" && (await page.isChecked("#idle-usb")), "idle settings saved");

  // Log out: the page asks for the password again and the API refuses the old cookie.
  await go("dashboard");
  await page.click("#logout");
  await page.waitForSelector("#view-login:not([hidden])");
  const after401 = await page.evaluate(async () => (await fetch("/api/status")).status);
  expect(after401 === 401, "API refuses after logout: " + after401);
  findings.cookie = (await context.cookies()).map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }));
  log("logged out");
  expect(findings.consoleErrors.length === 0, "no script errors: " + JSON.stringify(findings.consoleErrors));
  expect(findings.cspViolations.length === 0, "no CSP violations: " + JSON.stringify(findings.cspViolations));
} finally {
  if (download) download.kill("SIGKILL");
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(findings));
