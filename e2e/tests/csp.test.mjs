// A strict Content-Security-Policy, as a careful shop sets it:
//   default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'
// The demo store's whole funnel and a page with a popup run under it with no violation (the
// browser's reports are collected by the server and must stay empty): no eval, no inline
// script or style, the wasm compiled as the policy allows, events delivered.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { suite, events, until, ax, fillCheckout } from "../lib.mjs";

const ctx = suite("csp");
const POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; report-uri /csp-report";
let server;
let base;
const reports = [];

/** The collector behind a server that adds the policy to every answer and keeps the reports. */
before(async () => {
  server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      if (req.url.startsWith("/csp-report")) {
        reports.push(Buffer.concat(chunks).toString("utf8"));
        res.writeHead(204);
        return res.end();
      }
      const target = new URL(ctx.collector.url);
      const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url,
        headers: { ...req.headers, host: target.host } }, (r) => {
        res.writeHead(r.statusCode, { ...r.headers, "content-security-policy": POLICY });
        r.pipe(res);
      });
      up.on("error", () => { res.writeHead(502); res.end(); });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }));

async function open(path) {
  const page = await ctx.browser.context.newPage();
  const seen = { violations: [], errors: [] };
  page.on("console", (m) => { if (/Content Security Policy|Refused to/.test(m.text())) seen.violations.push(m.text()); });
  page.on("pageerror", (e) => seen.errors.push(e.message));
  await page.goto(`${base}${path}`);
  return { page, seen };
}

/** Asserts the page broke the policy nowhere: it provokes one violation of its own (an inline
 * <style>, refused by style-src 'self'), waits until the console and the report endpoint have
 * it, and checks that nothing came before it (the browser reports in order). */
async function noViolation(page, seen) {
  await page.evaluate(() => {
    const s = document.createElement("style");
    s.textContent = "h1 { color: red }";
    document.head.append(s);
  });
  await until(() => seen.violations.length > 0 && reports.length > 0, 10000, "the page's own violation reported");
  assert.equal(seen.violations.length, 1, seen.violations.join("\n"));
  assert.match(seen.violations[0], /inline style/);
  assert.equal(reports.length, 1, reports.join("\n"));
  assert.match(reports[0], /style-src/);
  reports.length = 0;
  seen.violations.length = 0;
}

test("the demo store's funnel runs under the policy and its events arrive", async () => {
  const { page, seen } = await open("/");
  await page.waitForFunction(() => window.shoptrail && window.shoptrail.loaded === true);
  const badge = page.locator('[data-testid="cart-count"]');
  const card = (id) => page.locator(`[data-testid="product-card"][data-product-id="${id}"]`);
  await card("nw-001").locator('[data-testid="add-to-cart"]').click();
  await badge.filter({ hasText: /^1$/ }).waitFor();
  await Promise.all([page.waitForURL("**/cart.html"), page.locator("a.cart-link").click()]);
  await Promise.all([page.waitForURL("**/checkout.html"), page.locator('[data-testid="checkout"]').click()]);
  await fillCheckout(page, "csp@example.com");
  await Promise.all([page.waitForURL("**/confirmation.html?order=*"), page.click('[data-testid="place-order"]')]);
  // The confirmation page's SDK loads asynchronously: ask for the id once it has started.
  const aid = await page.evaluate(async () => { await window.shoptrail.ready(); return window.shoptrail.anonymousId(); });
  assert.match(aid, /^[0-9a-f-]{36}$/);
  const names = await until(async () => {
    const n = (await events(ctx.collector.url, { anonymousId: aid })).map((e) => e.event);
    return n.includes("Order Completed") && n;
  }, 15000, "the funnel events").catch(async (e) => {
    // Say what did arrive, and what the page saw, so that a failure explains itself.
    const got = (await events(ctx.collector.url, {})).map((x) => `${x.anonymousId} ${x.type} ${x.event || ""}`);
    throw new Error(`${e.message}; page ${aid}; stored: ${got.join(" | ")}; seen: ${JSON.stringify(seen)}`);
  });
  assert.ok(names.includes("Product Added") && names.includes("Checkout Started"), names.join());
  await noViolation(page, seen);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test("a popup shows, styled, under the policy", async () => {
  const { page, seen } = await open("/fixtures/csp-engage.html");
  const d = await until(async () => (await ax(page)).find((n) => n.role === "dialog"), 10000, "the popup");
  assert.equal(d.name, "Styled under CSP");
  // The stylesheet applied (a constructable sheet: no <style> element for the policy to block).
  const styled = await page.evaluate(() => {
    const host = [...document.body.children].find((e) => e.tagName !== "H1");
    return host ? getComputedStyle(host).position : "";
  });
  assert.equal(styled, "fixed");
  assert.deepEqual(await page.evaluate(() => window.errors), []);
  await noViolation(page, seen);
  assert.deepEqual(seen.errors, []);
  await page.close();
});
