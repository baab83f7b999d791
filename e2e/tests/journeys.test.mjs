// Journeys end to end: a shopper signs up in a real browser, the collector (started with
// --journeys) POSTs the welcome step to a real webhook server, and the signature verifies with
// the very snippet collector/README.md documents; a shopper who withdraws consent in the page
// has their pending cart reminder cancelled, and it never reaches the webhook.
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

/** collector/README.md's Node verification snippet, as a module. */
async function readmeVerifier(dir) {
  const readme = readFileSync(join(import.meta.dirname, "../../collector/README.md"), "utf8");
  const m = readme.match(/<!-- verify-node -->\s*```js\n([\s\S]*?)```/);
  assert.ok(m, "collector/README.md has the verify-node snippet");
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

[[journey]]
id = "abandoned_cart"
trigger = "abandoned_cart"
  [[journey.step]]
  name = "reminder"
  after = "4s"
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
  // One call: the step is never sent twice (delivered at its first attempt, a final state).
  assert.equal(byStep.welcome.attempts, 1);
  assert.equal(ctx.calls.filter((c) => JSON.parse(c.body).journey === "welcome").length, 1);
  await page.close();
});

/** A shopper (a browser of their own) on the consent fixture who accepts everything, leaves
 * `email` and a cart; returns their page and anonymous id once the collector has the events. */
async function cartShopper(email) {
  const browser = await launch();
  const page = await browser.context.newPage();
  await page.goto(`${ctx.collector.url}/fixtures/consent.html`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  await page.click("#consent-all");
  const aid = await page.evaluate(async (email) => {
    window.shoptrail.identify({ email });
    window.shoptrail.cart.add({ product_id: "sku-1", name: "Mug", price: 12, quantity: 1 });
    await window.shoptrail.flush();
    return window.shoptrail.anonymousId();
  }, email);
  return { browser, page, aid };
}

async function deliveries() {
  const r = await fetch(`${ctx.collector.url}/v1/journeys/deliveries?journey=abandoned_cart`,
    { headers: { Authorization: `Bearer ${ADMIN}` } });
  assert.equal(r.status, 200);
  return (await r.json()).deliveries;
}

test("a withdrawal in the page cancels the shopper's pending cart reminder; it is never sent", async () => {
  // Two shoppers with a reminder due in 4 s; one withdraws (what the fixture's "Withdraw
  // consent" button calls; the cart's popup covers the button).
  const stays = await cartShopper("stays@example.com");
  const leaves = await cartShopper("leaves@example.com");
  await until(async () => (await deliveries()).filter((d) => d.status === "scheduled").length === 2,
    10000, "both reminders scheduled");
  await leaves.page.evaluate(() => window.shoptrail.consent.revoke());

  const cancelled = await until(async () => (await deliveries()).find(
    (d) => d.anonymousId === leaves.aid && d.status === "cancelled"), 10000, "the withdrawn reminder cancelled");
  assert.equal(cancelled.reason, "the shopper withdrew marketing consent");

  // The other shopper's reminder, due at the same time, arrives: by then the withdrawn one
  // would have too.
  const reminders = () => ctx.calls.map((c) => JSON.parse(c.body)).filter((p) => p.journey === "abandoned_cart");
  await until(() => reminders().some((p) => p.profile.anonymousIds.includes(stays.aid)), 20000,
    "the other shopper's reminder at the webhook");
  await until(async () => (await deliveries()).find((d) => d.anonymousId === stays.aid)?.status === "delivered",
    10000, "the other reminder delivered");
  assert.ok(!reminders().some((p) => p.profile.anonymousIds.includes(leaves.aid)), "no reminder for the shopper who withdrew");
  assert.equal((await deliveries()).find((d) => d.anonymousId === leaves.aid).status, "cancelled");
  await stays.browser.close();
  await leaves.browser.close();
});
