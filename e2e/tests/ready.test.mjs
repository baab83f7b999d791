// The script tag's promises at every moment of loading: before the loader runs, while its wasm
// is on the way (delayed by a different amount on each load), right after the page's load
// event and after the SDK is live, with and without the <head> stub. Every method is called
// and its answer checked against its kind in pkg-config/api.json: stub and SDK agree; ready()
// and flush() always return a Promise, which always settles; getters answer once ready() has
// settled. Then refused inits: ready() and flush() settle false, onError says why, and the
// README's "flush before leaving" example leaves the page.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launch, tempDir, startCollector, until } from "../lib.mjs";

const root = join(import.meta.dirname, "../..");
const api = JSON.parse(readFileSync(join(root, "pkg-config/api.json"), "utf8"));
const KINDS = api.methods.map((m) => [m.name, m.kind]);
/* Calls that would end the run (or start it twice): each is checked by other suites. */
const SKIP = ["init", "shutdown", "reset", "consent.deny", "consent.revoke"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LOADS = 50;

let tmp, collector, browser;
before(async () => {
  tmp = tempDir();
  collector = await startCollector({ db: join(tmp.dir, "ready.db"), rateLimit: 0 });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await collector?.stop();
  tmp?.cleanup();
});

/* The probe, run in the page from its first script on: `probe(moment)` calls every method
   (those that return nothing once per phase, getters and Promises every time) and records
   what each answered; ready()'s answer records what the getters say once it has settled. */
function probeScript(kinds, skip) {
  return `
(function () {
  var KINDS = ${JSON.stringify(kinds)}, SKIP = ${JSON.stringify(skip)};
  var r = window.__race = { bad: [], promises: 0, settled: 0, readies: [], flushes: [], phases: {}, moments: 0 };
  function at(name) {
    var s = window.shoptrail, p = name.split(".");
    return p[1] ? s && s[p[0]] && s[p[0]][p[1]] : s && s[p[0]];
  }
  function phase() {
    var s = window.shoptrail;
    return !s ? "none" : s.loaded ? "loaded" : s.loading ? "loading" : "stub";
  }
  function ok(kind, v) {
    if (kind == 5) return !!v && typeof v.then == "function";
    if (kind == 2) return v === undefined || typeof v == "string";
    if (kind == 3) return v === undefined || typeof v == "number";
    if (kind == 4) return v === undefined || (typeof v == "object" && v !== null);
    return v === undefined;
  }
  window.__probe = function (moment) {
    var ph = phase();
    if (ph == "none") return;
    r.moments++;
    var first = !r.phases[ph];
    r.phases[ph] = (r.phases[ph] || 0) + 1;
    KINDS.forEach(function (k) {
      var name = k[0], kind = k[1];
      if (SKIP.indexOf(name) >= 0) return;
      if (!first && kind != 2 && kind != 3 && kind != 4 && kind != 5) return;
      var f = at(name), v;
      if (typeof f != "function") return r.bad.push(moment + " " + ph + ": " + name + " is not a function");
      try { v = f(); } catch (e) { return r.bad.push(moment + " " + ph + ": " + name + " threw " + e); }
      if (!ok(kind, v)) return r.bad.push(moment + " " + ph + ": " + name + " answered " + typeof v);
      if (kind != 5) return;
      r.promises++;
      v.then(function (x) {
        r.settled++;
        if (name == "ready") r.readies.push({ moment: moment, phase: ph, value: x, anonymousId: window.shoptrail.anonymousId(),
          sessionId: window.shoptrail.sessionId(), consent: window.shoptrail.consent.get() });
        else r.flushes.push(x);
      }, function (e) { r.bad.push(moment + " " + ph + ": " + name + " rejected " + e); });
    });
  };
  window.__probe("first script");
  /* Every turn of the event loop until the SDK is live, and a few after. */
  var turns = 0, after = 0;
  (function spin() {
    window.__probe("turn " + turns);
    if (window.shoptrail && window.shoptrail.loaded) after++;
    if (after < 3 && ++turns < 2000) setTimeout(spin, 0);
  })();
  addEventListener("load", function () { window.__probe("load"); setTimeout(function () { window.__probe("after load"); }, 0); });
})();`;
}

function racePage(stub) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>race</title>
<script>${probeScript(KINDS, SKIP)}</script>
${stub ? '<script src="/assets/stub.js"></script>' : ""}
<script>window.__probe("before the tag")</script>
<script async src="/dist/shoptrail.js" data-endpoint="/v1/batch" data-bots="allow"></script>
<script>window.__probe("after the tag")</script>
</head><body><h1>race</h1><script>window.__probe("body")</script></body></html>`;
}

test(`${LOADS} loads of the script tag: Promises at every moment, getters once ready() settled, stub and SDK agree on every kind`, async () => {
  const page = await browser.context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  let delay = 0;
  await page.route(/\/race-(plain|stub)\.html/, (route) => route.fulfill({
    contentType: "text/html", body: racePage(route.request().url().includes("race-stub")),
  }));
  /* The wasm arrives after a different wait on every load: before, around and after the
     page's load event. */
  await page.route(/\/dist\/shoptrail(-lite)?\.wasm$/, (route) => setTimeout(() => route.continue(), delay));
  const seen = { stub: 0, loading: 0, loaded: 0 };
  try {
    for (let i = 0; i < LOADS; i++) {
      delay = (i * 37) % 300;
      const kind = i % 2 ? "stub" : "plain";
      await page.goto(`${collector.url}/race-${kind}.html?${i}`);
      let last;
      const r = await until(() => page.evaluate(() => {
        const x = window.__race;
        return [x && window.shoptrail?.loaded && x.promises > 0 && x.settled === x.promises && x, x];
      }).then(([done, x]) => { last = x; return done; }), 10000,
      `load ${i} (${kind}, wasm after ${delay} ms): every Promise settled`).catch((e) => {
        throw new Error(`${e.message}: ${JSON.stringify(last)}`);
      });
      const where = `load ${i} (${kind}, wasm after ${delay} ms)`;
      assert.deepEqual(r.bad, [], where);
      for (const p of ["stub", "loading", "loaded"]) seen[p] += r.phases[p] ? 1 : 0;
      assert.ok(r.readies.length > 0, where);
      for (const ready of r.readies) {
        assert.equal(ready.value, true, `${where}: ready() asked at ${ready.moment}`);
        assert.match(ready.anonymousId ?? "", UUID, `${where}: anonymousId() once ready() asked at ${ready.moment} settled`);
        assert.equal(typeof ready.sessionId, "number", where);
        assert.equal(typeof ready.consent, "object", where);
      }
      assert.ok(r.flushes.every((f) => typeof f == "boolean"), `${where}: ${r.flushes}`);
    }
    assert.deepEqual(problems, []);
    // Calls were made in every phase: against the stub, the loader's own stubs while the wasm
    // loads, and the SDK.
    assert.ok(seen.stub > 0 && seen.loading > 0 && seen.loaded === LOADS, JSON.stringify(seen));
  } finally {
    await page.close();
  }
});

/* A page whose init the SDK refuses, with the README's "flush before leaving" example on a
   button. */
function refusedPage(config, stub) {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const m = readme.match(/<!-- example:flush-before-leaving -->\s*```js\n([\s\S]*?)```/);
  assert.ok(m, "README.md has the flush-before-leaving example");
  return `<!doctype html><html><head><meta charset="utf-8"><title>refused</title>
${stub ? '<script src="/assets/stub.js"></script>' : ""}
<script async src="/dist/shoptrail.js"></script>
</head><body><button id="pay">Pay</button>
<script>
window.__heard = [];
function start() {
  shoptrail.init(Object.assign(${config}, { onError: function (e) { __heard.push(e.code + ": " + e.message); } }));
  Promise.all([shoptrail.ready(), shoptrail.flush()]).then(function (r) { window.__early = r; });
}
if (window.shoptrail && window.shoptrail.init) start(); else addEventListener("load", start);
var button = document.getElementById("pay");
${m[1]}
</script></body></html>`;
}

test("a refused init through the script tag: ready() and flush() settle false, onError says why, the README's checkout button still leaves", async () => {
  const page = await browser.context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  try {
    const cases = [
      ["an invalid option", `{ endpoint: "/v1/batch", batchSize: 0 }`, /`batchSize`/],
      ["an http endpoint on a public host", `{ endpoint: "http://collect.example.com/v1/batch" }`, /`endpoint`.*https/],
    ];
    for (const stub of [true, false]) {
      for (const [what, config, message] of cases) {
        const where = `${what} (${stub ? "with" : "without"} the stub)`;
        await page.route("**/refused.html", (route) => route.fulfill({ contentType: "text/html", body: refusedPage(config, stub) }));
        await page.goto(`${collector.url}/refused.html`);
        await page.unroute("**/refused.html");
        const early = await page.waitForFunction(() => window.__early, null, { timeout: 10000 }).then((h) => h.jsonValue());
        assert.deepEqual(early, [false, false], `${where}: ready() and flush() asked around init`);
        const heard = await page.evaluate(() => window.__heard);
        assert.equal(heard.length, 1, `${where}: ${heard}`);
        assert.match(heard[0], /^invalid_config: /, where);
        assert.match(heard[0], message, where);
        // Later calls: Promises settle false at once.
        assert.deepEqual(await page.evaluate(() => Promise.all([shoptrail.ready(), shoptrail.flush()])), [false, false], where);
        // The README's checkout button: it awaits flush() and then leaves.
        await Promise.all([page.waitForURL(/\/checkout$/, { timeout: 10000 }), page.click("#pay")]);
      }
    }
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});
