// The fault matrix: the real collector behind a proxy that injects faults (dropped
// connections, error statuses, latency), plus the browser offline, the collector killed and
// restarted, tabs reloaded or closed mid-flight, five tabs at once and a full storage. For
// each case: events the SDK accepted, stored by the collector, lost, stored twice, and
// delivered more than once (the collector answered 200 to two requests carrying the event: a
// batch under way when its page went away is sent again by the next page; the collector keeps
// it once by messageId). Any loss or stored duplicate fails. The table is printed and written
// to target/fault-matrix.md (ARCHITECTURE.md shows it).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { suite, events, until, recordingProxy, startCollector } from "../lib.mjs";

const ctx = suite("faults");
let proxy;
const rows = [];

after(async () => {
  await proxy?.stop();
  const table = ["| case | accepted | stored | lost | stored twice | delivered twice |", "| --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.name} | ${r.accepted} | ${r.stored} | ${r.lost} | ${r.twice} | ${r.resent} |`)].join("\n");
  console.log(`\n${table}\n`);
  const dir = join(process.env.SHOPTRAIL_ROOT || join(import.meta.dirname, "../.."), "target");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "fault-matrix.md"), table + "\n");
});

async function open(query = "flushInterval=100&batchSize=5", init) {
  proxy ??= await recordingProxy(ctx.collector);
  const page = await ctx.browser.context.newPage();
  if (init) await page.addInitScript(init);
  await page.goto(`${proxy.url}/fixtures/basic.html?${query}`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  // The page view leaves first: no request of this page is under way when the case starts.
  await page.evaluate(() => window.shoptrail.flush());
  return page;
}

/** Tracks events `from`..`to` of `tag`, each with `pad` characters more; `handOver` hands them
 * to the wasm at once (a getter), so that a batch starts before the test goes on. */
function track(page, tag, from, to, handOver, pad = 0) {
  return page.evaluate(([tag, from, to, handOver, pad]) => {
    for (let i = from; i < to; i++) window.shoptrail.track(tag, { i, pad: "x".repeat(pad) });
    if (handOver) window.shoptrail.anonymousId();
  }, [tag, from, to, handOver, pad]);
}

/** What the proxy injected for the current case, against what it was asked to. */
const faults = { expected: null, injected: 0 };

/** Faults for the first `n` batches that carry the tag's events. */
function faultFirst(tag, n, fault) {
  faults.expected = n;
  faults.injected = 0;
  proxy.fault = (b) => {
    if (!b || !b.events.some((e) => e.event === tag) || faults.injected >= n) return null;
    faults.injected += 1;
    return fault;
  };
}

/** Resolves once the page has seen a request to the collector fail (`requestfailed`). */
function aSendFails(page) {
  return new Promise((resolve) => {
    const seen = (r) => {
      if (!r.url().includes("/v1/batch")) return;
      page.off("requestfailed", seen);
      resolve();
    };
    page.on("requestfailed", seen);
  });
}

/** Waits for the tag's `count` events (up to `ms`), then for each page's `flush()` (every
 * lane delivered: nothing more will leave those pages), then records the row and checks it.
 * When the case injected faults through the proxy, they must all have been injected. */
async function settle(name, tag, count, pages, ms = 30000) {
  let stored = [];
  try {
    await until(async () => {
      stored = await events(ctx.collector.url, { event: tag });
      return new Set(stored.map((e) => e.properties.i)).size >= count;
    }, ms, `${count} "${tag}" events`);
  } catch { /* counted below */ }
  for (const p of pages) assert.equal(await p.evaluate(() => window.shoptrail.flush()), true, `${name}: flush()`);
  stored = await events(ctx.collector.url, { event: tag });
  if (faults.expected !== null) {
    assert.equal(faults.injected, faults.expected, `${name}: the proxy injected ${faults.injected} of ${faults.expected} faults`);
    faults.expected = null;
  }
  proxy.fault = null;
  proxy.delayMs = 0;
  const unique = new Set(stored.map((e) => e.properties.i)).size;
  const sends = new Map();
  for (const b of proxy.sent.filter((b) => b.status === 200)) {
    for (const e of b.events) if (e.event === tag) sends.set(e.id, (sends.get(e.id) || 0) + 1);
  }
  const row = { name, accepted: count, stored: unique, lost: count - unique, twice: stored.length - unique,
    resent: [...sends.values()].filter((c) => c > 1).length };
  rows.push(row);
  assert.equal(row.lost, 0, `${name}: lost ${row.lost} of ${count}`);
  assert.equal(row.twice, 0, `${name}: ${row.twice} stored twice`);
}

const uniq = (what) => `${what} ${Date.now()}`;

test("connection dropped", async () => {
  const page = await open();
  const tag = uniq("Dropped");
  faultFirst(tag, 3, { drop: true });
  await track(page, tag, 0, 30);
  await settle("connection dropped (3 requests)", tag, 30, [page]);
  await page.close();
});

for (const [status, headers, n] of [[500, {}, 3], [503, { "Retry-After": "1" }, 2], [429, { "Retry-After": "1" }, 2]]) {
  test(`HTTP ${status}`, async () => {
    const page = await open();
    const tag = uniq(`Status ${status}`);
    faultFirst(tag, n, { status, headers });
    await track(page, tag, 0, 30);
    const after = headers["Retry-After"] ? ", Retry-After: 1" : "";
    await settle(`HTTP ${status}${after} (${n} requests)`, tag, 30, [page]);
    await page.close();
  });
}

test("10 s latency", async () => {
  const page = await open();
  const tag = uniq("Latency");
  faultFirst(tag, 2, { delayMs: 10000 });
  await track(page, tag, 0, 30);
  await settle("10 s latency (2 requests)", tag, 30, [page], 40000);
  await page.close();
});

test("browser offline", async () => {
  const page = await open();
  const tag = uniq("Offline");
  await ctx.browser.context.setOffline(true);
  const failed = aSendFails(page);
  const before = proxy.sent.length;
  await track(page, tag, 0, 30);
  await failed;
  assert.ok(!proxy.sent.slice(before).some((b) => b.events.some((e) => e.event === tag)), "nothing passed while offline");
  await ctx.browser.context.setOffline(false);
  await settle("browser offline until a send failed", tag, 30, [page]);
  await page.close();
});

test("collector killed and restarted", async () => {
  const page = await open();
  const tag = uniq("Killed");
  const { port } = ctx.collector;
  await ctx.collector.stop();
  const failed = aSendFails(page);
  await track(page, tag, 0, 30);
  await failed;
  ctx.collector = await startCollector({ db: join(ctx.tmp.dir, "faults.db"), port });
  await settle("collector killed, restarted after a send failed", tag, 30, [page]);
  await page.close();
});

test("tab reloaded mid-flight", async () => {
  const page = await open("batchSize=7&flushInterval=0");
  const tag = uniq("Reloaded");
  proxy.delayMs = 400;
  await page.evaluate((tag) => {
    for (let i = 0; i < 30; i++) window.shoptrail.track(tag, { i });
    window.shoptrail.anonymousId();
    location.reload();
  }, tag).catch(() => { /* the reload ends the call's context */ });
  await page.waitForLoadState("load");
  await settle("tab reloaded with a request under way", tag, 30, [page]);
  await page.close();
});

test("tab closed mid-flight", async () => {
  const page = await open("batchSize=20&flushInterval=0");
  const tag = uniq("Closed");
  proxy.delayMs = 1500;
  // 1 KB events: the request under way and the unload beacons together pass the browser's
  // 64 KiB budget for requests that outlive their page, so some beacons are refused.
  await track(page, tag, 0, 80, true, 1000);
  await page.close({ runBeforeUnload: true });
  // The shopper comes back later: the next page takes over what the closed tab left.
  const next = await open();
  proxy.delayMs = 0;
  await settle("tab closed with 80 events of 1 KB queued, 20 under way; a next page opens", tag, 80, [next]);
  await next.close();
});

test("five tabs at once", async () => {
  const tag = uniq("Five tabs");
  const pages = await Promise.all([0, 1, 2, 3, 4].map(() => open()));
  await Promise.all(pages.map((p, t) => track(p, tag, t * 20, t * 20 + 20)));
  await settle("five tabs tracking at once", tag, 100, pages);
  for (const p of pages) await p.close();
});

test("storage full", async () => {
  const page = await open(undefined, () => {
    Storage.prototype.setItem = function () { throw new DOMException("full", "QuotaExceededError"); };
  });
  const tag = uniq("Storage full");
  faultFirst(tag, 2, { status: 500 });
  await track(page, tag, 0, 30);
  await settle("storage full (and HTTP 500 for 2 requests)", tag, 30, [page]);
  await page.close();
});
