/* shoptrail on a Shopify storefront: the part the app embed loads beside shoptrail.js.
 *
 * It starts the SDK with the embed's settings and tracks what a Shopify theme does without
 * any code from the shop:
 * - Product Viewed, Product List Viewed and Products Searched from the product, collection
 *   and search the embed renders into this script's data attributes (as text: nothing here
 *   becomes HTML);
 * - the cart, through the AJAX Cart API: after any request to /cart/add, /cart/change,
 *   /cart/update or /cart/clear (fetch or XMLHttpRequest, whoever makes it) and on each page
 *   load, /cart.js is read and the SDK's cart is brought to it (`cart.add`, `cart.update`),
 *   so the SDK's cart computes Product Added and Removed for the difference, however the
 *   theme changed the cart;
 * - the anonymous id and session into the cart's attributes (`shoptrail_aid`,
 *   `shoptrail_session`), once per cart, so the order and the web pixel carry them;
 * - Shopify's Customer Privacy API onto `consent.grant`, `deny` and `revoke` (consent mode
 *   "shopify");
 * - popups from the embed's campaigns URL; a converted popup's coupon is applied to the
 *   cart through /discount/CODE.
 * It never throws into the page: each entry point catches.
 */
(function (w, doc) {
  "use strict";
  var me = doc.currentScript;
  var st = w.shoptrail;
  if (!me || !st || w.__shoptrailShopify) return;
  w.__shoptrailShopify = 1;
  var data = me.dataset;
  var nativeFetch = w.fetch;
  var root = (w.Shopify && w.Shopify.routes && w.Shopify.routes.root) || "/";
  var CHANGE = /\/cart\/(add|change|update|clear)(\.js(on)?)?$/;
  var noop = function () {};

  function parse(text) {
    try {
      return text ? JSON.parse(text) : null;
    } catch (e) {
      return null;
    }
  }

  function safely(f) {
    return function () {
      try {
        return f.apply(this, arguments);
      } catch (e) {
        if (data.debug) console.warn("shoptrail-shopify:", e);
      }
    };
  }

  /** Shopify's money (integer minor units) as a decimal string. */
  function money(cents) {
    return typeof cents == "number" && isFinite(cents) ? (cents / 100).toFixed(2) : undefined;
  }

  function variantName(title) {
    return title && title != "Default Title" ? String(title) : undefined;
  }

  /** A product of `product | json` (or /products/x.js) and one of its variants. */
  function fromProduct(p, v) {
    v = v || {};
    var image = v.featured_image || p.featured_image;
    return {
      product_id: String(p.id),
      sku: v.sku || undefined,
      name: p.title,
      brand: p.vendor || undefined,
      category: p.type || p.product_type || undefined,
      variant: variantName(v.title),
      variant_id: v.id != null ? String(v.id) : undefined,
      price: money(v.price != null ? v.price : p.price),
      url: p.url || (p.handle ? root + "products/" + p.handle : undefined),
      image_url: image ? String(image.src || image) : undefined,
    };
  }

  /** A line of /cart.js. */
  function fromLine(item, currency) {
    return {
      product_id: String(item.product_id),
      sku: item.sku || undefined,
      name: item.product_title || item.title,
      brand: item.vendor || undefined,
      category: item.product_type || undefined,
      variant: variantName(item.variant_title),
      // The cart permalink of a journey's link names variants.
      variant_id: String(item.variant_id),
      price: money(item.price),
      url: item.url || undefined,
      image_url: item.image || undefined,
      currency: currency || undefined,
    };
  }

  var key = function (p) {
    return p.product_id + "\n" + (p.variant || "");
  };

  /** Brings the SDK's cart to Shopify's: the SDK tracks the difference. */
  function reconcile(cart) {
    var want = {};
    var order = [];
    (cart.items || []).forEach(function (item) {
      var p = fromLine(item, cart.currency);
      var k = key(p);
      if (!want[k]) {
        want[k] = { p: p, q: 0 };
        order.push(k);
      }
      want[k].q += item.quantity;
    });
    var sdk = st.cart.get() || {};
    // A cart holds one currency: after the shopper switches markets, the lines start again.
    if (sdk.products && sdk.products.length && cart.currency && sdk.currency && sdk.currency != cart.currency) {
      st.cart.clear();
      sdk = {};
    }
    var mine = sdk.products || [];
    var have = {};
    mine.forEach(function (p) {
      have[key(p)] = p;
    });
    mine.forEach(function (p) {
      if (!want[key(p)]) st.cart.update(p.product_id, 0, p.variant);
    });
    order.forEach(function (k) {
      var line = want[k];
      var old = have[k];
      if (!old) st.cart.add(line.p, line.q);
      else if (old.quantity != line.q) st.cart.update(line.p.product_id, line.q, line.p.variant);
    });
    label(cart);
  }

  /** Writes the anonymous id and session into the cart's attributes (once per cart and
   * session) when the shopper's consent lets the SDK keep an id, and takes them out after a
   * refusal or withdrawal, so that the order does not carry them. */
  function label(cart) {
    var consent = st.consent.get();
    var allowed = !consent || consent.granted.indexOf("analytics") >= 0;
    var aid = allowed ? st.anonymousId() || "" : "";
    var session = aid ? String(st.sessionId() || "") : "";
    var attrs = cart.attributes || {};
    var has = attrs.shoptrail_aid || "";
    if (aid ? !cart.item_count || (has == aid && attrs.shoptrail_session == session) : !has) return;
    nativeFetch
      .call(w, root + "cart/update.js", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ attributes: { shoptrail_aid: aid, shoptrail_session: session } }),
      })
      .catch(noop);
  }

  var busy = 0;
  var again = 0;
  /** Reads /cart.js and reconciles; calls while one runs make one more run after it. */
  function sync() {
    if (busy) {
      again = 1;
      return;
    }
    busy = 1;
    nativeFetch
      .call(w, root + "cart.js", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (cart) {
        return st.ready().then(function (ok) {
          if (ok && cart) safely(reconcile)(cart);
        });
      })
      .catch(noop)
      .then(function () {
        busy = 0;
        if (again) {
          again = 0;
          sync();
        }
      });
  }

  function changes(url) {
    try {
      return CHANGE.test(new URL(String(url), location.href).pathname);
    } catch (e) {
      return false;
    }
  }

  // Cart changes, whoever makes them: the theme's fetch and XMLHttpRequest calls.
  if (nativeFetch) {
    w.fetch = function (input, init) {
      var answer = nativeFetch.apply(this, arguments);
      try {
        var url = typeof input == "string" || input instanceof URL ? input : input && input.url;
        if (changes(url)) {
          answer.then(function (r) {
            if (r.ok) sync();
          }, noop);
        }
      } catch (e) {}
      return answer;
    };
  }
  var X = w.XMLHttpRequest && w.XMLHttpRequest.prototype;
  if (X) {
    var open = X.open;
    X.open = function (method, url) {
      try {
        if (changes(url)) {
          this.addEventListener("loadend", function () {
            if (this.status >= 200 && this.status < 300) sync();
          });
        }
      } catch (e) {}
      return open.apply(this, arguments);
    };
  }

  // Shopify's Customer Privacy API, when the embed's consent mode says so: analytics, and
  // marketing only with the sale of data allowed too (marketing destinations share data).
  function privacy() {
    var cp = w.Shopify && w.Shopify.customerPrivacy;
    if (!cp) return;
    var want = [];
    if (cp.analyticsProcessingAllowed()) want.push("analytics");
    if (cp.marketingAllowed() && cp.saleOfDataAllowed()) want.push("marketing");
    var now = st.consent.get() || { granted: [] };
    var had = now.granted.slice().sort().join();
    if (want.length) {
      if (want.join() != had || !now.decided) st.consent.grant(want);
    } else if (had) {
      st.consent.revoke();
    } else {
      var chosen = cp.currentVisitorConsent ? cp.currentVisitorConsent() : {};
      if (chosen && chosen.analytics == "no") st.consent.deny();
    }
    // The cart's attributes follow the choice.
    sync();
  }

  // Campaigns from the embed's URL; their coupons, to apply on conversion.
  var coupons = {};
  function campaigns(list) {
    if (!Array.isArray(list)) return;
    list.forEach(function (c) {
      if (!c || !c.id) return;
      if (c.content && c.content.coupon) coupons[c.id] = c.content.coupon;
      (c.variants || []).forEach(function (v) {
        if (v && v.content && v.content.coupon) coupons[c.id + "\n" + v.id] = v.content.coupon;
      });
      st.campaigns.add(c);
    });
  }
  st.on(
    "popup:converted",
    safely(function (p) {
      var code = coupons[p.campaign_id + "\n" + p.variant_id] || coupons[p.campaign_id];
      if (!code) return;
      nativeFetch
        .call(w, root + "discount/" + encodeURIComponent(code) + "?redirect=" + encodeURIComponent(location.pathname), {
          credentials: "same-origin",
          redirect: "manual",
        })
        .then(function () {
          st.coupon.apply(code, { campaign_id: p.campaign_id });
        }, noop);
    })
  );

  safely(function () {
    // A journey's cart link carries its token as a cart attribute too: it leaves the address
    // bar (and so every reported URL and Referer) before the SDK reads the page.
    var search = location.search;
    var clean = search.replace(/([?&])attributes(%5B|\[)shoptrail_link(%5D|\])=[^&#]*&?/i, "$1").replace(/[?&]$/, "");
    if (clean != search && history.replaceState) history.replaceState(history.state, "", location.pathname + clean + location.hash);
    var collector = (data.collector || "").replace(/\/+$/, "");
    var mode = data.consent || "none";
    st.init({
      endpoint: collector + "/v1/batch",
      writeKey: data.writeKey || undefined,
      compress: true,
      // Themes publish JSON-LD for search engines: the product comes from the embed instead.
      jsonLd: false,
      consent: { required: mode != "none" },
      debug: !!data.debug,
      // data-bots: a test storefront driven by headless browsers (the embed never sets it).
      bots: data.bots,
    });
    var template = data.template || "";
    var product = parse(data.product);
    if (template.indexOf("product") == 0 && product) {
      var id = Number(new URLSearchParams(location.search).get("variant") || data.variant);
      var variant = (product.variants || []).filter(function (v) {
        return v.id == id;
      })[0] || (product.variants || [])[0];
      st.product.view(fromProduct(product, variant));
    }
    var collection = parse(data.collection);
    if (template.indexOf("collection") == 0 && collection) {
      st.productList.viewed({
        list_id: String(collection.id),
        category: collection.title,
        products: (collection.products || []).map(function (p, i) {
          var item = fromProduct(p);
          item.position = i + 1;
          return item;
        }),
      });
    }
    if (template.indexOf("search") == 0 && data.search) st.products.searched(data.search);
    if (mode == "shopify") {
      st.ready().then(function (ok) {
        if (!ok) return;
        doc.addEventListener("visitorConsentCollected", safely(privacy));
        if (w.Shopify && w.Shopify.loadFeatures) {
          w.Shopify.loadFeatures([{ name: "consent-tracking-api", version: "0.1" }], safely(function (err) {
            if (!err) privacy();
          }));
        } else {
          privacy();
        }
      });
    }
    if (data.campaigns) {
      nativeFetch
        .call(w, data.campaigns, { credentials: "omit" })
        .then(function (r) {
          return r.ok ? r.json() : null;
        })
        .then(safely(campaigns), noop);
    }
    sync();
  })();
})(window, document);
