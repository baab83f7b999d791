// Helpers for the end-to-end suites: a real collector process and a real headless Chromium.
import { gunzipSync } from "node:zlib";
import { createServer, request } from "node:http";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { after, before } from "node:test";

const root = process.env.SHOPTRAIL_ROOT || join(import.meta.dirname, "..");
const bin = process.env.SHOPTRAIL_COLLECTOR_BIN || join(root, "target/debug/shoptrail-collector");

/** A fresh temporary directory, removed by `cleanup()`. */
export function tempDir() {
  const dir = mkdtempSync(join(process.env.SHOPTRAIL_TMP || tmpdir(), "e2e-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The admin token of every collector the suites start: their reads of stored events need it. */
export const ADMIN_TOKEN = "e2e-admin-token-0123456789";
/** `Authorization` with [`ADMIN_TOKEN`], for the suites' own reads. */
export const ADMIN_AUTH = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/** Starts the collector serving the demo store, dist/ and the fixtures (or the given
 * `statics`, as `/prefix=dir` mounts) with the admin token `ADMIN_TOKEN`. `rateLimit` sets
 * `--rate-limit` (the collector's default when not given), `journeys` a `--journeys` file,
 * `args` any other flags. Headless Chromium says `HeadlessChrome`, a crawler's user agent to
 * the collector's list: `--bots count` (unless `args` give `--bots`) counts every event, the
 * documented way through for test suites. Resolves once listening. */
export function startCollector({ db, port = 0, statics, adminToken = ADMIN_TOKEN, rateLimit, journeys, args = [] }) {
  if (!args.includes("--bots")) args = [...args, "--bots", "count"];
  const mounts = statics ?? [join(root, "www"), `/dist=${join(root, "dist")}`, `/fixtures=${join(root, "e2e/fixtures")}`];
  const admin = adminToken ? ["--admin-token", adminToken] : [];
  const limit = rateLimit === undefined ? [] : ["--rate-limit", String(rateLimit)];
  const flows = journeys ? ["--journeys", journeys] : [];
  const child = spawn(bin, ["--port", String(port), "--db", db, ...admin, ...limit, ...flows, ...args, ...mounts.flatMap((m) => ["--static", m])],
    { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buf = "";
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`collector exited early (${code})`)));
    child.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(/listening on (http:\/\/\S+)/);
      if (m) {
        child.removeAllListeners("exit");
        resolve({
          url: m[1],
          port: Number(new URL(m[1]).port),
          stop: () => new Promise((r) => { child.once("exit", r); child.kill("SIGTERM"); }),
        });
      }
    });
  });
}

/** The flags Chromium needs on this closed network (and as root). */
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

/** Launches Debian's Chromium headless with the flags this closed network needs. */
export async function launch() {
  const profile = tempDir();
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return { context, close: async () => { await context.close(); profile.cleanup(); } };
}

/** A non-persistent Chromium whose resolver maps `hosts` to 127.0.0.1 (two "sites" on the
 * one collector), with a fresh context. */
