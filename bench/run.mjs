// shoptrail side by side with other analytics SDKs in headless Chromium: what a shopper downloads,
// time to ready, main-thread cost of track(), delivery and request bytes, heap. See README.md.
//
//   node bench/run.mjs [--runs 7] [--cold 100] [--events 1000] [--wait 10000]
//                      [--only shoptrail,posthog] [--out target/bench/results.json]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { brotliCompressSync, constants as zc, gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { EVENT, PAYLOAD, blankPage, sdks as allSdks } from "./sdks.mjs";
import { ADMIN_AUTH, startCollector } from "../e2e/lib.mjs";

const benchDir = import.meta.dirname;
const root = resolve(process.env.SHOPTRAIL_ROOT || join(benchDir, ".."));

function parseArgs(argv) {
  const o = { runs: 7, cold: 100, events: 1000, wait: 10000, only: null, out: join(root, "target/bench/results.json") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--runs") o.runs = Math.max(1, parseInt(v(), 10));
    else if (a === "--cold") o.cold = Math.max(1, parseInt(v(), 10));
    else if (a === "--events") o.events = Math.max(1, parseInt(v(), 10));
    else if (a === "--wait") o.wait = Math.max(0, parseInt(v(), 10));
    else if (a === "--only") o.only = v().split(",").map((s) => s.trim()).filter(Boolean);
    else if (a === "--out") o.out = resolve(v());
    else if (a === "--baseline") o.baseline = resolve(v());
    else if (a === "--help" || a === "-h") {
      console.log("usage: node bench/run.mjs [--runs N] [--cold N] [--events N] [--wait MS] [--only id,id] [--out FILE] [--baseline DIR]");
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms); }),
  ]);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function compressed(buf) {
  return {
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, {
      params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: buf.length },
    }).length,
  };
}

/**
 * A fresh context and page, with a watcher for everything the page fetches and posts. Every POST
 * is kept from its `request` event on; its status is noted from the `response` event, never
 * awaited: a `keepalive` fetch that the browser refuses (quota) shows up as a request that never
 * gets a response, and awaiting it would hang.
 */
