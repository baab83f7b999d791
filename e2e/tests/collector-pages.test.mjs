// The collector's own pages show what shoppers and pages sent: every value stays text. Events
// whose name, ids, properties and traits are markup go through the live page's list, its
// detail view and the person panel; nothing runs, no element is injected, the text reads as
// it was sent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, ADMIN_TOKEN as ADMIN } from "../lib.mjs";

const ctx = suite("collector-pages");
const X = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`;

test("event values on the live page and the person panel are text, never markup", async () => {
  const page = await ctx.browser.context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("dialog", (d) => { pageErrors.push("dialog: " + d.message()); d.dismiss(); });
  await page.goto(`${ctx.collector.url}/_shoptrail/`);
  await page.fill("#admin", ADMIN);
  await page.locator("#admin").dispatchEvent("change");
  const now = new Date().toISOString();
  const base = { anonymousId: "anon-<b>x</b>", userId: "user-<svg onload=window.pwned=3>", timestamp: now };
  const r = await fetch(`${ctx.collector.url}/v1/batch`, {
    method: "POST",
    body: JSON.stringify({ batch: [
      { ...base, type: "identify", messageId: "m-xss-1", traits: { first_name: X, email: "<a href=javascript:window.pwned=4>e</a>" } },
      { ...base, type: "track", messageId: "m-xss-2", event: `Clicked ${X}`, properties: { [X]: X, nested: { html: X } } },
    ] }),
  });
  assert.equal(r.status, 200);
  const row = page.locator(".row", { hasText: "Clicked <img" }).first();
  await row.waitFor({ timeout: 10000 });
  assert.match(await row.innerText(), /Clicked <img src=x onerror="window.pwned=1"><script>/);
  await row.click();
  await page.getByRole("button", { name: "Show the person" }).click();
  // The panel fills in as the profile arrives: wait for the traits themselves.
  await page.locator("#person", { hasText: "user-<svg" }).waitFor({ timeout: 5000 });
  await page.waitForFunction((x) => document.querySelector("#person").innerText.includes(x), X, { timeout: 5000 });
  const shown = await page.evaluate(() => ({
    pwned: window.pwned,
    injected: document.querySelectorAll("#list img, #list script, #list svg, #person img, #person svg, #person a[href^=javascript]").length,
    person: document.querySelector("#person").innerText,
  }));
  assert.equal(shown.pwned, undefined);
  assert.equal(shown.injected, 0);
  assert.ok(shown.person.includes(X), shown.person);
  assert.deepEqual(pageErrors, []);
  await page.close();
});