export async function launchHosts(hosts) {
  const rules = hosts.map((h) => `MAP ${h} 127.0.0.1`).join(", ");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=${rules}`],
  });
  const context = await browser.newContext();
  return { context, close: () => browser.close() };
}

/** A second, non-persistent Chromium with a phone-like context: touch, no hovering pointer
 * (`(hover: none)`), a 390 px wide viewport, and `userAgent` when given. */
export async function launchMobile({ userAgent } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
  const context = await browser.newContext({
    viewport: { width: 390, height: 760 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
    ...(userAgent ? { userAgent } : {}),
  });
  return { context, close: () => browser.close() };
}

/** The page's accessibility tree (it includes closed shadow roots, where popups live),
 * flattened to `{ role, name, props, description, value }`. */
export async function ax(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send("Accessibility.getFullAXTree");
  await cdp.detach();
  return nodes.filter((n) => !n.ignored).map((n) => ({
    role: n.role?.value,
    name: n.name?.value ?? "",
    props: Object.fromEntries((n.properties || []).map((p) => [p.name, p.value?.value])),
    description: n.description?.value ?? "",
    value: n.value?.value ?? "",
  }));
}

/** The boxes (CSS px: x, y, width, height) of the accessibility tree's nodes with `role`, and
 * their names, in tree order; read through the protocol, so closed shadow roots are no
 * obstacle. */
export async function boxes(page, role) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    const out = [];
    for (const n of nodes.filter((x) => !x.ignored && x.role?.value === role)) {
      const { model } = await cdp.send("DOM.getBoxModel", { backendNodeId: n.backendDOMNodeId });
      const q = model.border;
      out.push({ name: n.name?.value ?? "", x: q[0], y: q[1], width: q[4] - q[0], height: q[5] - q[1] });
    }
    return out;
  } finally {
    await cdp.detach();
  }
}

/** Clicks the middle of the node with `role` and `name` (inside closed shadow roots too), as
 * a shopper's pointer would. */
export async function clickAx(page, role, name) {
  const b = (await boxes(page, role)).find((n) => n.name === name);
  if (!b) throw new Error(`no ${role} named ${JSON.stringify(name)}`);
  await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
}

/** The dialog in the accessibility tree, if any. */
export const dialog = async (page) => (await ax(page)).find((n) => n.role === "dialog");

/** The element that has focus, as the accessibility tree names it. */
export const focused = async (page) =>
  (await ax(page)).filter((n) => n.props.focused === true && n.role !== "RootWebArea").pop();

/** The mouse moves inside the page, then up and out through the top. */
export async function exitTop(page, x = 640) {
  for (const y of [400, 300, 200, 120, 60, 20]) await page.mouse.move(x, y);
  await page.mouse.move(x, -8);
}

/** Fills the demo store's checkout form (shipping details, then a test card) up to the
 * place-order button. */
export async function fillCheckout(page, email = "ada@example.com") {
  await page.fill('[data-testid="email"]', email);
  await page.fill('[data-testid="name"]', "Ada Lovelace");
  await page.fill('[data-testid="address"]', "1 Trailhead Road");
  await page.fill('[data-testid="city"]', "Bend");
  await page.fill('[data-testid="zip"]', "97701");
  await page.click('[data-testid="continue-to-payment"]');
  await page.fill('[data-testid="card-number"]', "4242 4242 4242 4242");
}

/** Makes `page` a new shopper of `base`: storage and cookies are cleared on a page of that
 * origin that runs no SDK, so no live tracker can write its identity back afterwards. */
export async function forgetShopper(page, base) {
  await page.goto(`${base}/health`);
  await page.evaluate(() => { localStorage.clear(); sessionStorage.clear(); });
  await page.context().clearCookies();
}

/** The collector's stored events for a query object. */
export async function events(base, query = {}) {
  const qs = new URLSearchParams({ limit: "10000", ...query });
  const r = await fetch(`${base}/v1/events?${qs}`, { headers: ADMIN_AUTH });
  if (!r.ok) throw new Error(`GET /v1/events: HTTP ${r.status}`);
  return (await r.json()).events;
}

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function until(fn, ms = 15000, what = "condition") {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** Sums the `duplicates` the collector reported to the page's fetch requests. */
export function countDuplicates(page) {
  const seen = { accepted: 0, duplicates: 0, requests: 0 };
  page.on("response", async (r) => {
    if (r.request().method() !== "POST" || !r.url().includes("/v1/batch")) return;
    try {
      const j = await r.json();
      seen.requests += 1;
      seen.accepted += j.accepted || 0;
      seen.duplicates += j.duplicates || 0;
    } catch { /* beacons have no readable body */ }
  });
  return seen;
}

/** A proxy in front of the collector that records every batch POSTed through it (fetch and
 * beacons alike, gzip bodies inflated), in arrival order: `{ events: [{ id, event, i }] }`.
 * Counting what the SDK sends, not only what the collector keeps, catches an event sent twice
 * (the collector drops repeats by messageId, which would hide it). Pages must be loaded from
 * `proxy.url`. With `delayMs`, answers to batches are held that long (a slow endpoint), so
 * that a request is still under way when the page goes away. `proxy.fault(batch)`, when set,
 * is asked for each batch POST: `{ drop: true }`, `{ status, headers }` or `{ delayMs }`.
 * Each entry of `proxy.sent` holds the batch's events as sent (`batch`) and a summary of each
 * (`events`). */
export async function recordingProxy(collector, { delayMs = 0 } = {}) {
  const target = new URL(collector.url);
  const sent = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (req.method === "POST" && req.url.startsWith("/v1/batch")) {
        let batch = [];
        try {
          const plain = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body;
          batch = JSON.parse(plain.toString("utf8")).batch || [];
        } catch { /* not a batch: the collector will say so */ }
        sent.push({
          // `no-cors` for sendBeacon, `cors` for the SDK's fetch.
          mode: req.headers["sec-fetch-mode"],
          events: batch.map((e) => ({ id: e.messageId, event: e.event, i: e.properties?.i })),
          batch,
        });
      }
      const headers = { ...req.headers, host: target.host };
      const isBatch = req.method === "POST" && req.url.startsWith("/v1/batch");
      // A fault for this batch, if the test set one: drop the connection, answer with a status
      // (and headers) without forwarding, or hold the answer.
      const f = isBatch && proxy.fault ? proxy.fault(sent[sent.length - 1]) : null;
      const entry = isBatch ? sent[sent.length - 1] : null;
      if (f?.drop) return void req.socket.destroy();
      if (f?.status) {
        if (entry) entry.status = f.status;
        res.writeHead(f.status, f.headers || {});
        return void res.end();
      }
      const hold = isBatch ? (f?.delayMs ?? proxy.delayMs) : 0;
      setTimeout(() => forward(headers, body, req, res, entry), hold);
    });
  });
  const forward = (headers, body, req, res, entry) => {
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (r) => {
      // What the collector answered this batch (a dropped or faulted one has none or the fault's).
      if (entry) entry.status = r.statusCode;
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    // The collector is down: the connection fails, as it would without the proxy.
    up.on("error", () => req.socket.destroy());
    up.end(body);
  };
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const proxy = {
    url: `http://127.0.0.1:${server.address().port}`,
    sent,
    delayMs,
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
  return proxy;
}