async function openPage(browser, base) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const origin = new URL(base).origin;
  const seen = { downloads: [], posts: [], byReq: new Map(), external: [], failed: [], console: {}, consoleSample: [] };
  page.on("console", (m) => {
    seen.console[m.type()] = (seen.console[m.type()] || 0) + 1;
    if (seen.consoleSample.length < 5 && !seen.consoleSample.includes(m.text())) seen.consoleSample.push(m.text().slice(0, 200));
  });
  page.on("request", (req) => {
    const url = req.url();
    if (!url.startsWith("http")) return;
    if (new URL(url).origin !== origin) { seen.external.push(`${req.method()} ${url}`); return; }
    if (req.method() === "POST") {
      const p = { req, url, body: req.postDataBuffer() ?? Buffer.alloc(0), status: null, failed: null, finished: false };
      seen.posts.push(p);
      seen.byReq.set(req, p);
    }
  });
  page.on("requestfinished", (req) => {
    const p = seen.byReq.get(req);
    if (p) p.finished = true;
  });
  page.on("requestfailed", (req) => {
    const p = seen.byReq.get(req);
    if (p) p.failed = req.failure()?.errorText ?? "failed";
    seen.failed.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
  page.on("response", (res) => {
    const req = res.request();
    const p = seen.byReq.get(req);
    if (p) { p.status = res.status(); return; }
    if (req.method() !== "GET" || req.resourceType() === "document") return;
    if (new URL(res.url()).origin !== origin) return;
    seen.downloads.push({ res, url: res.url(), type: req.resourceType(), status: res.status() });
  });
  return { context, page, seen, close: () => context.close() };
}

async function waitReady(page, ms = 20000) {
  await page.waitForFunction(() => window.__bench && (window.__bench.ready !== null || window.__bench.error !== null),
    null, { timeout: ms, polling: 20 });
  const b = await page.evaluate(() => window.__bench);
  if (b.error) throw new Error(`page reported: ${b.error}`);
  return b.ready;
}

const MB = (n) => +(n / 1048576).toFixed(3);

/** Calls `fn` (a function declaration, `this` = the array) on every live object of the page's main
 * world whose prototype chain holds `proto` (an expression), and returns its value. */
async function onAllObjects(cdp, proto, fn) {
  const p = await cdp.send("Runtime.evaluate", { expression: proto });
  const { objects } = await cdp.send("Runtime.queryObjects", { prototypeObjectId: p.result.objectId });
  try {
    const r = await cdp.send("Runtime.callFunctionOn", { objectId: objects.objectId, functionDeclaration: fn, returnByValue: true });
    return r.result.value;
  } finally {
    await cdp.send("Runtime.releaseObject", { objectId: objects.objectId }).catch(() => {});
    await cdp.send("Runtime.releaseObject", { objectId: p.result.objectId }).catch(() => {});
  }
}

/**
 * Forced GC, then the page's JS heap and its WebAssembly memories. `usedSize` is the V8 heap only:
 * a wasm linear memory is an ArrayBuffer backing store outside it (checked: instantiating a
 * module with a 6.25 MiB memory moves `usedSize` by under 0.1 MB), so the `buffer.byteLength` of
 * every live `WebAssembly.Memory` object is added. `Runtime.queryObjects` finds each one,
 * referenced from a script or not, as long as it is alive; one dropped and collected is not.
 *
 * What it cannot see (checked on Chromium 156): a memory that a module defines without exporting
 * it has no Memory object at all, and heaps in workers and iframes are not the page's. So the
 * live `WebAssembly.Instance` objects are counted too, with those that export no memory
 * (`wasmInstancesWithoutMemoryExport`, printed in the notes when not 0), and fullRun counts the
 * page's iframes and workers. An error here is kept in the result rather than read as "no wasm".
 */
async function heap(cdp) {
  await cdp.send("HeapProfiler.enable");
  await cdp.send("HeapProfiler.collectGarbage");
  await cdp.send("HeapProfiler.collectGarbage");
  const usage = await cdp.send("Runtime.getHeapUsage");
  let wasm = 0, wasmMemories = 0, wasmInstances = 0, wasmInstancesWithoutMemoryExport = 0, wasmError = null;
  try {
    [wasmMemories, wasm] = await onAllObjects(cdp, "WebAssembly.Memory.prototype",
      "function () { return [this.length, this.reduce(function (n, m) { return n + m.buffer.byteLength; }, 0)]; }");
    [wasmInstances, wasmInstancesWithoutMemoryExport] = await onAllObjects(cdp, "WebAssembly.Instance.prototype",
      "function () { return [this.length, this.filter(function (i) { return !Object.keys(i.exports).some(function (k) { return i.exports[k] instanceof WebAssembly.Memory; }); }).length]; }");
  } catch (e) {
    wasmError = e.message;
  }
  const total = usage.usedSize + wasm;
  return {
    jsUsed: usage.usedSize, jsTotal: usage.totalSize, wasm, wasmMemories, wasmInstances, wasmInstancesWithoutMemoryExport, total,
    jsMB: MB(usage.usedSize), wasmMB: MB(wasm), totalMB: MB(total),
    ...(wasmError ? { wasmError } : {}),
  };
}

async function taskMetrics(cdp) {
  const { metrics } = await cdp.send("Performance.getMetrics");
  const get = (n) => metrics.find((m) => m.name === n)?.value ?? 0;
  return { task: get("TaskDuration"), script: get("ScriptDuration") };
}

/** The events a POST carries, decoded once, per the SDK's decoder. */
function eventsOf(sdk, p) {
  if (!p.events) {
    try { p.events = sdk.events(p.body, p.url); } catch { p.events = []; }
  }
  return p.events;
}

/** Distinct `Product Added` events in the POSTs that the endpoint answered (any status). */
function countDelivered(sdk, seen) {
  const ids = new Set();
  for (const [i, p] of seen.posts.entries()) {
    if (p.status === null) continue;
    for (const [j, e] of eventsOf(sdk, p).entries()) if (e.name === EVENT) ids.add(e.id ?? `${i}:${j}`);
  }
  return ids.size;
}

/** Totals over the page's POSTs: events (distinct ids), bytes, statuses. */
async function delivery(sdk, seen) {
  const ids = new Set();
  const trackIds = new Set();
  const sentIds = new Set();
  const timesSent = new Map();
  const statuses = {};
  let bodyBytes = 0, requests = 0, failed = 0, undecoded = 0;
  const headerSizes = [];
  for (const [i, p] of seen.posts.entries()) {
    requests += 1;
    bodyBytes += p.body.length;
    const key = p.failed ? "failed" : p.status ?? "no response seen";
    statuses[key] = (statuses[key] || 0) + 1;
    if (p.failed) { failed += 1; continue; }
    if (p.finished && headerSizes.length < 50) {
      const sizes = await withTimeout(p.req.sizes(), 1000, "sizes").catch(() => null);
      if (sizes) headerSizes.push(sizes.requestHeadersSize);
    }
    const evs = eventsOf(sdk, p);
    if (evs.length === 0) undecoded += 1;
    for (const [j, e] of evs.entries()) {
      const id = e.id ?? `${i}:${j}`;
      timesSent.set(id, (timesSent.get(id) || 0) + 1);
      if (e.name === EVENT) sentIds.add(id);
      if (p.status === null) continue;
      ids.add(id);
      if (e.name === EVENT) trackIds.add(id);
    }
  }
  const meanHeader = headerSizes.length ? headerSizes.reduce((a, b) => a + b, 0) / headerSizes.length : null;
  const resent = [...timesSent.values()].filter((n) => n > 1);
  return {
    requests, failed, statuses, undecodedRequests: undecoded, events: ids.size, delivered: trackIds.size,
    resentEvents: resent.length, resends: resent.reduce((a, n) => a + n - 1, 0),
    sentWithoutAnswer: sentIds.size - trackIds.size, bodyBytes,
    meanRequestHeaderBytes: meanHeader,
  };
}

async function fullRun(browser, base, sdk, opts) {
  const { page, seen, close, context } = await openPage(browser, base);
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable", { timeDomain: "threadTicks" }).catch(() => cdp.send("Performance.enable"));
    await page.goto(`${base}/bench/${sdk.id}.html`, { waitUntil: "commit" });
    const ready = await waitReady(page);
    await page.waitForLoadState("load");
    await sleep(300);
    const postsBefore = seen.posts.length;
    const m0 = await taskMetrics(cdp);
    const loopMs = await page.evaluate(({ n, p }) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        window.__benchTrack({ product_id: p.product_id, sku: p.sku, name: p.name, price: p.price, quantity: p.quantity, currency: p.currency });
      }
      return performance.now() - t0;
    }, { n: opts.events, p: PAYLOAD });
    const loopEnd = Date.now();
    let flushed = null;
    const flush = page.evaluate(() => (window.__benchFlush ? Promise.resolve(window.__benchFlush()).then((v) => v ?? null) : null))
      .then((v) => { flushed = v; }, () => {});
    while (Date.now() - loopEnd < opts.wait) {
      if (countDelivered(sdk, seen) >= opts.events) break;
      await sleep(100);
    }
    await withTimeout(flush, 2000, "flush").catch(() => {});
    // Let requests in flight finish so that their events are counted.
    await sleep(300);
    const m1 = await taskMetrics(cdp);
    const h = await heap(cdp);
    // Heaps that heap() does not reach: iframes' and workers'.
    const otherHeaps = { frames: page.frames().length - 1, workers: page.workers().length };
    const d = await delivery(sdk, seen);
    let collectorStored = null;
    if (sdk.id === "shoptrail" || sdk.id === "rudderstack") {
      const aid = await page.evaluate(() => window.__benchAnonymousId && window.__benchAnonymousId()).catch(() => null);
      if (aid) {
        const qs = new URLSearchParams({ event: EVENT, anonymousId: aid, limit: "10000" });
        const r = await fetch(`${base}/v1/events?${qs}`, { headers: ADMIN_AUTH });
        if (r.ok) collectorStored = (await r.json()).events.length;
      }
    }
    const files = [];
    for (const dl of seen.downloads) {
      let body;
      try { body = await dl.res.body(); } catch { continue; }
      const code = dl.type === "script" || /\.(m?js|wasm)(\?|$)/.test(dl.url);
      files.push({ url: dl.url.slice(base.length), kind: code ? "code" : "config", status: dl.status, ...compressed(body) });
    }
    const code = files.filter((f) => f.kind === "code" && f.status === 200);
    const sum = (k) => code.reduce((n, f) => n + f[k], 0);
    return {
      readyFirstLoadMs: ready,
      download: { raw: sum("raw"), gzip: sum("gzip"), brotli: sum("brotli"), files },
      track: { calls: opts.events, loopMs, usPerCall: (loopMs * 1000) / opts.events },
      mainThread: {
        taskMs: (m1.task - m0.task) * 1000,
        scriptMs: (m1.script - m0.script) * 1000,
        usPerEvent: ((m1.task - m0.task) * 1e6) / opts.events,
      },
      delivery: {
        ...d,
        requestsFromLoopStart: seen.posts.length - postsBefore,
        flushResult: flushed,
        waitedMs: Date.now() - loopEnd,
        bytesPerEvent: d.events ? d.bodyBytes / d.events : null,
        wireBytesPerEvent: d.events && d.meanRequestHeaderBytes != null
          ? (d.bodyBytes + d.meanRequestHeaderBytes * (d.requests - d.failed)) / d.events : null,
        collectorStored,
      },
      heap: h,
      otherHeaps,
      external: seen.external,
      failedRequests: seen.failed.slice(0, 20),
      consoleMessages: seen.console,
      consoleSample: seen.consoleSample,
    };
  } finally {
    await close();
  }
}

