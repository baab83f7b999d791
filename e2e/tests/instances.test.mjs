// Two collector processes on one database (PostgreSQL when SHOPTRAIL_TEST_POSTGRES names a
// server, as `cargo xtask test` does; one SQLite file otherwise) behind a round-robin balancer
// that also sends every third batch to both, as a client retrying through a load balancer
// would. One shopper on two devices shops through it: every event the SDK sent is stored
// once, and either collector answers with one profile holding both devices.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer, request } from "node:http";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { tempDir, startCollector, launch, until } from "../lib.mjs";

const ADMIN = "e2e-admin-token-0123456789";
const ctx = {};

/** A fresh database both collectors open: its own database on the PostgreSQL server, or a
 * SQLite file. */
function database(dir) {
  const server = process.env.SHOPTRAIL_TEST_POSTGRES;
  if (!server) return join(dir, "shared.db");
  const name = `e2e_instances_${process.pid}_${Date.now()}`;
  execFileSync("psql", [server, "-qc", `CREATE DATABASE ${name}`]);
  return server.replace(/\/[^/]*$/, `/${name}`);
}

/** Round robin over `targets`; every third batch POST goes to all of them (the first one's
 * answer is returned). Records the messageIds of every batch and where each went. */
async function balancer(targets) {
  const seen = { ids: [], batches: 0, doubled: 0, to: targets.map(() => 0) };
  let next = 0;
  const send = (t, req, body) => new Promise((resolve, reject) => {
    const url = new URL(targets[t]);
    const up = request({ host: url.hostname, port: url.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: url.host } }, (r) => {
      const chunks = [];
      r.on("data", (c) => chunks.push(c));
      r.on("end", () => resolve({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) }));
    });
    up.on("error", reject);
    up.end(body);
  });
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      let picked = [next++ % targets.length];
      if (req.method === "POST" && req.url.startsWith("/v1/batch")) {
        seen.batches += 1;
        try {
          const plain = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body;
          for (const e of JSON.parse(plain.toString("utf8")).batch || []) seen.ids.push(e.messageId);
        } catch { /* not a batch: the collectors say so */ }
        if (seen.batches % 3 === 0) {
          picked = targets.map((_, i) => i);
          seen.doubled += 1;
        }
        for (const t of picked) seen.to[t] += 1;
      }
      try {
        const answers = await Promise.all(picked.map((t) => send(t, req, body)));
        res.writeHead(answers[0].status, answers[0].headers);
        res.end(answers[0].body);
      } catch {
        req.socket.destroy();
      }
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, seen,
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

before(async () => {
  ctx.tmp = tempDir();
  const db = database(ctx.tmp.dir);
  // Started together: they migrate the new database one after the other.
  ctx.collectors = await Promise.all([0, 1].map(() => startCollector({ db, adminToken: ADMIN })));
  ctx.lb = await balancer(ctx.collectors.map((c) => c.url));
});

after(async () => {
  await ctx.lb?.stop();
  for (const c of ctx.collectors || []) await c.stop();
  ctx.tmp?.cleanup();
});

async function stored(collector) {
  const r = await fetch(`${collector.url}/v1/events?limit=10000`, { headers: { Authorization: `Bearer ${ADMIN}` } });
  return (await r.json()).events;
}

async function profile(collector, id) {
  const r = await fetch(`${collector.url}/v1/profiles/${id}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
  return r.status === 200 ? r.json() : null;
}

test("one shopper's two devices through two collectors: each event stored once, one profile", async () => {
  const devices = [await launch(), await launch()];
  const aids = [];
  try {
    for (const [i, device] of devices.entries()) {
      const page = await device.context.newPage();
      await page.goto(`${ctx.lb.url}/fixtures/shop.html`);
      await page.waitForFunction(() => window.shoptrail && window.shoptrail.loaded === true);
      aids.push(await page.evaluate(() => window.shoptrail.anonymousId()));
      // Several flushes, so that batches spread over both collectors.
      for (let k = 0; k < 6; k += 1) {
        await page.evaluate(([i, k]) => {
          window.shoptrail.track("Product Viewed", { product_id: `p-${i}-${k}`, name: "Camp Mug", price: 24 });
          if (k === 2) window.shoptrail.cart.add({ product_id: `p-${i}-${k}`, name: "Camp Mug", price: 24 }, 1);
        }, [i, k]);
        assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
      }
      await page.evaluate(() => window.shoptrail.identify("shopper-e2e", { first_name: "Ada" }));
      assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
      assert.deepEqual(await page.evaluate(() => window.errors), []);
      await page.close();
    }
  } finally {
    for (const d of devices) await d.close();
  }
  const { seen } = ctx.lb;
  assert.ok(seen.doubled > 0 && seen.to.every((n) => n > 0), JSON.stringify(seen));
  const sent = new Set(seen.ids);
  assert.ok(sent.size >= 2 * (1 + 6 + 1 + 1), `${sent.size} events sent`);
  for (const c of ctx.collectors) {
    const events = await until(async () => {
      const e = await stored(c);
      return e.length >= sent.size && e;
    }, 10000, "every event stored");
    const ids = events.map((e) => e.messageId);
    assert.equal(ids.length, sent.size, "no event twice");
    assert.deepEqual(new Set(ids), sent);
    const p = await profile(c, "shopper-e2e");
    assert.ok(p, "the profile");
    assert.deepEqual([...p.ids.anonymousIds].sort(), [...aids].sort());
  }
});