/** Playwright's clock for `context`: Date, performance, timers and idle callbacks keep flowing
 * in real time, and a test moves them on at once with `advance` instead of sleeping (the exit
 * trigger arms after `minTime` on the page: 5 s by default). */
export function fakeClock(context) {
  clocks.set(context, clocks.get(context) || context.clock.install());
  return clocks.get(context);
}
const clocks = new WeakMap();

/** Records the event types the page listens to on `document` (call before `goto`; it holds
 * for every document the page loads), so that `engaged` can tell when the engage module has
 * started: only then does moving the clock on count as time the module saw. */
export async function watchListeners(page) {
  await page.addInitScript(() => {
    const add = EventTarget.prototype.addEventListener;
    window.__listening = new Set();
    EventTarget.prototype.addEventListener = function (type, ...rest) {
      if (this === document) window.__listening.add(type);
      return add.call(this, type, ...rest);
    };
  });
}

/** Resolves once the engage module listens on the page (its exit listener; see `watchListeners`). */
export const engaged = (page) =>
  page.waitForFunction(() => window.__listening && window.__listening.has("mouseout"));

/** Moves the page's clock `ms` on, firing the timers due meanwhile (see `fakeClock`). */
export const advance = (page, ms) => page.clock.fastForward(ms);

/** The usual suite: a temp dir, a collector on a fresh database and one Chromium, started
 * before the tests and stopped after them. Fields fill in once `before` has run. */
export function suite(name, { adminToken } = {}) {
  const ctx = {};
  before(async () => {
    ctx.tmp = tempDir();
    ctx.collector = await startCollector({ db: join(ctx.tmp.dir, `${name}.db`), adminToken });
    ctx.browser = await launch();
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.collector?.stop();
    ctx.tmp?.cleanup();
  });
  return ctx;
}

/** `context` as a first visit finds it: no cookie, nothing in the storage of `origin`. */
export async function freshContext(context, origin) {
  await context.clearCookies();
  const page = await context.newPage();
  await page.goto(`${origin}/health`);
  await page.evaluate(() => { localStorage.clear(); sessionStorage.clear(); });
  await page.close();
  return context;
}
