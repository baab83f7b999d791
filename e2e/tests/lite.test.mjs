// Which wasm the script tag fetches: the build without the optional options
// (dist/shoptrail-lite.wasm) when the first init names none of them, the full build
// (dist/shoptrail.wasm) when it names one, and nothing before a config is known. Either build
// runs the same loader and glue, and events arrive.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { launch, tempDir, startCollector, events, until } from "../lib.mjs";

const root = join(import.meta.dirname, "../..");
const api = JSON.parse(readFileSync(join(root, "pkg-config/api.json"), "utf8"));
const OPTIONAL = api.options.filter((o) => o.optional).map((o) => o.name);

let tmp, collector, browser;
before(async () => {
  tmp = tempDir();
  collector = await startCollector({ db: join(tmp.dir, "lite.db") });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await collector?.stop();
  tmp?.cleanup();
});

/* A page at `name` with `head` in its <head>; the wasm files it fetches, as they are asked for. */
async function open(name, head) {
  const page = await browser.context.newPage();
  const fetched = [];
  page.on("request", (r) => {
    const m = r.url().match(/\/dist\/(shoptrail[^/]*\.wasm)$/);
    if (m) fetched.push(m[1]);
  });
  await page.route(`**/${name}.html`, (route) => route.fulfill({
    contentType: "text/html",
    body: `<!doctype html><html><head><meta charset="utf-8"><title>${name}</title>${head}</head><body><h1>${name}</h1></body></html>`,
  }));
  await page.goto(`${collector.url}/${name}.html`);
  return { page, fetched };
}

const tag = '<script async src="/dist/shoptrail.js"></script>';
const init = (config) => `<script>window.shoptrail={q:[]};["init","track","flush","ready"].forEach(function(m){shoptrail[m]=function(){var a=[].slice.call(arguments);if(m=="flush"||m=="ready")return new Promise(function(r){shoptrail.q.push([m,a,r])});shoptrail.q.push([m,a])}});shoptrail.init(${config});</script>`;

async function delivered(page, what) {
  const id = `${what}-${Date.now()}`;
  assert.equal(await page.evaluate((id) => { window.shoptrail.track("Lite Checked", { id }); return window.shoptrail.flush(); }, id), true);
  const anonymousId = await page.evaluate(() => window.shoptrail.anonymousId());
  const stored = await events(collector.url, { anonymousId });
  assert.ok(stored.some((e) => e.event === "Lite Checked" && e.properties.id === id), `${what}: the event arrived`);
}

test("api.json's optional options are the ones the loader knows", () => {
  assert.deepEqual([...OPTIONAL].sort(), ["beforeSend", "cookieRefreshUrl", "destinations", "hashPii", "linkDomains"]);
  // The loader's list, as the build wrote it from api.json.
  const loader = readFileSync(join(root, "dist/shoptrail.js"), "utf8");
  assert.ok(loader.includes(JSON.stringify(OPTIONAL)), `dist/shoptrail.js holds ${JSON.stringify(OPTIONAL)}`);
});

test("a config without optional options fetches the lite wasm only, and it delivers", async () => {
  const { page, fetched } = await open("lite-plain", init('{ endpoint: "/v1/batch", bots: "allow" }') + tag);
  assert.equal(await page.evaluate(() => window.shoptrail.ready()), true);
  await delivered(page, "plain");
  assert.deepEqual(fetched, ["shoptrail-lite.wasm"]);
  await page.close();
});

test("data-endpoint alone fetches the lite wasm", async () => {
  const { page, fetched } = await open("lite-attr", '<script async src="/dist/shoptrail.js" data-endpoint="/v1/batch" data-bots="allow"></script>');
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  assert.equal(await page.evaluate(() => window.shoptrail.ready()), true);
  await delivered(page, "attr");
  assert.deepEqual(fetched, ["shoptrail-lite.wasm"]);
  await page.close();
});

test("data-wasm names the file, whatever the config", async () => {
  const { page, fetched } = await open("own-wasm", init('{ endpoint: "/v1/batch", bots: "allow" }') + '<script async src="/dist/shoptrail.js" data-wasm="/dist/shoptrail.wasm"></script>');
  assert.equal(await page.evaluate(() => window.shoptrail.ready()), true);
  await delivered(page, "own-wasm");
  assert.deepEqual(fetched, ["shoptrail.wasm"]);
  await page.close();
});

for (const option of ["destinations", "hashPii"]) {
  test(`a config naming ${option} fetches the full wasm only`, async () => {
    const value = option === "destinations" ? `[{ endpoint: "/v1/batch?copy=1" }]` : "true";
    const { page, fetched } = await open(`full-${option}`, init(`{ endpoint: "/v1/batch", bots: "allow", ${option}: ${value} }`) + tag);
    assert.equal(await page.evaluate(() => window.shoptrail.ready()), true);
    await delivered(page, option);
    assert.deepEqual(fetched, ["shoptrail.wasm"]);
    await page.close();
  });
}

test("without a config, nothing is fetched until init, which then picks the build", async () => {
  const { page, fetched } = await open("late", tag);
  /* The loader has run (its stubs are in place) and waits for the config. */
  await page.waitForFunction(() => window.shoptrail && window.shoptrail.loading === true && typeof window.shoptrail.init === "function");
  const ready = page.evaluate(() => window.shoptrail.ready());
  assert.deepEqual(fetched, [], "no wasm before init");
  await page.evaluate(() => window.shoptrail.init({ endpoint: "/v1/batch", bots: "allow", linkDomains: ["other-shop.example"] }));
  assert.equal(await ready, true, "ready() asked before init settles after it");
  await until(() => fetched.length > 0, 5000, "a wasm fetched after init");
  await delivered(page, "late");
  assert.deepEqual(fetched, ["shoptrail.wasm"]);
  await page.close();
});

test("after a refused first init, the lite build names the optional option a second init asks for", async () => {
  /* The first init decides the build; it is refused (batchSize 0), so a second one may run. */
  const report = "onError: function (e) { (window.errs = window.errs || []).push(e.code + ' ' + e.message); }";
  const { page, fetched } = await open("lite-later", init(`{ endpoint: "/v1/batch", batchSize: 0, ${report} }`) + tag);
  assert.equal(await page.evaluate(() => window.shoptrail.ready()), false, "the first init was refused");
  await page.evaluate((report) => window.shoptrail.init(eval(`({ endpoint: "/v1/batch", bots: "allow", hashPii: true, ${report} })`)), report);
  const errs = await until(() => page.evaluate(() => window.errs && window.errs.length > 1 && window.errs), 5000, "the second refusal reported");
  assert.match(errs[0], /^invalid_config init: option `batchSize`/);
  assert.match(errs[1], /^invalid_config init: option `hashPii` is not in this build of shoptrail/);
  assert.deepEqual(fetched, ["shoptrail-lite.wasm"]);
  await page.close();
});
