// Server-side libraries of the tools the wire format follows, sending into the real collector
// started with --write-keys: Segment's @segment/analytics-node (plain JSON, the write key as
// Basic auth and in the body) and RudderStack's @rudderstack/rudder-sdk-node (gzip with
// `Content-Encoding: gzip` by default, the write key as Basic auth only). Each is pointed at
// the collector by its own host option, through a proxy that records what went over the wire.
// Every event a library sent is stored exactly once; a key the collector does not list gets
// 401, which the library reports, and nothing is stored.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { Analytics } from "@segment/analytics-node";
import RudderAnalytics from "@rudderstack/rudder-sdk-node";
import { tempDir, events, until, startCollector } from "../lib.mjs";

const SEGMENT_KEY = "seg_write_key_e2e";
const RUDDER_KEY = "rudder_write_key_e2e";
const ctx = {};

/** A proxy in front of `target` recording each request (method, path, headers, the body as
 * sent) with the collector's status and JSON answer. */
async function recorder(target) {
  const up = new URL(target);
  const seen = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const entry = { method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(entry);
      const fwd = request({ host: up.hostname, port: up.port, method: req.method, path: req.url,
        headers: { ...req.headers, host: up.host } }, (r) => {
        const answer = [];
        r.on("data", (c) => answer.push(c));
        r.on("end", () => {
          entry.status = r.statusCode;
          try { entry.answer = JSON.parse(Buffer.concat(answer).toString("utf8")); } catch { entry.answer = null; }
          res.writeHead(r.statusCode, r.headers);
          res.end(Buffer.concat(answer));
        });
      });
      fwd.on("error", () => req.socket.destroy());
      fwd.end(entry.body);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

/** The JSON a recorded request carried, inflated when it says gzip. */
function bodyOf(entry) {
  const gzip = /gzip/i.test(entry.headers["content-encoding"] || "");
  return JSON.parse((gzip ? gunzipSync(entry.body) : entry.body).toString("utf8"));
}

const basic = (key) => `Basic ${Buffer.from(`${key}:`).toString("base64")}`;

/** Checks what `proxy` saw for the batches of one library and what the collector kept:
 * every request authorised by `key` as Basic auth and answered 200, every event sent once and
 * stored once under `userId`. Returns the recorded batch requests. */
async function assertStoredOnce(proxy, key, userId, calls) {
  const batches = proxy.seen.filter((e) => e.method === "POST" && e.path === "/v1/batch");
  assert.ok(batches.length >= 2, `${batches.length} batch requests (flushAt should split them)`);
  const sent = [];
  for (const b of batches) {
    assert.equal(b.headers.authorization, basic(key));
    assert.equal(b.status, 200, JSON.stringify(b.answer));
    assert.equal(b.answer.duplicates, 0);
    sent.push(...bodyOf(b).batch.map((e) => e.messageId));
  }
  assert.equal(sent.length, calls, `${calls} calls, ${sent.length} events sent`);
  assert.equal(new Set(sent).size, sent.length, "no event sent twice");
  assert.equal(batches.reduce((n, b) => n + b.answer.accepted, 0), calls);

  const stored = await until(async () => {
    const e = await events(ctx.collector.url, { userId });
    return e.length >= calls && e;
  }, 10000, `${calls} events of ${userId}`);
  assert.deepEqual(stored.map((e) => e.messageId).sort(), [...sent].sort(), "each event stored exactly once");
  return batches;
}

/** The calls each library makes: identify, page, tracks, group and alias for `userId`. */
function shop(client, userId, done) {
  const cb = (err) => done(err);
  client.identify({ userId, traits: { email: `${userId}@example.com`, plan: "gold" } }, cb);
  client.page({ userId, name: "Checkout", properties: { path: "/checkout", url: "https://shop.example/checkout" } }, cb);
  for (let i = 0; i < 8; i += 1) {
    client.track({ userId, event: "Product Added", properties: { product_id: `p-${i}`, price: 9.5 + i, quantity: 1, i } }, cb);
  }
  client.track({ userId, event: "Order Completed", properties: { order_id: `o-${userId}`, total: 24.5, currency: "EUR" } }, cb);
  client.group({ userId, groupId: "g-wholesale", traits: { name: "Wholesale" } }, cb);
  client.alias({ userId, previousId: `${userId}-before-login` }, cb);
  return 13;
}

before(async () => {
  ctx.tmp = tempDir();
  ctx.collector = await startCollector({ db: join(ctx.tmp.dir, "server-sdks.db"), statics: [],
    args: ["--write-keys", `${SEGMENT_KEY},${RUDDER_KEY}`] });
});
after(async () => {
  await ctx.collector?.stop();
  ctx.tmp?.cleanup();
});

test("@segment/analytics-node: every event stored once, its write key by Basic auth", async () => {
  const proxy = await recorder(ctx.collector.url);
  try {
    const errors = [];
    let settled = 0;
    const analytics = new Analytics({ writeKey: SEGMENT_KEY, host: proxy.url, path: "/v1/batch", flushAt: 5,
      flushInterval: 60000, maxRetries: 0 });
    analytics.on("error", (e) => errors.push(e));
    const calls = shop(analytics, "seg-user-1", (err) => { settled += 1; if (err) errors.push(err); });
    await analytics.closeAndFlush({ timeout: 15000 });
    assert.deepEqual(errors, []);
    assert.equal(settled, calls, "every call's callback ran");

    const batches = await assertStoredOnce(proxy, SEGMENT_KEY, "seg-user-1", calls);
    // Segment's library also puts the key in the body, and sends plain JSON.
    for (const b of batches) {
      assert.equal(bodyOf(b).writeKey, SEGMENT_KEY);
      assert.equal(b.headers["content-encoding"], undefined);
    }
    const stored = await events(ctx.collector.url, { userId: "seg-user-1", event: "Order Completed" });
    assert.equal(stored[0].properties.total, 24.5);
    assert.equal(stored[0].context.library.name, "@segment/analytics-node");
  } finally {
    await proxy.stop();
  }
});

test("@rudderstack/rudder-sdk-node with its default gzip: every event stored once, its write key by Basic auth only", async () => {
  const proxy = await recorder(ctx.collector.url);
  try {
    const errors = [];
    let settled = 0;
    const client = new RudderAnalytics(RUDDER_KEY, { dataPlaneUrl: proxy.url, flushAt: 5, flushInterval: 60000,
      retryCount: 0, logLevel: "error", errorHandler: (e) => errors.push(e) });
    const calls = shop(client, "rs-user-1", (err) => { settled += 1; if (err) errors.push(err); });
    await client.flush();
    await until(() => settled === calls, 10000, "every call's callback");
    assert.deepEqual(errors, []);

    const batches = await assertStoredOnce(proxy, RUDDER_KEY, "rs-user-1", calls);
    for (const b of batches) {
      assert.equal(b.headers["content-encoding"], "gzip");
      assert.deepEqual([...b.body.subarray(0, 2)], [0x1f, 0x8b], "a gzip body");
      // No key in the body: the collector took it from Basic auth.
      assert.equal(bodyOf(b).writeKey, undefined);
    }
    const stored = await events(ctx.collector.url, { userId: "rs-user-1", event: "Order Completed" });
    assert.equal(stored[0].properties.total, 24.5);
    assert.equal(stored[0].context.library.name, "analytics-node");
    assert.equal(stored[0].channel, "server");
  } finally {
    await proxy.stop();
  }
});

test("a write key the collector does not list: 401, reported by each library, nothing stored", async () => {
  const segErrors = [];
  const analytics = new Analytics({ writeKey: "not-a-listed-key", host: ctx.collector.url, flushAt: 5,
    flushInterval: 60000, maxRetries: 0 });
  analytics.on("error", (e) => segErrors.push(e));
  analytics.track({ userId: "seg-refused", event: "Product Viewed" });
  await analytics.closeAndFlush({ timeout: 15000 });
  await until(() => segErrors.length > 0, 10000, "Segment's error");
  assert.equal(segErrors.length, 1, segErrors.map(String).join("\n"));
  assert.equal(segErrors[0].code, "delivery_failure");
  assert.match(String(segErrors[0].reason), /401/);

  const rsErrors = [];
  const client = new RudderAnalytics("not-a-listed-key", { dataPlaneUrl: ctx.collector.url, flushAt: 5,
    flushInterval: 60000, retryCount: 0, logLevel: "error", errorHandler: (e) => rsErrors.push(e) });
  client.track({ userId: "rs-refused", event: "Product Viewed" });
  await client.flush();
  await until(() => rsErrors.length > 0, 10000, "RudderStack's error");
  assert.equal(rsErrors[0].response?.status, 401);

  // Both answers came back; what the collector refused is not stored.
  assert.deepEqual(await events(ctx.collector.url, { userId: "seg-refused" }), []);
  assert.deepEqual(await events(ctx.collector.url, { userId: "rs-refused" }), []);
});
