// A Shopify-shaped storefront, a stand-in for the platform, which cannot run here. It renders
// the app embed's own Liquid (shopify/extensions/shoptrail-embed/blocks/shoptrail.liquid) with
// liquidjs into a page's <head>, as Shopify renders an enabled app embed; it answers the AJAX
// Cart API (/cart.js, /cart/add.js, /cart/change.js, /cart/update.js, /cart/clear.js) with the
// requests and answers Shopify documents (shopify.dev/docs/api/ajax/reference/cart); it sets
// the discount cookie of /discount/CODE; and it defines `window.Shopify` with the Customer
// Privacy API's methods and `visitorConsentCollected` event, driven by a cookie the test sets.
// What it leaves out: themes' own markup, checkout (the web pixel stand-in feeds checkout events),
// sections, translations.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Liquid } from "liquidjs";

const root = join(import.meta.dirname, "..");
const EMBED = join(root, "shopify/extensions/shoptrail-embed");

/** The catalogue: products as Liquid's `product | json` gives them (prices in cents). */
export const PRODUCTS = [
  {
    id: 7001001, title: "Aviator sunglasses", handle: "aviator-sunglasses", vendor: "Sunny Co",
    type: "Accessories", price: 8999,
    variants: [
      { id: 4100101, title: "Gold", sku: "AV-GOLD", price: 8999 },
      { id: 4100102, title: "Silver", sku: "AV-SILVER", price: 8999 },
    ],
  },
  {
    id: 7001002, title: "Mid-century lounger", handle: "mid-century-lounger", vendor: "Lounge Co",
    type: "Furniture", price: 15999,
    variants: [{ id: 4100201, title: "Default Title", sku: "MCL-1", price: 15999 }],
  },
];

const variantById = (id) => {
  for (const p of PRODUCTS) for (const v of p.variants) if (v.id == id) return { p, v };
  return null;
};

/** The Customer Privacy API as `window.Shopify` exposes it after `loadFeatures`; its state is
 * the `standin_consent` cookie (`{analytics, marketing, sale}` booleans, or absent: no choice
 * yet). `setTrackingConsent` changes it and fires `visitorConsentCollected`. */
const SHOPIFY_GLOBAL = `
(function () {
  function read() {
    var m = document.cookie.match(/(?:^|; )standin_consent=([^;]*)/);
    try { return m ? JSON.parse(decodeURIComponent(m[1])) : null; } catch (e) { return null; }
  }
  function yes(v) { return v === true; }
  var cp = {
    analyticsProcessingAllowed: function () { var c = read(); return !!c && yes(c.analytics); },
    marketingAllowed: function () { var c = read(); return !!c && yes(c.marketing); },
    saleOfDataAllowed: function () { var c = read(); return !c || c.sale !== false; },
    preferencesProcessingAllowed: function () { return false; },
    currentVisitorConsent: function () {
      var c = read();
      var word = function (v) { return !c ? "" : v ? "yes" : "no"; };
      return { analytics: word(c && c.analytics), marketing: word(c && c.marketing), preferences: "", sale_of_data: word(!c || c.sale !== false) };
    },
    setTrackingConsent: function (consent, callback) {
      var c = { analytics: !!consent.analytics, marketing: !!consent.marketing, sale: consent.sale_of_data !== false };
      document.cookie = "standin_consent=" + encodeURIComponent(JSON.stringify(c)) + "; path=/";
      document.dispatchEvent(new CustomEvent("visitorConsentCollected", { detail: {
        analyticsAllowed: c.analytics, marketingAllowed: c.marketing, preferencesAllowed: false, saleOfDataAllowed: c.sale } }));
      if (callback) callback();
    },
  };
  window.Shopify = {
    shop: "standin.myshopify.com",
    routes: { root: "/" },
    loadFeatures: function (features, callback) {
      setTimeout(function () { window.Shopify.customerPrivacy = cp; callback(null); }, 0);
    },
  };
})();`;