/**
 * One fresh load: the time to ready, and the first `cold` track calls, which the page itself runs
 * in the first task after ready (see BENCH_HEAD in sdks.mjs) and times as one loop.
 */
async function readyRun(browser, base, sdk, cold) {
  const { page, close } = await openPage(browser, base);
  try {
    await page.goto(`${base}/bench/${sdk.id}.html?cold=${cold}`, { waitUntil: "commit" });
    const ready = await waitReady(page);
    await page.waitForFunction(() => window.__bench.cold !== null || window.__bench.error !== null,
      null, { timeout: 20000, polling: 20 });
    const b = await page.evaluate(() => window.__bench);
    if (b.error) throw new Error(`cold track calls: ${b.error}`);
    return { ready, coldUs: +((b.cold.ms * 1000) / b.cold.calls).toFixed(1), firstCallUs: Math.round(b.cold.firstMs * 1000) };
  } finally {
    await close();
  }
}

async function baselineHeap(browser, base) {
  const { page, close, context } = await openPage(browser, base);
  try {
    await page.goto(`${base}/bench/blank.html`, { waitUntil: "load" });
    const cdp = await context.newCDPSession(page);
    return await heap(cdp);
  } finally {
    await close();
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const kb = (n) => (n / 1024).toFixed(1);
const ratio = (v, base) => (v == null || base == null || !base ? "" : `${(v / base).toFixed(1)}x`);

function printTable(rows) {
  const base = rows.find((r) => r.id === "shoptrail" && r.ok);
  const cols = [
    ["SDK", (r) => r.name, null],
    ["version", (r) => r.version, null],
    ["raw KB", (r) => kb(r.download.raw), (r) => r.download.raw],
    ["gzip KB", (r) => kb(r.download.gzip), (r) => r.download.gzip],
    ["br KB", (r) => kb(r.download.brotli), (r) => r.download.brotli],
    ["ready ms", (r) => r.ready.median.toFixed(0), (r) => r.ready.median],
    ["cold µs", (r) => r.cold.usPerCall.toFixed(1), (r) => r.cold.usPerCall],
    ["track µs", (r) => r.track.usPerCall.toFixed(1), (r) => r.track.usPerCall],
    ["busy µs/ev", (r) => r.mainThread.usPerEvent.toFixed(0), (r) => r.mainThread.usPerEvent],
    ["delivered", (r) => `${r.delivery.delivered}/${r.track.calls}`, null],
    ["reqs", (r) => String(r.delivery.requests), null],
    ["B/event", (r) => (r.delivery.bytesPerEvent == null ? "-" : r.delivery.bytesPerEvent.toFixed(0)), (r) => r.delivery.bytesPerEvent],
    ["heap MB", (r) => (r.heap.total / 1048576).toFixed(2), (r) => r.heap.total],
  ];
  const cells = rows.map((r) => {
    if (!r.ok) return [r.name, r.version ?? "", `FAILED: ${r.error}`];
    return cols.map(([, f, v]) => {
      const s = f(r);
      if (!v || !base || r === base) return s;
      const x = ratio(v(r), v(base));
      return x ? `${s} (${x})` : s;
    });
  });
  const widths = cols.map(([h], i) => Math.max(h.length, ...cells.filter((c) => c.length === cols.length).map((c) => c[i].length)));
  const line = (c) => c.map((s, i) => (i < 2 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join("  ");
  console.log("");
  console.log(line(cols.map(([h]) => h)));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const c of cells) console.log(c.length === cols.length ? line(c) : `${c[0].padEnd(widths[0])}  ${c[1].padEnd(widths[1])}  ${c[2]}`);
  console.log("");
  console.log("(ratio) = the peer's value / shoptrail's; lower is better for every ratio column.");
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  let list = allSdks({ root, benchDir, baseline: opts.baseline });
  if (opts.only) {
    const unknown = opts.only.filter((id) => !list.some((s) => s.id === id));
    if (unknown.length) throw new Error(`unknown SDK ${unknown.join(", ")} (known: ${list.map((s) => s.id).join(", ")})`);
    list = list.filter((s) => opts.only.includes(s.id));
  }

  const outDir = join(root, "target/bench");
  const site = join(outDir, "site");
  rmSync(site, { recursive: true, force: true });
  mkdirSync(site, { recursive: true });
  writeFileSync(join(site, "blank.html"), blankPage);
  const rows = [];
  const active = [];
  for (const sdk of list) {
    const row = { id: sdk.id, name: sdk.name, package: sdk.pkg, version: sdk.version, config: sdk.config, ok: true };
    rows.push(row);
    try {
      await sdk.stage(site);
      writeFileSync(join(site, `${sdk.id}.html`), sdk.html());
      active.push(sdk);
    } catch (e) {
      row.ok = false;
      row.error = `staging: ${e.message}`;
    }
  }

  const tmp = mkdtempSync(join(process.env.SHOPTRAIL_TMP || tmpdir(), "bench-"));
  // No rate limit: the bench measures what each SDK sends, and some send a request an event.
  const collector = await startCollector({ db: join(tmp, "bench.db"), statics: [`/bench=${site}`], rateLimit: 0 });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: LAUNCH_ARGS,
  });
  const rowOf = (sdk) => rows.find((r) => r.id === sdk.id);
  try {
    console.log(`bench: ${active.map((s) => `${s.id} ${s.version}`).join(", ")}`);
    console.log(`bench: Chromium ${browser.version()}, ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
    const base = collector.url;

    // Time to ready and the cold track calls: fresh context per load, SDKs interleaved so that
    // background load hits all.
    const readies = new Map(active.map((s) => [s.id, []]));
    for (let run = 0; run < opts.runs; run++) {
      for (const sdk of active) {
        const row = rowOf(sdk);
        if (!row.ok) continue;
        try {
          readies.get(sdk.id).push(await withTimeout(readyRun(browser, base, sdk, opts.cold), 30000, "ready"));
        } catch (e) {
          row.ok = false;
          row.error = `ready: ${e.message.split("\n")[0]}`;
        }
      }
      if (process.stdout.isTTY) process.stdout.write(`bench: page loads for time to ready ${run + 1}/${opts.runs}\r`);
    }
    console.log(`bench: page loads for time to ready and ${opts.cold} cold track calls: ${opts.runs} per SDK${" ".repeat(8)}`);

    for (const sdk of active) {
      const row = rowOf(sdk);
      if (!row.ok) continue;
      process.stdout.write(`bench: ${sdk.id}: ${opts.events} track calls ... `);
      try {
        const r = await withTimeout(fullRun(browser, base, sdk, opts), opts.wait + 60000, "run");
        const runs = readies.get(sdk.id);
        const ready = runs.map((x) => x.ready);
        const cold = runs.map((x) => x.coldUs);
        Object.assign(row, r, {
          ready: { runs: ready, median: median(ready) },
          cold: { calls: opts.cold, usPerCall: median(cold), runs: cold, firstCallUs: runs.map((x) => x.firstCallUs) },
        });
        console.log(`${r.delivery.delivered} delivered`);
      } catch (e) {
        row.ok = false;
        row.error = e.message.split("\n")[0];
        console.log(`failed: ${row.error}`);
      }
    }

    const baseline = await baselineHeap(browser, base).catch(() => null);
    const shop = rows.find((r) => r.id === "shoptrail" && r.ok);
    for (const r of rows) {
      if (!r.ok || !shop || r === shop) continue;
      const q = (f) => { const a = f(r), b = f(shop); return a == null || !b ? null : +(a / b).toFixed(2); };
      r.ratioToShoptrail = {
        raw: q((x) => x.download.raw), gzip: q((x) => x.download.gzip), brotli: q((x) => x.download.brotli),
        readyMs: q((x) => x.ready.median), coldUs: q((x) => x.cold.usPerCall), trackUs: q((x) => x.track.usPerCall),
        busyUsPerEvent: q((x) => x.mainThread.usPerEvent), bytesPerEvent: q((x) => x.delivery.bytesPerEvent),
        heap: q((x) => x.heap.total),
      };
    }
    printTable(rows);
    if (baseline) console.log(`Heap of the same page without any SDK: ${(baseline.total / 1048576).toFixed(2)} MB.`);
    for (const r of rows) {
      if (!r.ok) continue;
      const notes = [];
      if (r.delivery.delivered < r.track.calls) notes.push(`${r.track.calls - r.delivery.delivered} of ${r.track.calls} events not seen leaving within ${opts.wait / 1000} s`);
      if (r.delivery.collectorStored != null) notes.push(`collector stored ${r.delivery.collectorStored}`);
      if (r.heap.wasm) notes.push(`heap = ${r.heap.jsMB.toFixed(2)} MB JS + ${r.heap.wasmMB.toFixed(2)} MB wasm (${r.heap.wasmMemories} WebAssembly.Memory)`);
      if (r.heap.wasmError) notes.push(`wasm memory not measured: ${r.heap.wasmError}`);
      if (r.heap.wasmInstancesWithoutMemoryExport) notes.push(`${r.heap.wasmInstancesWithoutMemoryExport} wasm instance(s) export no memory: one they define inside is not in the heap figure`);
      if (r.otherHeaps.frames || r.otherHeaps.workers) notes.push(`${r.otherHeaps.frames} iframe(s) and ${r.otherHeaps.workers} worker(s), whose heaps are not counted`);
      if (r.external.length) notes.push(`${r.external.length} requests to other hosts (${[...new Set(r.external.map((u) => u.split(" ")[1]?.split("/")[2]))].join(", ")})`);
      if (r.delivery.resentEvents) notes.push(`${r.delivery.resentEvents} events sent more than once (${r.delivery.resends} resends)`);
      const st = Object.entries(r.delivery.statuses).map(([k, v]) => `${v}x${k}`).join(" ");
      notes.push(`responses ${st || "none"}`);
      console.log(`  ${r.id}: ${notes.join("; ")}`);
    }

    const out = {
      date: new Date().toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadavg: loadavg(), node: process.version, chromium: browser.version() },
      settings: { runs: opts.runs, coldCalls: opts.cold, events: opts.events, waitMs: opts.wait, payload: { event: EVENT, properties: PAYLOAD } },
      baselineHeap: baseline,
      results: rows,
    };
    mkdirSync(join(opts.out, ".."), { recursive: true });
    writeFileSync(opts.out, JSON.stringify(out, null, 2) + "\n");
    console.log(`\nbench: wrote ${opts.out} (${out.durationS} s)`);
    if (!shop) process.exitCode = 1;
  } finally {
    await browser.close().catch(() => {});
    await collector.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench: ${e.stack || e}`);
  process.exit(1);
});

