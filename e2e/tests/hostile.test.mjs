// Nothing a page passes can break the SDK: thousands of random JavaScript values (NaN,
// Infinity, BigInt, symbols, functions, DOM nodes, cycles, deep nesting, huge strings, getters
// and Proxies that throw, revoked Proxies, objects without a prototype, ...) go to every
// method of the public API, seeded so a failure repeats. No call throws, no page error occurs,
// errors that name a path say which value was wrong, and afterwards the SDK still delivers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, events, until } from "../lib.mjs";

const ctx = suite("hostile");

test("random values to every method: no exception, and a working SDK afterwards", async () => {
  const page = await ctx.browser.context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(`${ctx.collector.url}/fixtures/basic.html`);
  await page.evaluate(() => window.shoptrail.ready());
  const result = await page.evaluate(async (seed) => {
    let x = seed;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
    const pick = (a) => a[Math.floor(rand() * a.length)];
    const thrower = () => { throw new Error("hostile getter"); };
    function value(depth) {
      const kinds = [
        () => undefined, () => null, () => NaN, () => Infinity, () => -Infinity, () => -0,
        () => rand() * 1e21, () => Math.floor(rand() * 100), () => 10n ** 30n, () => Symbol("s"),
        () => function f() {}, () => "", () => "x".repeat(Math.floor(rand() * 50)),
        () => "\u0000\ud800<script>\"'\\", () => "é".repeat(210), () => "y".repeat(70000),
        () => true, () => new Date(NaN), () => new Map([[1, 2]]), () => new Uint8Array(3),
        () => document.body, () => window, () => /re/g, () => new Error("e"),
        () => { const o = { a: 1 }; o.self = o; return o; },
        () => { const o = {}; Object.defineProperty(o, "boom", { get: thrower, enumerable: true }); return o; },
        () => new Proxy({}, { ownKeys: thrower, get: thrower, getOwnPropertyDescriptor: thrower }),
        () => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy; },
        () => Object.create(null),
        () => ({ toJSON: thrower }),
        () => { let o = {}; for (let i = 0; i < 40; i++) o = { o }; return o; },
        () => [1, , 3],
        () => (depth < 3 ? Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1)) : []),
        () => {
          if (depth >= 3) return {};
          const o = {};
          // Own properties (an own "__proto__" too), as JSON.parse would make them.
          for (let i = 0; i < rand() * 4; i++) {
            Object.defineProperty(o, pick(["price", "items", "email", "__proto__", "constructor", "", "é"]),
              { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
          }
          return o;
        },
        () => ({ product_id: value(depth + 1), price: value(depth + 1), quantity: value(depth + 1) }),
      ];
      return pick(kinds)();
    }
    const s = window.shoptrail;
    const methods = [];
    for (const k of Object.keys(s)) {
      if (typeof s[k] == "function") methods.push([k, s, s[k]]);
      else if (s[k] && typeof s[k] == "object") for (const j of Object.keys(s[k])) if (typeof s[k][j] == "function") methods.push([k + "." + j, s[k], s[k][j]]);
    }
    const skip = ["shutdown"];
    const thrown = [];
    const codes = {};
    s.on("error", (e) => { codes[e.code] = (codes[e.code] || 0) + 1; if (/ is a BigInt| a cycle| threw when read/.test(e.message)) codes.path = e.message; });
    let calls = 0;
    for (let i = 0; i < 4000; i++) {
      const [name, holder, f] = pick(methods);
      if (skip.includes(name)) continue;
      const args = Array.from({ length: Math.floor(rand() * 4) }, () => value(0));
      try {
        const r = f.apply(holder, args);
        if (r && typeof r.then == "function") r.then(() => {}, (e) => thrown.push(name + " rejected: " + e));
        calls++;
      } catch (e) {
        thrown.push(name + ": " + (e && e.message));
      }
      if (i % 500 == 0) await new Promise((r) => setTimeout(r, 0));
    }
    // The shopper's consent may have been withdrawn by a random call: grant it again.
    s.consent.grant();
    const name = "After Hostile " + seed;
    s.track(name, { ok: true });
    const flushed = await s.flush();
    return { calls, thrown, codes, flushed, name, aid: s.anonymousId(), methods: methods.map((m) => m[0]) };
  }, 20261129);
  assert.deepEqual(result.thrown, []);
  assert.ok(result.calls > 3500, `${result.calls} calls`);
  assert.ok(result.methods.includes("cart.add") && result.methods.includes("consent.grant"), result.methods.join());
  assert.ok(result.codes.invalid_argument > 0, JSON.stringify(result.codes));
  assert.match(result.codes.path, /^\w[\w.]*: \w+(\.\w*|\[\d+\])* (is a BigInt|refers to an object that contains it|threw when read)/);
  assert.equal(result.flushed, true);
  const stored = await until(async () => {
    const evs = await events(ctx.collector.url, { anonymousId: result.aid });
    return evs.find((e) => e.event === result.name);
  }, 10000, "the event after the hostile calls");
  assert.deepEqual(stored.properties, { ok: true });
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test("arguments longer than any event: reported by the wasm with its message, the rest delivered", async () => {
  const page = await ctx.browser.context.newPage();
  await page.goto(`${ctx.collector.url}/fixtures/basic.html`);
  await page.evaluate(() => window.shoptrail.ready());
  const r = await page.evaluate(async () => {
    const s = window.shoptrail;
    const errors = [];
    s.on("error", (e) => errors.push([e.code, e.message]));
    // 40,000 characters: over 32 KiB before the wasm sees it; 20,000 characters fit.
    s.track("Too Long", { blob: "x".repeat(40000) });
    s.cart.add({ product_id: "p-long", price: 1, note: "y".repeat(40000) });
    const id = s.anonymousId("z".repeat(40000));
    s.track("Long Enough", { blob: "x".repeat(20000) });
    const flushed = await s.flush();
    return { errors, id, flushed, aid: s.anonymousId() };
  });
  assert.equal(r.flushed, true);
  assert.equal(r.id, undefined, "a getter with arguments too long answers nothing");
  assert.deepEqual(r.errors.map((e) => e[0]), ["event_too_large", "event_too_large", "event_too_large"]);
  for (const [, message] of r.errors) assert.match(message, /larger than 32 KiB once serialized/);
  const evs = await until(async () => {
    const evs = await events(ctx.collector.url, { anonymousId: r.aid });
    return evs.some((e) => e.event === "Long Enough") && evs;
  }, 10000, "the event that fits");
  assert.equal(evs.filter((e) => e.event === "Too Long" || e.event === "Product Added").length, 0);
  await page.close();
});
