// The npm package as a consumer gets it: `npm pack` of pkg/, installed into a Vite app (which
// imports `shoptrail`) and a webpack app (which imports `shoptrail/lite`, the build without the
// optional options), built by each bundler, loaded in Chromium, delivering to the collector.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { launch, events, until, tempDir, startCollector } from "../lib.mjs";

const root = process.env.SHOPTRAIL_ROOT || join(import.meta.dirname, "../..");
const pkgDir = join(root, "pkg");
const APPS = [
  { name: "vite", event: "Vite App Loaded", tool: "vite", tracker: "shoptrail_bg.wasm" },
  { name: "webpack", event: "Webpack App Loaded", tool: "webpack", tracker: "lite/shoptrail_bg.wasm" },
].map((a) => ({ ...a, dir: join(root, "e2e/apps", a.name) }));

/** Runs a command; on failure the error carries its output. */
async function sh(file, args, cwd) {
  try {
    return (await promisify(execFile)(file, args, { cwd, maxBuffer: 64 << 20 })).stdout;
  } catch (e) {
    throw new Error(`${file} ${args.join(" ")} (in ${cwd}) failed:\n${e.stdout}\n${e.stderr}`);
  }
}

let tmp, manifest, packed, tarball, collector, browser;
before(async () => {
  tmp = tempDir();
  manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  [packed] = JSON.parse(await sh("npm", ["pack", pkgDir, "--pack-destination", tmp.dir, "--json"], root));
  tarball = join(tmp.dir, packed.filename);

  // Install the tarball into each app without touching its package.json or lock (the
  // tarball's integrity changes with every build, which `npm ci` would reject), then build.
  await Promise.all(APPS.map(async (app) => {
    if (!existsSync(join(app.dir, "node_modules/.bin", app.tool))) {
      throw new Error(`${app.dir}: no node_modules; run \`cargo xtask setup\` (npm ci)`);
    }
    const saved = ["package.json", "package-lock.json"].map((f) => readFileSync(join(app.dir, f), "utf8"));
    await sh("npm", ["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
      "--loglevel=error", tarball], app.dir);
    const now = ["package.json", "package-lock.json"].map((f) => readFileSync(join(app.dir, f), "utf8"));
    assert.deepEqual(now, saved, `${app.name}: installing the tarball changed package.json or the lock`);
    const installed = JSON.parse(readFileSync(join(app.dir, "node_modules/shoptrail/package.json"), "utf8"));
    assert.equal(installed.version, manifest.version);
    await sh("npm", ["run", "build", "--silent"], app.dir);
    assert.ok(existsSync(join(app.dir, "dist/index.html")), `${app.name}: build wrote dist/index.html`);
  }));

  collector = await startCollector({
    db: join(tmp.dir, "npm.db"),
    statics: APPS.map((a) => `/${a.name}=${join(a.dir, "dist")}`),
  });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await collector?.stop();
  tmp?.cleanup();
});