function lineOf(item) {
  const { p, v } = variantById(item.variant_id);
  return {
    id: v.id, properties: item.properties || {}, quantity: item.quantity, variant_id: v.id,
    key: `${v.id}:${item.keyHash}`, title: v.title == "Default Title" ? p.title : `${p.title} - ${v.title}`,
    price: v.price, original_price: v.price, discounted_price: v.price, line_price: v.price * item.quantity,
    original_line_price: v.price * item.quantity, total_discount: 0, discounts: [], sku: v.sku,
    grams: 0, vendor: p.vendor, taxable: true, product_id: p.id, product_has_only_default_variant: p.variants.length == 1,
    gift_card: false, final_price: v.price, final_line_price: v.price * item.quantity,
    url: `/products/${p.handle}?variant=${v.id}`, featured_image: null, image: null, handle: p.handle,
    requires_shipping: true, product_type: p.type, product_title: p.title, product_description: "",
    variant_title: v.title == "Default Title" ? null : v.title, variant_options: [v.title], options_with_values: [],
    line_level_discount_allocations: [], line_level_total_discount: 0,
  };
}

function cartJson(cart) {
  const items = cart.items.map(lineOf);
  const total = items.reduce((s, i) => s + i.line_price, 0);
  return {
    token: cart.token, note: cart.note, attributes: cart.attributes, original_total_price: total,
    total_price: total, total_discount: 0, total_weight: 0, item_count: items.reduce((s, i) => s + i.quantity, 0),
    items, requires_shipping: items.length > 0, currency: "USD", items_subtotal_price: total,
    cart_level_discount_applications: [],
  };
}

function body(req) {
  return new Promise((resolve) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (text += d));
    req.on("end", () => {
      if ((req.headers["content-type"] || "").includes("application/json")) {
        try { return resolve(JSON.parse(text || "{}")); } catch { return resolve(null); }
      }
      // Forms: id=..&quantity=.. (and updates[ID]=N).
      const form = new URLSearchParams(text);
      const out = {};
      for (const [k, v] of form) {
        const m = k.match(/^(\w+)\[(\w+)\]$/);
        if (m) (out[m[1]] ||= {})[m[2]] = v;
        else out[k] = v;
      }
      resolve(out);
    });
  });
}

/** Starts the storefront. `settings` are the app embed's block settings (`collector`,
 * `write_key`, `consent_mode`, `campaigns_url`, `script_url`; `campaigns`, a list the stand-in
 * serves at /campaigns.json when `campaigns_url` is empty). Resolves to `{ url, carts, stop }`:
 * `carts` maps cart tokens to `{ token, items, attributes, note }`. */
