// The NPS question as popup content, in Chromium: eleven choices 0-10 as one radio group that
// works by keyboard and by pointer, the submit button enabled once a score is chosen, the
// comment sent as text (never markup), NPS Submitted and Popup Converted once, and a shopper
// who answered is not asked again. On a 360 px phone the choices fit on one row. The demo
// store asks on its order confirmation page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, events, until, ax, dialog, focused, exitTop, boxes, clickAx, launchMobile, fillCheckout, forgetShopper, fakeClock, advance, watchListeners, engaged } from "../lib.mjs";

const ctx = suite("nps");

/** Opens the engage fixture with the campaigns of `query` for a new shopper (storage cleared). */
async function open(page, query) {
  await fakeClock(page.context());
  // The dialog is in place at once (its CSS honours prefers-reduced-motion), so a click lands
  // where the accessibility tree says, with no wait for an entrance.
  await page.emulateMedia({ reducedMotion: "reduce" });
  await forgetShopper(page, ctx.collector.url);
  await page.goto(`${ctx.collector.url}/fixtures/engage.html?${query}`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  await page.evaluate(() => window.shoptrail.ready());
}

const popups = (page) => page.evaluate(() => window.popups.map((p) => [p[0], p[1].how || ""]));

async function stored(aid, pred, what) {
  return until(async () => {
    const e = await events(ctx.collector.url, { anonymousId: aid });
    return pred(e) && e;
  }, 10000, what);
}

const radios = async (page) => (await ax(page)).filter((n) => n.role === "radio");
const button = async (page, name) => (await ax(page)).find((n) => n.role === "button" && n.name === name);

test("keyboard: 0-10 as one radio group, 9 by the arrow keys, a comment, Send; stored once, not asked again", async () => {
  const page = await ctx.browser.context.newPage();
  // The invalid campaign's report says the module has started: its clock (time on the page)
  // may then be moved on instead of waited for.
  await open(page, "c=nps,bad");
  await until(() => page.evaluate(() => window.errors.length > 0), 5000, "the engage module");
  await page.mouse.move(640, 300);
  await advance(page, 1200);
  await exitTop(page);
  const d = await until(() => dialog(page), 3000, "the NPS popup");
  assert.equal(d.name, "How likely are you to recommend us?");
  const tree = await ax(page);
  const group = tree.find((n) => n.role === "radiogroup");
  assert.equal(group?.name, "How likely are you to recommend us?", "the headline names the group");
  const choices = await radios(page);
  assert.deepEqual(choices.map((n) => n.name), ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
  assert.equal(choices[0].description, "Not likely");
  assert.equal(choices[10].description, "Very likely");
  assert.ok(choices.every((n) => n.props.checked === "false"), "nothing chosen");
  assert.equal((await button(page, "Send")).props.disabled, true, "Send waits for a score");
  // Focus starts on the first choice; Enter without a score submits nothing.
  const first = await focused(page);
  assert.deepEqual([first.role, first.name], ["radio", "0"]);
  await page.keyboard.press("Enter");
  // flush() hands over every waiting call: a conversion would have reached the listeners.
  await page.evaluate(() => window.shoptrail.flush());
  assert.ok(await dialog(page), "still open");
  assert.deepEqual(await popups(page), [["popup:shown", ""]]);
  // Tab leaves the group; with Send disabled it wraps to the close button, Shift+Tab returns.
  await page.keyboard.press("Tab");
  assert.equal((await focused(page)).name, "What is the main reason?");
  await page.keyboard.press("Tab");
  assert.equal((await focused(page)).name, "Close", "focus stays in the dialog");
  await page.keyboard.press("Tab");
  assert.equal((await focused(page)).role, "radio");
  // The arrow keys move and choose: nine steps right from 0 is 9.
  for (let i = 0; i < 9; i++) await page.keyboard.press("ArrowRight");
  const picked = (await radios(page)).filter((n) => n.props.checked === "true").map((n) => n.name);
  assert.deepEqual(picked, ["9"]);
  assert.deepEqual([(await focused(page)).name], ["9"]);
  assert.equal((await button(page, "Send")).props.disabled, undefined, "Send is enabled");
  await page.keyboard.press("Tab");
  assert.equal((await focused(page)).role, "textbox");
  await page.keyboard.type("  Fast delivery and friendly help.  ");
  await page.keyboard.press("Tab");
  assert.equal((await focused(page)).name, "Send");
  await page.keyboard.press("Enter");
  await until(async () => (await ax(page)).some((n) => n.name === "Thank you for your answer!"), 2000, "the thank-you line");
  assert.equal((await focused(page)).role, "status", "the thank-you line has focus");
  assert.equal((await radios(page)).length, 0, "the question is replaced");
  await until(async () => (await popups(page)).length === 2, 2000, "popup:converted");
  assert.deepEqual(await popups(page), [["popup:shown", ""], ["popup:converted", "nps"]]);
  await page.keyboard.press("Escape");
  await until(async () => !(await dialog(page)), 2000, "the popup to close");
  assert.equal(await page.evaluate(() => window.popups.length), 2, "closing after answering is no dismissal");

  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  await page.evaluate(() => window.shoptrail.flush());
  const evs = await stored(aid, (e) => e.some((x) => x.event === "NPS Submitted"), "NPS Submitted");
  const answers = evs.filter((e) => e.event === "NPS Submitted");
  assert.equal(answers.length, 1);
  assert.deepEqual(answers[0].properties,
    { campaign_id: "nps", trigger: "exit_top", score: 9, comment: "Fast delivery and friendly help." });
  const converted = evs.filter((e) => e.event === "Popup Converted");
  assert.equal(converted.length, 1);
  assert.deepEqual(converted[0].properties, { campaign_id: "nps", trigger: "exit_top", how: "nps" });
  assert.equal(evs.filter((e) => e.event === "Popup Dismissed").length, 0);

  // The same shopper, a new page view, another exit: the campaign does not ask again.
  await page.reload();
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  await until(() => page.evaluate(() => window.errors.length > 0), 5000, "the engage module");
  await page.mouse.move(640, 300);
  await advance(page, 1300);
  await exitTop(page);
  await advance(page, 800);
  assert.equal(await dialog(page), undefined, "answered: not asked again");
  await page.close();
});

test("pointer: a score is clicked; markup in the comment and in the shop's texts stays text", async () => {
  const page = await ctx.browser.context.newPage();
  await open(page, "c=");
  await page.evaluate(() => window.shoptrail.identify({ first_name: "<img src=x onerror=window.pwned=10>" }));
  await page.evaluate(() => window.shoptrail.flush());
  // The same shopper (storage kept) on a page with the campaign.
  await page.goto(`${ctx.collector.url}/fixtures/engage.html?c=npsxss`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  const d = await until(() => dialog(page), 5000, "the NPS popup");
  assert.equal(d.name, "Recommend us, <img src=x onerror=window.pwned=10>?");
  const choices = await radios(page);
  assert.equal(choices[0].description, "<img src=x onerror=window.pwned=11>");
  assert.equal(choices[10].description, "<b onmouseover=window.pwned=12>Yes</b>");
  // Defaults: the comment's label and the submit button's.
  assert.ok((await ax(page)).some((n) => n.role === "textbox" && n.name === "What is the main reason for your score?"));
  await clickAx(page, "radio", "7");
  await clickAx(page, "radio", "10");
  const picked = (await radios(page)).filter((n) => n.props.checked === "true").map((n) => n.name);
  assert.deepEqual(picked, ["10"], "one choice at a time");
  const comment = "<img src=x onerror=window.pwned=13> & <script>window.pwned=14</script>";
  await clickAx(page, "textbox", "What is the main reason for your score?");
  await page.keyboard.type(comment);
  const box = (await ax(page)).find((n) => n.role === "textbox" && n.name === "What is the main reason for your score?");
  assert.equal(box.value, comment, "the comment shows as typed");
  await page.mouse.move(200, 200);
  await clickAx(page, "button", "Send");
  await until(async () => (await ax(page)).some((n) => n.name === "Thank you!"), 2000, "the default thank-you line");
  // No element was made of the comment (checked below), so no handler of it can ever run.
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal((await ax(page)).filter((n) => n.role === "image" || n.role === "img").length, 0, "no image was made");
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  await page.evaluate(() => window.shoptrail.flush());
  const evs = await stored(aid, (e) => e.some((x) => x.event === "NPS Submitted"), "NPS Submitted");
  const answer = evs.find((e) => e.event === "NPS Submitted").properties;
  assert.deepEqual(answer, { campaign_id: "nps-xss", trigger: "time_on_page", score: 10, comment });
  await page.close();
});

test("the comment keeps 1,000 characters at most", async () => {
  const page = await ctx.browser.context.newPage();
  await open(page, "c=npsxss");
  await until(() => dialog(page), 5000, "the NPS popup");
  await clickAx(page, "radio", "6");
  await clickAx(page, "textbox", "What is the main reason for your score?");
  await page.keyboard.insertText("é".repeat(1200));
  await clickAx(page, "button", "Send");
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  await until(async () => (await ax(page)).some((n) => n.name === "Thank you!"), 2000, "the thank-you line");
  await page.evaluate(() => window.shoptrail.flush());
  const evs = await stored(aid, (e) => e.some((x) => x.event === "NPS Submitted"), "NPS Submitted");
  const answer = evs.find((e) => e.event === "NPS Submitted").properties;
  assert.equal(answer.score, 6);
  assert.equal(answer.comment, "é".repeat(1000));
  await page.close();
});

test("a 360 px phone: eleven choices on one row inside the sheet; 0 is a score; a blank comment is none", async () => {
  const mobile = await launchMobile();
  try {
    const page = await mobile.context.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    await open(page, "c=npsxss");
    await until(() => dialog(page), 5000, "the NPS popup");
    const b = await boxes(page, "radio");
    assert.equal(b.length, 11);
    assert.equal(new Set(b.map((x) => Math.round(x.y))).size, 1, `one row: ${JSON.stringify(b)}`);
    assert.ok(b[0].x >= 0 && b[10].x + b[10].width <= 360, `inside the screen: ${JSON.stringify(b)}`);
    assert.ok(b.every((x) => x.width >= 24 && x.height >= 24), `24 px targets at least: ${JSON.stringify(b)}`);
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 360, "no sideways scroll");
    await page.touchscreen.tap(b[0].x + b[0].width / 2, b[0].y + b[0].height / 2);
    await clickAx(page, "textbox", "What is the main reason for your score?");
    await page.keyboard.type("   ");
    await clickAx(page, "button", "Send");
    await until(async () => (await ax(page)).some((n) => n.name === "Thank you!"), 2000, "the thank-you line");
    const aid = await page.evaluate(() => window.shoptrail.anonymousId());
    await page.evaluate(() => window.shoptrail.flush());
    const evs = await stored(aid, (e) => e.some((x) => x.event === "NPS Submitted"), "NPS Submitted");
    const answer = evs.find((e) => e.event === "NPS Submitted").properties;
    assert.deepEqual(answer, { campaign_id: "nps-xss", trigger: "time_on_page", score: 0 });
  } finally {
    await mobile.close();
  }
});

test("the demo store asks the question on its order confirmation page, a few seconds in", async () => {
  const page = await ctx.browser.context.newPage();
  await fakeClock(page.context());
  await page.emulateMedia({ reducedMotion: "reduce" });
  await watchListeners(page);
  await forgetShopper(page, ctx.collector.url);
  await page.goto(`${ctx.collector.url}/`);
  const badge = page.locator('[data-testid="cart-count"]');
  await page.locator('[data-testid="product-card"][data-product-id="nw-001"] [data-testid="add-to-cart"]').click();
  await badge.filter({ hasText: /^1$/ }).waitFor();
  await Promise.all([page.waitForURL("**/cart.html"), page.locator("a.cart-link").click()]);
  await Promise.all([page.waitForURL("**/checkout.html"), page.locator('[data-testid="checkout"]').click()]);
  await fillCheckout(page, "nps@example.com");
  await Promise.all([page.waitForURL("**/confirmation.html?order=*"), page.click('[data-testid="place-order"]')]);
  await page.evaluate(() => window.shoptrail.ready());
  // Time on the confirmation page is moved on once the module listens, not waited for.
  await engaged(page);
  await advance(page, 3000);
  assert.equal(await dialog(page), undefined, "not at once: the shopper reads the confirmation first");
  await advance(page, 5500);
  const d = await until(() => dialog(page), 5000, "the NPS popup after 8 s");
  assert.equal(d.name, "How likely are you to recommend Northwind to a friend?");
  assert.equal((await radios(page)).length, 11);
  await clickAx(page, "radio", "8");
  await clickAx(page, "button", "Send");
  await until(async () => (await ax(page)).some((n) => n.name === "Thank you! Your answer helps us improve."), 2000, "the thank-you line");
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  await page.evaluate(() => window.shoptrail.flush());
  const evs = await stored(aid, (e) => e.some((x) => x.event === "NPS Submitted"), "NPS Submitted");
  assert.deepEqual(evs.find((e) => e.event === "NPS Submitted").properties,
    { campaign_id: "nps-after-order", trigger: "time_on_page", score: 8 });
  await page.close();
});