test("the tarball holds exactly the files package.json lists", () => {
  const inTarball = new Set(packed.files.map((f) => f.path));
  // `files` names files, and directories (ending in "/") whose whole content is packed: the
  // JavaScript host sits in wasm-bindgen's snippets/<crate-hash>/ beside each glue.
  const dirs = manifest.files.filter((f) => f.endsWith("/"));
  const expected = new Set([...manifest.files.filter((f) => !f.endsWith("/")), "package.json"]);
  for (const d of dirs) {
    const inside = [...inTarball].filter((f) => f.startsWith(d));
    assert.ok(inside.some((f) => f.endsWith("/js/host.js")), `${d} holds the JavaScript host`);
    inside.forEach((f) => expected.add(f));
  }
  assert.deepEqual([...inTarball].sort(), [...expected].sort(), "no missing and no stray files");

  // The listing is what the tarball really holds.
  const listed = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n")
    .filter((p) => p && !p.endsWith("/")).map((p) => p.replace(/^package\//, ""));
  assert.deepEqual(listed.sort(), [...inTarball].sort());

  // Every entry point package.json names is in it.
  const targets = [manifest.main, manifest.module, manifest.types,
    ...Object.values(manifest.exports).flatMap((v) => (typeof v === "string" ? [v] : Object.values(v)))];
  for (const t of targets) assert.ok(inTarball.has(t.replace(/^\.\//, "")), `${t} is packed`);
});

for (const app of APPS) {
  test(`${app.name}: the bundled package initialises, flushes, delivers "${app.event}" and loads the engage chunk for a campaign and the consent chunk for consent.gcm`, async () => {
    const page = await browser.context.newPage();
    const problems = [];
    const wasm = [];
    page.on("request", (r) => r.url().endsWith(".wasm") && wasm.push(new URL(r.url()).pathname));
    const sizes = [];
    page.on("response", (r) => r.url().endsWith(".wasm") && r.body().then((b) => sizes.push(b.length), () => {}));
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("response", (r) => r.status() >= 400 && !r.url().endsWith("/favicon.ico")
      && problems.push(`HTTP ${r.status()}: ${r.url()}`));
    try {
      await page.goto(`${collector.url}/${app.name}/`);
      const text = await page
        .waitForFunction(() => document.getElementById("result")?.textContent, null, { timeout: 15000 })
        .then((h) => h.jsonValue())
        .catch((e) => { throw new Error(`${app.name}: no result in the page (${e.message})\n${problems.join("\n")}`); });
      const result = JSON.parse(text);
      assert.deepEqual(result.errors, [], "no onError reports");
      assert.equal(result.flushed, true, "flush() resolved true");
      // The campaign loaded the engage module, a second wasm, and its popup showed.
      // (One campaign id per app: the apps share an origin, so their frequency caps.)
      assert.deepEqual(result.popup, { campaign_id: `welcome-${app.name}`, trigger: "time_on_page" });
      // consent.gcm imported the consent adapters' chunk, which told the page's gtag the choice
      // (an opt-out site: everything granted).
      const granted = { ad_storage: "granted", ad_user_data: "granted", ad_personalization: "granted", analytics_storage: "granted" };
      assert.deepEqual(result.gcm, ["consent", "default", granted]);
      // (webpack names its files by hash alone.)
      assert.equal(new Set(wasm).size, 2, wasm.join());
      // The tracker's wasm is the build the app imported (the bundlers copy it unchanged).
      const tracker = readFileSync(join(pkgDir, app.tracker)).length;
      await until(() => sizes.length === 2, 5000, "both wasm bodies read");
      assert.ok(sizes.includes(tracker), `${app.tracker} (${tracker} B) among ${sizes.join(", ")}`);
      assert.match(result.anonymousId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

      const [ev] = await until(async () => {
        const e = await events(collector.url, { event: app.event, anonymousId: result.anonymousId });
        return e.length > 0 && e;
      }, 5000, app.event);
      assert.equal(ev.type, "track");
      assert.equal(ev.properties.bundler, app.name);
      assert.equal(ev.context.library.name, "shoptrail");
      assert.equal(ev.context.library.version, manifest.version);
      assert.equal(ev.context.page.path, `/${app.name}/`);
      assert.deepEqual(problems.filter((p) => !p.startsWith("console: Failed to load resource")), [],
        "no page errors or failed requests (besides the favicon)");
    } finally {
      await page.close();
    }
  });

  test(`${app.name}: after a refused init, ready() and flush() settle false and onError says why`, async () => {
    const page = await browser.context.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    try {
      for (const [why, message] of [["option", /`batchsize`.*batchSize/], ["endpoint", /`endpoint`.*https/]]) {
        await page.goto(`${collector.url}/${app.name}/?refused=${why}`);
        const text = await page
          .waitForFunction(() => document.getElementById("result")?.textContent, null, { timeout: 15000 })
          .then((h) => h.jsonValue());
        const result = JSON.parse(text);
        assert.equal(result.ready, false, `${why}: ready() settled false`);
        assert.equal(result.flushed, false, `${why}: flush() settled false`);
        assert.equal(result.anonymousId, null, `${why}: the SDK stayed inert`);
        assert.equal(result.errors.length, 1, `${why}: ${result.errors}`);
        assert.match(result.errors[0], /^invalid_config: /);
        assert.match(result.errors[0], message);
      }
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });
}

test("under Node (SSR, test runners) both entries import and do nothing", async () => {
  const script = `
    const a = await import("shoptrail");
    const b = await import("shoptrail/web");
    a.init({ endpoint: "/v1/batch" }); a.track("Server Side");
    console.log(JSON.stringify([await a.flush(), a.anonymousId() ?? null, typeof b.track, await b.flush()]));`;
  const out = await sh("node", ["--input-type=module", "-e", script], APPS[0].dir);
  assert.deepEqual(JSON.parse(out.trim()), [false, null, "function", false]);
});