export async function startStorefront(settings) {
  const engine = new Liquid({ strictFilters: true });
  engine.registerFilter("asset_url", (name) => `/assets/${name}`);
  // Shopify does not render a block's {% schema %}: neither does the stand-in.
  const block = readFileSync(join(EMBED, "blocks/shoptrail.liquid"), "utf8").replace(/{%\s*schema\s*%}[\s\S]*?{%\s*endschema\s*%}/, "");
  const embed = engine.parse(block);
  const carts = new Map();
  const discounts = [];

  const cartOf = (req, res) => {
    const m = (req.headers.cookie || "").match(/(?:^|; )cart=([^;]+)/);
    let cart = m && carts.get(m[1]);
    if (!cart) {
      cart = { token: randomBytes(16).toString("hex"), items: [], attributes: {}, note: null };
      carts.set(cart.token, cart);
    }
    res.setHeader("Set-Cookie", `cart=${cart.token}; Path=/; SameSite=Lax`);
    return cart;
  };
  const json = (res, status, value) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(value));
  };
  const add = (cart, id, quantity, properties) => {
    const found = variantById(id);
    if (!found) return null;
    const existing = cart.items.find((i) => i.variant_id == id && JSON.stringify(i.properties || {}) == JSON.stringify(properties || {}));
    if (existing) existing.quantity += quantity;
    else cart.items.push({ variant_id: found.v.id, quantity, properties, keyHash: randomBytes(8).toString("hex") });
    return cart.items.find((i) => i.variant_id == id);
  };

  const page = async (template, vars, res) => {
    // The suites drive the storefront with headless Chromium, a bot to the SDK: the test
    // page lets it through with data-bots="allow" on the part's tag (a shop's never has it).
    const head = (await engine.render(embed, {
      block: { settings: settings },
      template: { name: template },
      ...vars,
    })).replace(/<script\b(?=[^>]*shoptrail-shopify\.js)/, '<script data-bots="allow"');
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${template}</title>
<script>${SHOPIFY_GLOBAL}</script>
${head}</head><body><h1>${template}</h1></body></html>`);
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://standin");
      const path = url.pathname;
      if (req.method == "GET" && path.startsWith("/products/")) {
        const p = PRODUCTS.find((x) => x.handle == path.slice("/products/".length));
        if (!p) return json(res, 404, { status: 404 });
        const product = { ...p, url: `/products/${p.handle}`, selected_or_first_available_variant: p.variants[0] };
        return page("product", { product }, res);
      }
      if (req.method == "GET" && path.startsWith("/collections/")) {
        const collection = { id: 9001, title: "Summer", handle: "summer", products: PRODUCTS };
        return page("collection", { collection }, res);
      }
      if (req.method == "GET" && path == "/search") {
        const q = url.searchParams.get("q") || "";
        return page("search", { search: { performed: true, terms: q, results: [] } }, res);
      }
      if (req.method == "GET" && path == "/") return page("index", {}, res);
      if (req.method == "GET" && path == "/cart") return page("cart", {}, res);
      if (req.method == "GET" && path.startsWith("/assets/")) {
        const name = path.slice("/assets/".length);
        if (name != "shoptrail-shopify.js") return json(res, 404, { status: 404 });
        res.writeHead(200, { "Content-Type": "text/javascript" });
        return res.end(readFileSync(join(EMBED, "assets", name)));
      }
      if (req.method == "GET" && path.startsWith("/discount/")) {
        const code = decodeURIComponent(path.slice("/discount/".length));
        discounts.push(code);
        res.writeHead(302, { "Set-Cookie": `discount_code=${encodeURIComponent(code)}; Path=/`, Location: url.searchParams.get("redirect") || "/" });
        return res.end();
      }
      if (req.method == "GET" && (path == "/cart.js" || path == "/cart.json")) return json(res, 200, cartJson(cartOf(req, res)));
      if (req.method == "POST" && /^\/cart\/add(\.js)?$/.test(path)) {
        const cart = cartOf(req, res);
        const b = await body(req);
        if (!b) return json(res, 400, { status: "bad_request", message: "Parameter Missing or Invalid" });
        const items = b.items || [{ id: b.id, quantity: b.quantity, properties: b.properties }];
        const added = [];
        for (const i of items) {
          const line = add(cart, Number(i.id), Number(i.quantity || 1), i.properties);
          if (!line) return json(res, 404, { status: 404, message: "Cart Error", description: "Cannot find variant" });
          added.push(lineOf(line));
        }
        // A theme's product form posts to /cart/add and lands on the cart page.
        if (!path.endsWith(".js")) {
          res.writeHead(302, { Location: "/cart" });
          return res.end();
        }
        return json(res, 200, b.items ? { items: added } : added[0]);
      }
      if (req.method == "POST" && /^\/cart\/change(\.js)?$/.test(path)) {
        const cart = cartOf(req, res);
        const b = (await body(req)) || {};
        const quantity = Number(b.quantity);
        let index = -1;
        if (b.line != null) index = Number(b.line) - 1;
        else index = cart.items.findIndex((i) => `${i.variant_id}:${i.keyHash}` == b.id || i.variant_id == Number(b.id));
        if (index < 0 || index >= cart.items.length || !(quantity >= 0)) {
          return json(res, 400, { status: 400, message: "Cart Error", description: "no valid id or line parameter" });
        }
        if (quantity == 0) cart.items.splice(index, 1);
        else cart.items[index].quantity = quantity;
        return json(res, 200, cartJson(cart));
      }
      if (req.method == "POST" && /^\/cart\/update(\.js)?$/.test(path)) {
        const cart = cartOf(req, res);
        const b = (await body(req)) || {};
        if (Array.isArray(b.updates)) {
          b.updates.forEach((q, i) => { if (cart.items[i]) cart.items[i].quantity = Number(q); });
        } else if (b.updates) {
          for (const [id, q] of Object.entries(b.updates)) {
            const line = cart.items.find((i) => i.variant_id == Number(id) || `${i.variant_id}:${i.keyHash}` == id);
            if (line) line.quantity = Number(q);
            else if (Number(q) > 0) add(cart, Number(id), Number(q));
          }
        }
        cart.items = cart.items.filter((i) => i.quantity > 0);
        if (b.attributes) Object.assign(cart.attributes, b.attributes);
        if (b.note != null) cart.note = b.note;
        return json(res, 200, cartJson(cart));
      }
      if (req.method == "POST" && /^\/cart\/clear(\.js)?$/.test(path)) {
        const cart = cartOf(req, res);
        cart.items = [];
        return json(res, 200, cartJson(cart));
      }
      if (req.method == "GET" && path == "/campaigns.json" && settings.campaigns) {
        res.writeHead(200, { "Content-Type": "application/json" });
        return res.end(JSON.stringify(settings.campaigns));
      }
      json(res, 404, { status: 404 });
    } catch (e) {
      json(res, 500, { error: String(e) });
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  // Campaigns given inline are served here, at the URL the embed's setting names.
  if (settings.campaigns && !settings.campaigns_url) settings.campaigns_url = `${url}/campaigns.json`;
  return { url, carts, discounts, cartJson, stop: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }) };
}

/** The web pixel in a real Web Worker of `page`, as Shopify's Web Pixels Manager runs it in its
 * strict sandbox (a stand-in): a `shopify.extend` global that `register` from
 * `@shopify/web-pixels-extension` calls, then the bundle (`pixelUrl`), then the extension API
 * (`analytics.subscribe`, `browser.cookie.get` over the page's cookies at the time,
 * `customerPrivacy.subscribe`, `init`, `settings`). Each of `events` is published to the
 * pixel's subscribers in turn. Resolves once the pixel's requests to the collector have been
 * answered (the worker's fetch is watched). */
export async function runPixel(page, { pixelUrl, settings, customerPrivacy, events }) {
  return page.evaluate(async ({ pixelUrl, settings, customerPrivacy, events }) => {
    const code = `
      let subscribers = [];
      let cookies = "";
      let answered = 0;
      const realFetch = self.fetch.bind(self);
      self.fetch = (...args) => realFetch(...args).then((r) => { answered++; postMessage({ answered, status: r.status }); return r; });
      self.shopify = {
        extend(point, extend) {
          if (point !== "WebPixel::Render") throw new Error("unknown extension point " + point);
          self.__extend = extend;
        },
      };
      importScripts(${JSON.stringify(pixelUrl)});
      onmessage = (e) => {
        const { settings, customerPrivacy, events } = e.data;
        cookies = e.data.cookies;
        self.__extend({
          settings,
          analytics: { subscribe(name, cb) { subscribers.push({ name, cb }); return () => true; } },
          browser: { cookie: { async get(name) {
            const m = cookies.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
            return m ? decodeURIComponent(m[1]) : "";
          } } },
          customerPrivacy: { subscribe() { return () => true; } },
          init: { context: {}, data: { shop: { myshopifyDomain: "standin.myshopify.com" }, customer: null, cart: null },
                  customerPrivacy },
          _pixelInfo: {},
        });
        for (const ev of events) {
          for (const s of subscribers) if (s.name === ev.name || s.name === "all_standard_events") s.cb(ev);
        }
        postMessage({ published: events.length });
      };`;
    const worker = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
    return await new Promise((resolve, reject) => {
      let published = false;
      const timer = setTimeout(() => reject(new Error("the pixel sent nothing within 15 s")), 15000);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.onmessage = (e) => {
        if (e.data.published != null) published = true;
        if (published && e.data.answered) {
          clearTimeout(timer);
          resolve(e.data);
        }
      };
      worker.postMessage({ settings, customerPrivacy, events, cookies: document.cookie });
    });
  }, { pixelUrl, settings, customerPrivacy, events });
}
