// One shopper on two devices: device A browses, fills a cart and signs up with an email while
// anonymous; an email link with a link token for that address opens on device B, where the
// shopper logs in. The collector returns one profile with both devices, A's cart and the whole
// timeline. After reset() on B, a second shopper logs in there and stays a separate profile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, events, until, launch } from "../lib.mjs";

const ADMIN = "e2e-admin-token-0123456789";
const ctx = suite("devices", { adminToken: ADMIN });

async function admin(path, init = {}) {
  const r = await fetch(`${ctx.collector.url}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json", ...(init.headers || {}) },
  });
  return { status: r.status, body: await r.json() };
}

async function ready(page) {
  await page.waitForFunction(() => window.shoptrail && window.shoptrail.loaded === true);
}

test("two devices, an email link and a login make one profile; a second shopper stays apart", async () => {
  const deviceA = ctx.browser.context;
  const b = await launch();
  try {
    // Device A: anonymous browsing, a cart, a newsletter sign-up with an email.
    const a = await deviceA.newPage();
    await a.goto(`${ctx.collector.url}/fixtures/shop.html`);
    await ready(a);
    const aidA = await a.evaluate(() => window.shoptrail.anonymousId());
    await a.evaluate(() => {
      window.shoptrail.cart.add({ product_id: "mug", name: "Camp Mug", price: 24 }, 2);
      window.shoptrail.identify({ email: "Ada@Example.com" });
    });
    assert.equal(await a.evaluate(() => window.shoptrail.flush()), true);

    // The shop's email system asks for a token for that address and links to the cart.
    const issued = await admin("/v1/link-tokens", {
      method: "POST", body: JSON.stringify({ email: "ada@example.com", channel: "email", campaign: "cart-reminder" }),
    });
    assert.equal(issued.status, 201);
    const token = issued.body.token;

    // Device B opens the link, then logs in.
    const pageB = await b.context.newPage();
    await pageB.goto(`${ctx.collector.url}/fixtures/shop.html?utm_medium=email&st_lt=${token}`);
    await ready(pageB);
    await until(() => !pageB.url().includes("st_lt"), 3000, "the token gone from the address bar");
    const aidB = await pageB.evaluate(() => window.shoptrail.anonymousId());
    await pageB.evaluate(() => window.shoptrail.identify("ada-1", { first_name: "Ada" }));
    assert.equal(await pageB.evaluate(() => window.shoptrail.flush()), true);

    const profile = await until(async () => {
      const r = await admin("/v1/profiles/ada-1");
      return r.status === 200 && r.body.ids.anonymousIds.length === 2 && r.body;
    }, 10000, "one profile with both devices");
    assert.deepEqual([...profile.ids.anonymousIds].sort(), [aidA, aidB].sort());
    assert.equal(profile.devices.length, 2);
    assert.equal(profile.cart.products[0]?.product_id, "mug", JSON.stringify(profile.cart));
    assert.equal(profile.cart.products[0].quantity, 2);
    assert.equal(profile.traits.first_name, "Ada");
    assert.ok(profile.channels.includes("email"));
    const timelineDevices = new Set(profile.timeline.map((e) => e.anonymousId));
    assert.deepEqual([...timelineDevices].sort(), [aidA, aidB].sort(), "the timeline spans both devices");
    assert.ok(profile.timeline.some((e) => e.event === "Product Added" && e.anonymousId === aidA), "A's cart, from before the login");

    // The collector's live page shows the person behind an event.
    const live = await deviceA.newPage();
    await live.goto(`${ctx.collector.url}/_shoptrail/`);
    await live.fill("#admin", ADMIN);
    await live.locator("#admin").dispatchEvent("change");
    await live.locator(".row", { hasText: "ada-1" }).first().click();
    await live.getByRole("button", { name: "Show the person" }).click();
    await live.locator("#person", { hasText: `device ${aidB}` }).waitFor({ timeout: 5000 });
    const panel = await live.locator("#person").innerText();
    assert.ok(panel.includes(`device ${aidA}`) && panel.includes("user ada-1"), panel);
    assert.ok(panel.includes("2 × Camp Mug"), panel);
    await live.close();

    // A second shopper on device B: reset, then another login.
    await pageB.evaluate(() => {
      window.shoptrail.reset();
      window.shoptrail.identify("bob-2", { first_name: "Bob" });
    });
    assert.equal(await pageB.evaluate(() => window.shoptrail.flush()), true);
    const bob = await until(async () => {
      const r = await admin("/v1/profiles/bob-2");
      return r.status === 200 && r.body;
    }, 10000, "the second shopper's profile");
    assert.equal(bob.ids.anonymousIds.length, 1);
    assert.ok(!bob.ids.anonymousIds.includes(aidB) && !bob.ids.anonymousIds.includes(aidA));
    const ada = (await admin("/v1/profiles/ada-1")).body;
    assert.deepEqual([...ada.ids.anonymousIds].sort(), [aidA, aidB].sort(), "Ada's profile is unchanged");
    assert.deepEqual((await admin("/v1/identity/conflicts")).body.conflicts, []);

    // No reported URL on either device holds the token or st_x.
    for (const aid of [aidA, aidB, bob.ids.anonymousIds[0]]) {
      const evs = await events(ctx.collector.url, { anonymousId: aid });
      const text = JSON.stringify(evs.map((e) => ({ ...e, context: { ...e.context, linkToken: undefined } })));
      assert.ok(!text.includes(token) && !text.includes("st_x"), `a URL of ${aid} holds a link parameter`);
    }
  } finally {
    await b.close();
  }
});
