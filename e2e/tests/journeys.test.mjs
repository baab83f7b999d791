// Journeys end to end: a shopper signs up in a real browser, the collector (started with
// --journeys) POSTs the welcome step to a real webhook server, and the signature verifies with
// the very snippet README.md documents.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { launch, startCollector, tempDir, until } from "../lib.mjs";

const ADMIN = "e2e-admin-token-0123456789";
const SECRET = "whsec-e2e-0123456789abcdef";
const ctx = {};

/** The README's Node verification snippet, as a module. */
async function readmeVerifier(dir) {
  const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
  const m = readme.match(/<!-- verify-node -->\s*```js\n([\s\S]*?)```/);
  assert.ok(m, "README.md has the verify-node snippet");
  const file = join(dir, "verify.mjs");
  writeFileSync(file, m[1]);
  return (await import(pathToFileURL(file).href)).verifyShoptrail;
}

before(async () => {
  ctx.tmp = tempDir();
  ctx.calls = [];
  ctx.hook = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      ctx.calls.push({ headers: req.headers, body });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise((r) => ctx.hook.listen(0, "127.0.0.1", r));
  const file = join(ctx.tmp.dir, "journeys.toml");
  writeFileSync(file, `
[webhook]
url = "http://127.0.0.1:${ctx.hook.address().port}/hooks/shoptrail"
secret = "${SECRET}"

[[journey]]
id = "welcome"
trigger = "event"
event = "Signed Up"
  [[journey.step]]
  name = "welcome"
  after = "0s"
  [[journey.step]]
  name = "getting_started"
  after = "2d"
`);
  ctx.collector = await startCollector({ db: join(ctx.tmp.dir, "journeys.db"), adminToken: ADMIN, journeys: file });
  ctx.browser = await launch();
  ctx.verify = await readmeVerifier(ctx.tmp.dir);
});

after(async () => {
  await ctx.browser?.close();
  await ctx.collector?.stop();
  await new Promise((r) => ctx.hook?.close(r));
  ctx.tmp?.cleanup();
});

test("a sign-up in the browser reaches the webhook, signed as README.md documents", async () => {
  const page = await ctx.browser.context.newPage();
  await page.goto(`${ctx.collector.url}/fixtures/basic.html`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  const aid = await page.evaluate(async () => {
    window.shoptrail.identify({ email: "ada@example.com", firstName: "Ada" });
    window.shoptrail.track("Signed Up", { method: "footer" });
    await window.shoptrail.flush();
    return window.shoptrail.anonymousId();
  });

  await until(() => ctx.calls.length >= 1, 15000, "the welcome step at the webhook");
  const call = ctx.calls[0];
  const payload = JSON.parse(call.body);
  assert.equal(payload.journey, "welcome");
  assert.deepEqual(payload.step, { index: 1, name: "welcome", of: 2 });
  assert.equal(payload.profile.traits.email, "ada@example.com");
  assert.deepEqual(payload.profile.anonymousIds, [aid]);
  assert.equal(payload.profile.consent.marketing, true);
  assert.equal(payload.trigger.event, "Signed Up");
  assert.equal(payload.trigger.properties.method, "footer");
  assert.equal(call.headers["idempotency-key"], payload.id);

  const sig = call.headers["shoptrail-signature"];
  assert.match(sig, /^t=\d+,v1=[0-9a-f]{64}$/);
  assert.equal(ctx.verify(SECRET, sig, call.body), true, "verifies with the README snippet");
  assert.equal(ctx.verify(SECRET, sig, call.body.replace("ada@", "eve@")), false, "a changed body fails");
  assert.equal(ctx.verify("another-secret-0123456789", sig, call.body), false, "another secret fails");

  const res = await fetch(`${ctx.collector.url}/v1/journeys/deliveries?journey=welcome`, {
    headers: { Authorization: `Bearer ${ADMIN}` },
  });
  const { deliveries } = await res.json();
  const byStep = Object.fromEntries(deliveries.map((d) => [d.stepName, d]));
  assert.equal(byStep.welcome.status, "delivered");
  assert.equal(byStep.welcome.idempotencyKey, payload.id);
  assert.equal(byStep.getting_started.status, "scheduled");
  // One call: the step is never sent twice.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(ctx.calls.length, 1);
  await page.close();
});
