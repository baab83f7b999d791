// The engage module in Chromium: loaded only on pages with campaigns, the popup on a real exit
// (the mouse leaving through the top; on a phone, a fast scroll up and a return to the tab),
// never on a misfire, a modal dialog in the accessibility tree that works by keyboard, text that
// stays text, and the events a shop measures with.
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, events, until, launchMobile, ax, dialog, focused, exitTop, forgetShopper, fakeClock, advance } from "../lib.mjs";

const ctx = suite("engage");

/** Opens the fixture with the campaigns of `query` for a new shopper (storage cleared). */
async function open(page, query) {
  // Time on the page (triggers arm after minTime) is moved on with `advance`, not waited for.
  await fakeClock(page.context());
  await forgetShopper(page, ctx.collector.url);
  const requests = [];
  page.on("request", (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(`${ctx.collector.url}/fixtures/engage.html?${query}`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  await page.evaluate(() => window.shoptrail.ready());
  return requests;
}

const popups = (page) => page.evaluate(() => window.popups.map((p) => [p[0], p[1].how || ""]));

/** Waits until the `popup:*` listeners have seen `expected` (they hear of each event as it is
 * queued, after the call that made it). */
async function popupsAre(page, expected) {
  await until(async () => JSON.stringify(await popups(page)) === JSON.stringify(expected), 3000,
    `popup events ${JSON.stringify(expected)}`).catch(async (e) => {
    assert.deepEqual(await popups(page), expected, e.message);
  });
}

async function stored(aid, pred, what) {
  return until(async () => {
    const e = await events(ctx.collector.url, { anonymousId: aid });
    return pred(e) && e;
  }, 10000, what);
}

test("a page without campaigns requests nothing of the engage module", async () => {
  const page = await ctx.browser.context.newPage();
  const requests = await open(page, "c=");
  await page.mouse.move(640, 300);
  await advance(page, 1500);
  await exitTop(page);
  await advance(page, 500);
  assert.deepEqual(requests.filter((p) => p.includes("shoptrail-engage")), []);
  assert.equal(await page.evaluate(() => !!document.querySelector("[data-shoptrail-popup]")), false);
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  await page.close();
});

test("leaving through the top shows the popup once; misfires do not; Escape dismisses and gives focus back", async () => {
  const page = await ctx.browser.context.newPage();
  const requests = await open(page, "c=exit,bad");
  await until(() => requests.some((p) => p.endsWith("shoptrail-engage.wasm")), 5000, "the engage module");
  await until(() => page.evaluate(() => window.errors.length > 0), 5000, "the invalid campaign's report");
  assert.deepEqual(await page.evaluate(() => window.errors),
    ["invalid_campaign: campaigns[1].trigger.sensitivity must be 10-100"]);
  await page.evaluate(() => window.shoptrail.cart.add({ product_id: "tea", name: "Green tea", price: 4.5 }, 2));
  // Too early (minTime 1 s), then out by the side, then with a field focused: nothing.
  await exitTop(page);
  await advance(page, 1200);
  for (const x of [400, 200, 60, 10]) await page.mouse.move(x, 400);
  await page.mouse.move(-5, 400);
  await page.mouse.move(300, 300);
  await page.focus("#search");
  await exitTop(page);
  await advance(page, 500);
  assert.equal(await dialog(page), undefined, "no popup on a misfire");
  await page.click("#outside");
  await exitTop(page);
  const d = await until(() => dialog(page), 3000, "the popup");
  assert.equal(d.name, "Wait, friend!");
  assert.equal(d.props.modal, true);
  const names = (await ax(page)).map((n) => n.name);
  assert.ok(names.includes("Your cart holds 2 items."), names.join("|"));
  assert.ok(names.includes("Green tea × 2"), names.join("|"));
  assert.equal((await focused(page)).name, "Back to my cart");
  await page.keyboard.press("Escape");
  await until(async () => !(await dialog(page)), 2000, "the popup to close");
  assert.equal((await focused(page)).name, "a button on the page", "focus returns");
  await popupsAre(page, [["popup:shown", ""], ["popup:dismissed", "escape"]]);
  // Once per page view, and the cap holds across a reload.
  await page.mouse.move(640, 300);
  await exitTop(page);
  await page.reload();
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  await page.mouse.move(640, 300);
  await advance(page, 1300);
  await exitTop(page);
  await advance(page, 600);
  assert.equal(await dialog(page), undefined, "not again after a dismissal");
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  await page.evaluate(() => window.shoptrail.flush());
  const evs = await stored(aid, (e) => e.some((x) => x.event === "Popup Dismissed"), "popup events");
  const shown = evs.filter((e) => e.event === "Popup Shown");
  assert.equal(shown.length, 1);
  assert.deepEqual(shown[0].properties, { campaign_id: "exit-offer", trigger: "exit_top" });
  assert.equal(evs.find((e) => e.event === "Popup Dismissed").properties.how, "escape");
  await page.close();
});

test("shutdown() removes the popup, the listeners and the history wrappers; what was tracked still arrives", async () => {
  const page = await ctx.browser.context.newPage();
  await open(page, "c=news");
  await until(() => dialog(page), 5000, "the popup");
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  await page.evaluate(() => {
    window.shoptrail.track("Before Shutdown", {});
    window.shoptrail.shutdown();
    window.shoptrail.track("After Shutdown", {});
  });
  assert.equal(await dialog(page), undefined, "the popup is gone");
  assert.equal(await page.evaluate(() => document.querySelectorAll("[data-shoptrail-popup]").length), 0);
  assert.equal(await page.evaluate(() => /native code/.test(history.pushState.toString())), true);
  // No more page views for in-app navigations.
  await page.evaluate(() => history.pushState({}, "", "/fixtures/engage.html?after=1"));
  await stored(aid, (e) => e.some((x) => x.event === "Before Shutdown"), "the event tracked before shutdown");
  // Stopped: flush() settles false at once, as nothing can leave; so nothing tracked after
  // shutdown is on its way.
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), false);
  const evs = await events(ctx.collector.url, { anonymousId: aid });
  assert.equal(evs.filter((e) => e.event === "After Shutdown").length, 0);
  assert.equal(evs.filter((e) => e.type === "page").length, 1);
  await page.close();
});

test("keyboard only: the focus stays in the dialog, the form validates next to the field and submits", async () => {
  const page = await ctx.browser.context.newPage();
  await open(page, "c=news");
  const d = await until(() => dialog(page), 5000, "the newsletter popup");
  assert.equal(d.name, "Join the list");
  assert.equal((await focused(page)).role, "textbox", "the email field has focus");
  await page.keyboard.type("not-an-email");
  await page.keyboard.press("Enter");
  const err = await until(async () => (await ax(page)).find((n) => n.name.startsWith("Enter an email address")), 2000, "the error");
  assert.ok(err);
  const field = (await focused(page));
  assert.equal(field.props.invalid, "true", JSON.stringify(field));
  // Tab from the last control wraps to the first (the close button), Shift+Tab back.
  for (let i = 0; i < 12; i++) await page.keyboard.press("Tab");
  assert.ok((await dialog(page)), "still open");
  const inside = new Set(["Close", "Email", "Phone", "City", "How often?", "Sign me up", "Send me text messages about offers. Reply STOP to opt out."]);
  const f = await focused(page);
  assert.ok(inside.has(f.name) || f.role === "checkbox" || f.role === "combobox", JSON.stringify(f));
  // Shift+Tab back to the email field.
  let guard = 0;
  while (!(await focused(page)).name.startsWith("Email") && guard++ < 12) await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("Ada@Example.com");
  await page.keyboard.press("Enter");
  await until(async () => (await ax(page)).some((n) => n.name === "You are on the list."), 2000, "the thank-you line");
  await popupsAre(page, [["popup:shown", ""], ["popup:converted", "form"]]);
  await page.keyboard.press("Escape");
  await until(async () => !(await dialog(page)), 2000, "the popup to close");
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  await page.evaluate(() => window.shoptrail.flush());
  const evs = await stored(aid, (e) => e.some((x) => x.event === "Signed Up"), "Signed Up");
  const ident = evs.find((e) => e.type === "identify");
  assert.equal(ident.traits.email, "ada@example.com");
  assert.equal(ident.traits.subscribed, true);
  assert.equal(ident.traits.email_frequency, "weekly");
  assert.equal(evs.filter((e) => e.event === "Popup Dismissed").length, 0, "closing after converting is not a dismissal");
  await page.close();
});

/** Fills the popup form's honeypot as a form-filling bot does: through the DevTools protocol,
 * which reaches into the closed shadow root (neither the keyboard nor page scripts can). */
async function fillHoneypot(page) {
  const cdp = await page.context().newCDPSession(page);
  const { root } = await cdp.send("DOM.getDocument", { depth: -1, pierce: true });
  const find = (n) => n.attributes && n.attributes.includes("hp") && n.nodeName === "INPUT" ? n
    : [...(n.children || []), ...(n.shadowRoots || [])].map(find).find(Boolean);
  const trap = find(root);
  assert.ok(trap, "the honeypot is in the form");
  const { object } = await cdp.send("DOM.resolveNode", { backendNodeId: trap.backendNodeId });
  await cdp.send("Runtime.callFunctionOn", { objectId: object.objectId, functionDeclaration: "function () { this.value = 'https://spam.example'; }" });
  await cdp.detach();
}

test("a form-filling bot: a filled honeypot or a submit sooner than 1 s is kept flagged, without the address", async () => {
  for (const [campaign, how] of [["news", "honeypot"], ["guard", "too_fast"]]) {
    const page = await ctx.browser.context.newPage();
    await forgetShopper(page, ctx.collector.url);
    await open(page, `c=${campaign}`);
    await until(() => dialog(page), 5000, "the popup");
    if (how === "honeypot") await fillHoneypot(page);
    // Focus starts in the email field; type and submit at once.
    await page.keyboard.type("bot@example.com");
    await page.keyboard.press("Enter");
    const aid = await page.evaluate(() => window.shoptrail.anonymousId());
    await page.evaluate(() => window.shoptrail.flush());
    const evs = await stored(aid, (e) => e.some((x) => x.event === "Signed Up"), "Signed Up");
    const signed = evs.find((e) => e.event === "Signed Up");
    assert.equal(signed.properties.spam, how);
    assert.deepEqual([signed.context.bot, signed.context.botReason], [true, "spam"], how);
    assert.equal(evs.filter((e) => e.type === "identify").length, 0, `${how}: the address joins nothing`);
    assert.ok(!JSON.stringify(evs).includes("bot@example.com"), `${how}: the address is not sent`);
    await page.close();
  }
});

test("merchant and shopper text stays text: an XSS corpus renders inert", async () => {
  const page = await ctx.browser.context.newPage();
  await open(page, "c=");
  await page.evaluate(() => {
    window.shoptrail.identify({ first_name: "<img src=x onerror=window.pwned=6>" });
    window.shoptrail.product.view({ product_id: "p1", name: "<script>window.pwned=7</script>", price: 1, image_url: "javascript:window.pwned=8" });
  });
  await page.evaluate(() => window.shoptrail.flush());
  // The same shopper (storage kept) on a page with the campaign.
  await page.goto(`${ctx.collector.url}/fixtures/engage.html?c=xss`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  const d = await until(() => dialog(page), 5000, "the popup");
  assert.equal(d.name, "<img src=x onerror=\"window.pwned=1\"><img src=x onerror=window.pwned=6>");
  const names = (await ax(page)).map((n) => n.name);
  for (const text of ["<script>window.pwned=2</script>", "<b onmouseover=window.pwned=3>X</b>", "<svg onload=window.pwned=4>", "<script>window.pwned=7</script>"]) {
    assert.ok(names.includes(text), `${text} in ${names.join("|")}`);
  }
  await page.mouse.move(300, 300);
  await advance(page, 300);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.evaluate(() => document.querySelectorAll("img,script:not([src]):not(:first-of-type),svg,b").length), 0);
  await page.close();
});

test("experiments: Experiment Viewed for control and variants alike; control sees nothing", async () => {
  const arms = [];
  for (let i = 0; i < 6; i++) {
    const page = await ctx.browser.context.newPage();
    // A new shopper each time: a fresh anonymous id.
    await open(page, "c=ab");
    const aid = await page.evaluate(() => {
      window.heard = [];
      window.shoptrail.on("event", (e) => window.heard.push(e.event));
      return window.shoptrail.anonymousId();
    });
    // The time trigger's clock runs once the module has started: moved on until the arm is
    // decided (Experiment Viewed is queued with the decision, for control too).
    await until(async () => {
      await advance(page, 200);
      return page.evaluate(() => window.heard.includes("Experiment Viewed"));
    }, 10000, "Experiment Viewed");
    const d = await dialog(page);
    await page.evaluate(() => window.shoptrail.flush());
    const evs = await stored(aid, (e) => e.some((x) => x.event === "Experiment Viewed"), "Experiment Viewed");
    const viewed = evs.find((e) => e.event === "Experiment Viewed").properties;
    assert.equal(viewed.experiment_id, "ab");
    // Weights 1, 1 and a control of 1: each arm's share, for the collector's sample-ratio check.
    assert.ok(Math.abs(viewed.allocation - 1 / 3) < 1e-9, String(viewed.allocation));
    if (viewed.variation_id === "control") assert.equal(d, undefined, "control sees nothing");
    else assert.equal(d.name, viewed.variation_id.toUpperCase());
    arms.push(viewed.variation_id);
    await page.close();
  }
  assert.ok(arms.every((a) => ["a", "b", "control"].includes(a)), arms.join());
});

test("targeting: the site that sent the shopper and the pages of the session", async () => {
  const page = await ctx.browser.context.newPage();
  const shop = `${ctx.collector.url}/fixtures/engage.html`;
  /** Loads the page (the same session until `forgetShopper`) from `referer`; resolves once the
   * module runs and the time trigger (0 s) has been decided. */
  const load = async (referer) => {
    await page.goto(`${shop}?c=referred,bad`, { referer });
    await until(() => page.evaluate(() => window.errors.length > 0), 5000, "the engage module");
    await advance(page, 500);
  };
  await fakeClock(page.context());
  await forgetShopper(page, ctx.collector.url);
  // From search: the session's first page is too early (pages.min 2)...
  await load("https://www.search.example/?q=tea");
  assert.equal(await dialog(page), undefined, "the session's first page");
  // ...the second, linked from the shop itself, is the second page of a session from search.
  await load(shop);
  const d = await until(() => dialog(page), 3000, "the popup on the second page");
  assert.equal(d.name, "Welcome from search");
  // A shopper who came direct never sees it.
  await forgetShopper(page, ctx.collector.url);
  await load(undefined);
  await load(shop);
  assert.equal(await dialog(page), undefined, "a direct visit");
  await page.close();
});

test("targeting: a product or a category in the cart, checked at each exit", async () => {
  const page = await ctx.browser.context.newPage();
  await open(page, "c=incart,bad");
  await until(() => page.evaluate(() => window.errors.length > 0), 5000, "the engage module");
  await page.evaluate(() => window.shoptrail.cart.add({ product_id: "mug-1", name: "Mug", category: "Kitchen", price: 12 }));
  await page.mouse.move(640, 300);
  await advance(page, 1500);
  await exitTop(page);
  await advance(page, 500);
  assert.equal(await dialog(page), undefined, "neither tea nor a gift");
  await page.evaluate(() => window.shoptrail.cart.add({ product_id: "vase-2", name: "Vase", category: "Gifts", price: 30 }));
  await page.mouse.move(640, 300);
  await exitTop(page);
  const d = await until(() => dialog(page), 3000, "the popup once a gift is in the cart");
  assert.equal(d.name, "Tea or a gift?");
  await page.close();
});

test("inactivity: fires once nothing happened for its seconds; each move restarts the wait", async () => {
  const page = await ctx.browser.context.newPage();
  // The invalid campaign's report says the module has started: the clock may move on.
  await open(page, "c=idle,bad");
  await until(() => page.evaluate(() => window.errors.length > 0), 5000, "the engage module");
  for (let i = 0; i < 3; i++) {
    await advance(page, 2000);
    await page.mouse.move(300 + i * 20, 300);
  }
  await advance(page, 2000);
  assert.equal(await dialog(page), undefined, "never 3 s without a move");
  await advance(page, 1200);
  const d = await until(() => dialog(page), 3000, "the popup after 3 s without activity");
  assert.equal(d.name, "Still there?");
  await popupsAre(page, [["popup:shown", ""]]);
  assert.equal(await page.evaluate(() => window.popups[0][1].trigger), "inactivity");
  await page.close();
});

test("phone: a fast scroll up after scrolling down, and the return to a tab hidden long enough", async () => {
  const mobile = await launchMobile();
  try {
    const page = await mobile.context.newPage();
    // The invalid campaign's report says the module has started: the clock may move on.
    await open(page, "c=mobile,bad");
    await until(() => page.evaluate(() => window.errors.length > 0), 5000, "the engage module");
    await page.mouse.wheel(0, 1200);
    await advance(page, 1300);
    assert.equal(await dialog(page), undefined);
    await page.mouse.wheel(0, -800);
    const d = await until(() => dialog(page), 3000, "the popup on scroll up");
    assert.equal(d.name, "Before you go");
    assert.deepEqual(await page.evaluate(() => window.popups[0][1].trigger), "scroll_up");
    await page.close();

    // Tab return. Headless Chromium does not hide a background tab, so the page is told it is
    // hidden the way a browser tells it: `document.hidden` and a visibilitychange event.
    const tab = await mobile.context.newPage();
    await open(tab, "c=mobile,bad&minTime=500");
    await until(() => tab.evaluate(() => window.errors.length > 0), 5000, "the engage module");
    await advance(tab, 800);
    const visibility = (hidden) => tab.evaluate((h) => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (h ? "hidden" : "visible") });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);
    await visibility(true);
    await advance(tab, 1300);
    assert.equal(await dialog(tab), undefined, "never while hidden");
    await visibility(false);
    await until(() => dialog(tab), 3000, "the popup on return");
    assert.equal(await tab.evaluate(() => window.popups[0][1].trigger), "tab_return");
  } finally {
    await mobile.close();
  }
});

test("a flick: one move from a pointer resting mid-page to above the top shows the popup", async () => {
  const page = await ctx.browser.context.newPage();
  await open(page, "c=exit,bad");
  // The invalid campaign's report says the module has started and listens.
  await until(() => page.evaluate(() => window.errors.length > 0), 5000, "the engage module");
  await page.mouse.move(640, 360, { steps: 3 });
  // Armed (minTime 1 s), the pointer resting well past the detector's motion window.
  await advance(page, 1200);
  await page.mouse.move(640, -20);
  const d = await until(() => dialog(page), 3000, "the popup");
  assert.equal(d.name, "Wait, friend!");
  assert.equal(await page.evaluate(() => window.popups[0][1].trigger), "exit_top");
  await page.close();
});
