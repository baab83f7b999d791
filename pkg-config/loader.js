/* shoptrail script-tag loader. `cargo xtask build` bundles this file with wasm-bindgen's `web`
   glue, the JavaScript host (js/host.js) and pkg-config/compile.js into one classic script,
   dist/shoptrail.js, in which `initSync`, `boot`, `NAMES` (every public method name) and
   `compileWasm` are imported above and nothing leaks into the page. */
(function () {
  var w = window, s = w.shoptrail, me = document.currentScript;
  /* `cart.add` lives at s.cart.add: the object that holds a name, and the name's last part. */
  function slot(root, m) {
    var p = m.split(".");
    return p[1] ? [root[p[0]] = root[p[0]] || {}, p[1]] : [root, m];
  }
  if (!s || typeof s !== "object") s = w.shoptrail = {};
  /* Loaded twice (two tags, or a theme that repeats the snippet): the first copy wins. */
  if (s.loaded || s.loading) return;
  s.loading = true;
  /* Calls made before the wasm is ready wait in `q`, as the snippet's stub does: each returns
     what the loaded SDK returns before `init` (undefined), and flush() and ready() a Promise
     that the SDK's own settles. */
  if (!s.q) {
    s.q = [];
    NAMES.forEach(function (m) {
      var t = slot(s, m);
      t[0][t[1]] = function () {
        var a = [].slice.call(arguments);
        if (m === "flush" || m === "ready") return new Promise(function (r) { s.q.push([m, a, r]); });
        s.q.push([m, a]);
      };
    });
  }
  /* Clicks on data-shoptrail markup while the wasm loads are kept and replayed after init. */
  function early(e) {
    var t = e.target;
    if (t && t.closest && t.closest("[data-shoptrail]")) s.q.push(["__markup", [t]]);
  }
  document.addEventListener("click", early, true);
  var src = (me && me.src) || "";
  var data = (me && me.dataset) || {};
  var wasmUrl = data.wasm || src.replace(/\.js(\?.*)?$/, ".wasm");
  /* The build writes the wasm's SRI hash here: the default wasm is fetched with it, so one
     integrity attribute on the script tag covers both files. */
  var wasmSri = "__SHOPTRAIL_WASM_SRI__";
  /* The build without the options listed here (api.json's `optional` ones), smaller by their
     code: shoptrail-lite.wasm beside shoptrail.wasm, with its own hash. It is fetched when the
     first init's config names none of them; so the wasm is fetched once that config is known
     (at once when the snippet's queue or data-endpoint has it). */
  var liteUrl = wasmUrl.replace(/\.wasm(\?.*)?$/, "-lite.wasm$1");
  var liteSri = "__SHOPTRAIL_LITE_SRI__";
  var OPTIONAL = __SHOPTRAIL_OPTIONAL__;
  function needsAll(c) {
    try {
      return !!c && typeof c === "object" && OPTIONAL.some(function (k) { return c[k] !== undefined; });
    } catch (e) {
      return true;
    }
  }
  /* The engage module (popups), fetched only on pages with campaigns, from beside this script
     (shoptrail-1.2.3.js -> shoptrail-engage-1.2.3.js) with the hash the build wrote here, or
     from data-engage. Its own loader fetches its wasm with that wasm's hash. The consent
     adapters (shoptrail-consent.js), only when the config names a consent manager or Google
     Consent Mode. Each script hands its module to the `s[key]` callback. */
  function beside(name) {
    return src.replace(/shoptrail(-[0-9][^\/?]*)?\.js(\?.*)?$/, "shoptrail-" + name + "$1.js");
  }
  function inject(url, sri, key) {
    return new Promise(function (resolve, reject) {
      s[key] = resolve;
      var el = document.createElement("script");
      el.src = url;
      if (sri) {
        el.integrity = sri;
        el.crossOrigin = "anonymous";
      }
      el.onerror = function () { reject(new Error("could not load " + url)); };
      document.head.appendChild(el);
    });
  }
  var started = false;
  function go(all) {
    if (started) return;
    started = true;
    var url = all ? wasmUrl : liteUrl;
    compileWasm(data.wasm ? fetch(wasmUrl) : fetch(url, { integrity: all ? wasmSri : liteSri })).then(function (module) {
      initSync({ module: module });
      var api = boot();
      api.__engage(function () {
        return data.engage ? inject(data.engage, "", "__engaged") : inject(beside("engage"), "__SHOPTRAIL_ENGAGE_SRI__", "__engaged");
      });
      api.__consent(function () { return inject(beside("consent"), "__SHOPTRAIL_CONSENT_SRI__", "__consented"); });
      document.removeEventListener("click", early, true);
      var calls = s.q || [];
      /* Swap each stub for the real function on the same objects, so references the page kept
         (const cart = shoptrail.cart) now reach the SDK. */
      NAMES.forEach(function (m) {
        var t = slot(s, m), f = slot(api, m);
        t[0][t[1]] = f[0][f[1]];
      });
      delete s.q;
      delete s.loading;
      s.loaded = true;
      var explicit = calls.some(function (c) { return c[0] === "init"; });
      if (!explicit && data.endpoint) {
        var cfg = { endpoint: data.endpoint };
        if (data.writeKey) cfg.writeKey = data.writeKey;
        if (data.debug === "true") cfg.debug = true;
        /* data-bots="allow": test pages driven by headless browsers (see the bots option). */
        if (data.bots) cfg.bots = data.bots;
        /* data-consent="required": nothing stored or sent before shoptrail.consent.grant(). */
        var k = data.consent === "required" ? { required: true } : data.consent === "optional" ? { required: false } : data.consent;
        /* data-consent-from="onetrust": that consent manager decides (see consent.from). */
        if (data.consentFrom && typeof k !== "string") (k = k || {}).from = data.consentFrom;
        /* data-consent-on-refuse="cookieless": a refusal still counts the visit, storing nothing. */
        if (data.consentOnRefuse && typeof k !== "string") (k = k || {}).onRefuse = data.consentOnRefuse;
        if (k) cfg.consent = k;
        s.init(cfg);
      }
      calls.forEach(function (c) {
        var t = c[0] === "__markup" ? [api, "__markup"] : slot(s, c[0]);
        var r;
        try { r = t[0][t[1]].apply(t[0], c[1]); } catch (e) { r = undefined; }
        if (typeof c[2] === "function") c[2](r);
      });
    }, function (e) {
      /* The SDK cannot run on this page (the wasm blocked or missing, a CSP without
         'wasm-unsafe-eval', a browser without WebAssembly): every method returns at once and
         does nothing, every Promise settles with false, and onError hears `unsupported`. */
      document.removeEventListener("click", early, true);
      delete s.loading;
      var calls = s.q || [];
      delete s.q;
      var err = new Error("shoptrail cannot run on this page: " + ((e && e.message) || e));
      err.name = "ShoptrailError";
      err.code = "unsupported";
      var tell = function (c) {
        if (c && typeof c.onError === "function") try { c.onError(err); } catch (x) { /* the page's */ }
      };
      NAMES.forEach(function (m) {
        var t = slot(s, m);
        t[0][t[1]] = m === "flush" || m === "ready" ? function () { return Promise.resolve(false); }
          : m === "init" ? tell : function () {};
      });
      calls.forEach(function (c) {
        if (c[0] === "init") tell(c[1][0]);
        if (typeof c[2] === "function") c[2](false);
      });
      console.error("shoptrail: could not load " + url, e);
    });
  }
  var queued = (s.q || []).filter(function (c) { return c[0] === "init"; })[0];
  if (data.wasm) go(true);
  else if (queued) go(needsAll(queued[1][0]));
  else if (data.endpoint) go(false);
  else {
    /* No config yet: the first init decides, and the stub keeps it for the SDK as before. */
    var stubInit = s.init;
    s.init = function (c) {
      s.init = stubInit;
      var r = stubInit.apply(this, arguments);
      go(needsAll(c));
      return r;
    };
  }
})();
