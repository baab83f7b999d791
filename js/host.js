/* shoptrail's JavaScript host: the web platform work the wasm asks for, in a few coarse calls
   that pass strings and numbers (storage, cookies, fetch, beacons, timers, page facts, DOM
   listeners), and the public API, which turns each call's arguments into one JSON array for the
   wasm. What to send, when, and what is valid is decided in Rust; a few decisions still live
   here (ARCHITECTURE.md's table names them): call batching per task, the 64K-character
   pre-check of arguments, absolute endpoint URLs, when the engage module loads (campaigns and
   marketing consent), the listener registry of on()/off(). Nothing here throws into the page. */

const FN = "\u0000f";
/* Methods by kind. 0: fire and forget; 1: shop data (numbers through 15 significant digits,
   which drops binary float noise such as 0.1 + 0.2); 2: returns text; 3: returns a number;
   4: returns JSON; `init` (kind 7) is written without one and handled by name. `flush`, `on`
   and `off` (kinds 5 and 6) are written by hand in `connect`. The list is generated from
   pkg-config/api.json by `cargo xtask api`. */
/* generated:methods */
const METHODS = "init page track identify alias reset anonymousId:2 userId:2 sessionId:3 profile:4 consent.grant consent.deny consent.revoke consent.get:4 campaigns.add shutdown cart.add:1 cart.remove:1 cart.update:1 cart.clear cart.view cart.get:4 checkout.start:1 checkout.step:1 checkout.payment:1 order.complete:1 coupon.apply:1 coupon.deny:1 coupon.remove:1 product.view:1 product.click:1 products.searched productList.viewed:1";
/* end generated */

/** Every public method name (dotted for namespaces), for the script-tag loader's stubs. */
export const NAMES = METHODS.split(" ").map((m) => m.split(":")[0]).concat(["flush", "ready", "on", "off"]);

let call = null;
let debug = false;
let onError;
let beforeSend;
/* Popup events, as the engage module tracks them, for the `popup:*` listeners. */
const POPUP = { "Popup Shown": "popup:shown", "Popup Dismissed": "popup:dismissed", "Popup Converted": "popup:converted" };
/* The page's listeners by name: the one list of the names `on()` takes. */
const listeners = { event: [], delivered: [], error: [] };
for (const k in POPUP) listeners[POPUP[k]] = [];
const flushes = [];
/* Waiting for a valid init (`ready()`); `null` once it has run. */
let waiting = [];
/* The last init was refused (and no valid one has run since): `ready()` answers false. */
let refused = false;
const timers = {};
let store;
try { store = localStorage; } catch (e) { /* disabled storage: reads give nothing */ }
/* The page's own replaceState, before the SDK wraps it: removing link parameters from the
   address bar is not a navigation. */
let replaceState;
try { replaceState = history.replaceState; } catch (e) { /* no history */ }

export function replace(url) {
  try { replaceState.call(history, history.state, "", url); } catch (e) { /* sandboxed */ }
}

function noop() {}

/* The arguments of a call as JSON: `undefined` becomes null, a function passed as an argument
   (or as a member of `top`, init's config) becomes FN, and with `clean` numbers are written
   through 15 significant digits. Inside objects, as JSON.stringify does, functions and symbols
   are left out and NaN and Infinity become null. Plain calls (track, page, identify) skip the
   replacer, which makes JSON.stringify several times slower. When JSON.stringify throws (a
   cycle, a BigInt, a getter or Proxy that throws), `fault` finds the path of the culprit, the
   call is reported (`invalid_argument`) and ignored: `null` is returned. */
function enc(args, clean, top, name) {
  try {
    if (!clean && !top) {
      for (let i = 0; i < args.length; i++) if (typeof args[i] == "function") args[i] = FN;
      return JSON.stringify(args);
    }
    return JSON.stringify(args, function (k, v) {
      if (typeof v == "function") return this === args || this === top ? FN : undefined;
      if (clean && typeof v == "number") return isFinite(v) ? +v.toPrecision(15) : null;
      return v;
    });
  } catch (e) {
    const roots = ARGS[name] || [];
    let why;
    for (let i = 0; i < args.length && !why; i++) why = fault(args[i], roots[i] || "arguments[" + i + "]", [], { n: 0 });
    notify(name ? 0 : 5, name ? "invalid_argument" : "invalid_config", (name || "init") + ": " + (why || "the arguments cannot be sent as JSON (" + (e && e.message) + ")") + "; the call was ignored");
    return null;
  }
}

/* Argument names in error paths (`properties.items[3].price`). */
const ARGS = { track: ["event", "properties"], page: ["name", "properties"], identify: ["userId", "traits"] };

/* What makes `v` unserialisable, as "path: reason", or undefined. `stack` holds the objects
   being walked (a cycle is an object inside itself; one object twice is fine); at most 10000
   values are looked at. */
function fault(v, path, stack, budget) {
  if (++budget.n > 10000) return;
  if (typeof v == "bigint") return path + " is a BigInt (pass it as a string or a number)";
  if (v === null || typeof v != "object") return;
  if (stack.indexOf(v) >= 0) return path + " refers to an object that contains it (a cycle)";
  let keys;
  try {
    if (typeof v.toJSON == "function") return;
    keys = Object.keys(v);
  } catch (e) {
    return path + " cannot be read (" + (e && e.message) + ")";
  }
  stack.push(v);
  for (const k of keys) {
    let x;
    const p = Array.isArray(v) ? path + "[" + k + "]" : path + "." + k;
    try { x = v[k]; } catch (e) { return p + " threw when read (" + (e && e.message) + ")"; }
    const r = fault(x, p, stack, budget);
    if (r) return r;
  }
  stack.pop();
}

/* Calls that return nothing wait here, with the time and URL at which they were made, and go
   to the wasm after the page's task, 200 per task (a burst never makes one long task); at once
   when 5000 wait. `track()` itself costs the page a JSON.stringify and an array push. Every
   other call, and every browser event, first sends all that waits, so the order is kept. */
let pending = [];
let scheduled = false;
/* What `shutdown()` undoes: listeners removed, history methods given back. */
const undo = [];

function here() {
  try { return location.href; } catch (e) { return ""; }
}

function later(method, json) {
  if (!call) return;
  pending.push(method + "\u0001" + Date.now() + "\u0001" + here() + "\u0001" + json);
  if (pending.length >= 5000) drain(true);
  else schedule();
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => {
    scheduled = false;
    drain(false);
  }, 0);
}

function drain(all) {
  while (pending.length && call) {
    direct("~batch", pending.splice(0, 200).join("\u0002"));
    if (!all && pending.length) return schedule();
  }
}

function direct(method, json) {
  try {
    return call ? call(method, json) : undefined;
  } catch (e) {
    /* A trap in the wasm: the SDK is dead, the page is not. */
    if (debug) console.error("shoptrail:", e);
  }
}

function run(method, json) {
  drain(true);
  return direct(method, json);
}

function error(code, message) {
  const e = new Error(message);
  e.name = "ShoptrailError";
  e.code = code;
  return e;
}

function emit(name, payload) {
  for (const f of listeners[name].slice()) {
    try { f(payload); } catch (e) { /* the page's listener; not ours to break on */ }
  }
}

function syncListeners() {
  let n = listeners.event.length;
  for (const k in POPUP) n += listeners[POPUP[k]].length;
  run("~events", String(n));
}

/* ---- campaigns and the engage module ----
   Campaigns stay the page's own objects (the engage module reads them with
   serde-wasm-bindgen). Once a valid init has run and at least one campaign is configured, the
   engage module is loaded when the browser is idle, so it is ready before the shopper leaves;
   a page without campaigns loads nothing of it. `loadEngage` (a function returning a Promise of
   the module) is set by the build's entry through `api.__engage`: the script tag adds
   shoptrail-engage.js beside itself, the npm package imports its engage/ directory. */
let campaigns = [];
let engage; /* undefined: not loading; true: loading; then the started module */
let loadEngage;
let engageP;
let api;

function stopEngage() {
  if (engage && engage !== true) try { engage.shutdown(); } catch (e) { /* already gone */ }
  engage = undefined;
}

function report(code, message) {
  notify(0, code, message);
}

/* Popups need the shopper's consent to `marketing` (always granted on sites that do not
   require consent, unless Global Privacy Control denies it). */
function marketing() {
  try { return JSON.parse(run("consent.get", "[]")).granted.indexOf("marketing") >= 0; } catch (e) { return false; }
}

function engageSoon() {
  if (engage || !campaigns.length || waiting || !loadEngage || !marketing()) return;
  engage = true;
  const go = () => {
    /* Loaded once: a consent granted again restarts the same module. */
    if (!engageP) try { engageP = Promise.resolve(loadEngage()); } catch (e) { engageP = Promise.reject(e); }
    engageP.then((m) => {
      /* Consent withdrawn (or the SDK shut down) while the module loaded. */
      if (engage !== true || !marketing()) return;
      m.start(api, campaigns.slice(), report);
      engage = m;
    }).then(undefined, (e) => {
      report("engage_unavailable", "could not load the engage module: " + (e && e.message || e));
    });
  };
  if (typeof requestIdleCallback == "function") requestIdleCallback(go, { timeout: 2000 });
  else setTimeout(go, 200);
}

// ---- imports of the wasm ----

export function now() { return Date.now(); }

export function fill(buf) {
  try { crypto.getRandomValues(buf); } catch (e) {
    for (let i = 0; i < buf.length; i++) buf[i] = Math.random() * 256;
  }
}

export function sget(k) {
  try { const v = store.getItem(k); return v == null ? undefined : v; } catch (e) { return undefined; }
}

/* Large values (request bodies, the persisted queue) arrive in parts of UTF-8 bytes, each
   whole characters. Bodies go out as a Blob of those bytes (no decoding and encoding again),
   typed text/plain so that no CORS preflight is needed. */
let parts = [];
const utf8 = new TextDecoder();

export function part(bytes) { parts.push(bytes.slice()); }

function take() {
  const b = new Blob(parts, { type: "text/plain;charset=UTF-8" });
  parts = [];
  return b;
}

export function sput(k) {
  const v = parts.map((p) => utf8.decode(p)).join("");
  parts = [];
  return sset(k, v);
}

export function sset(k, v) {
  try { store.setItem(k, v); return true; } catch (e) { return false; }
}

export function sdel(k) {
  try { store.removeItem(k); } catch (e) { /* nothing to remove */ }
}

export function skeys(prefix) {
  const out = [];
  try {
    for (let i = 0; i < store.length; i++) {
      const k = store.key(i);
      if (k && k.startsWith(prefix)) out.push(k);
    }
  } catch (e) { /* no storage */ }
  return out.join("\n");
}

export function cget(name) {
  try {
    for (const c of document.cookie.split(";")) {
      const i = c.indexOf("=");
      if (i > 0 && c.slice(0, i).trim() == name) return c.slice(i + 1);
    }
  } catch (e) { /* sandboxed document */ }
  return undefined;
}

export function cset(line) {
  try { document.cookie = line; } catch (e) { /* sandboxed document */ }
}

export function fact(i) {
  try {
    switch (i) {
      case 0: return location.href;
      case 1: return document.title;
      case 2: return document.referrer;
      case 3: return location.hostname;
      case 4: return location.protocol;
      case 6: return navigator.globalPrivacyControl ? "1" : "";
      default: {
        const n = navigator, s = screen;
        return [n.userAgent, n.language, Intl.DateTimeFormat().resolvedOptions().timeZone,
          s.width, s.height, devicePixelRatio].join("\n");
      }
    }
  } catch (e) {
    return "";
  }
}

/* POST one batch: gzip first when asked (CompressionStream), falling back to the plain body;
   keepalive when the body fits the browser's quota; aborted after `timeout` ms. The answer
   (status, 0 for a network error, and Retry-After) goes back to the wasm. Each response body is
   read: Chromium counts a keepalive request against its quota until it completes. */
export function send(url, gzurl, keepalive, limit, timeout, lane) {
  const body = take();
  const done = (status, retry) => run("~res", lane + "\n" + status + "\n" + (retry || ""));
  const post = (b, u, ka) => {
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), timeout);
    fetch(u, { method: "POST", body: b, keepalive: ka, signal: ac.signal }).then((r) => {
      clearTimeout(t);
      r.text().then(noop, noop);
      done(r.status, r.headers.get("Retry-After"));
    }, () => {
      clearTimeout(t);
      done(0);
    });
  };
  try {
    if (gzurl && typeof CompressionStream == "function") {
      new Response(new Blob([body]).stream().pipeThrough(new CompressionStream("gzip")))
        .arrayBuffer()
        .then((buf) => post(buf, gzurl, buf.byteLength < limit), () => post(body, url, keepalive));
    } else {
      post(body, url, keepalive);
    }
  } catch (e) {
    setTimeout(() => done(0), 0);
  }
}

/* The site's cookie refresh endpoint sets the id cookie from the server (Safari keeps
   script-written cookies 7 days only). At most once a day; nothing depends on the answer. */
export function idcookie(url, id, domain) {
  try {
    fetch(url, { method: "POST", body: new URLSearchParams({ anonymousId: id, domain }), credentials: "include", keepalive: true })
      .then(noop, noop);
  } catch (e) { /* no fetch: the script-written cookie stays */ }
}

export function beacon(url) {
  const body = take();
  try { return navigator.sendBeacon(url, body) === true; } catch (e) { return false; }
}

/* An internal call made now that waits like the page's calls (after the task, or before any
   later call). */
export function defer(method) {
  later(method, "");
}

/* Many tabs: this page holds a Web Lock named after its persisted queue for as long as it
   lives (the browser lets go of it when the page is closed or crashes). Then, one page at a
   time (the `shoptrail:adopt` lock), the wasm hears which locks are held: a stored queue whose
   lock nobody holds belongs to a page that is gone, and is taken over at once. Without Web
   Locks, such a queue is taken over once it has not been rewritten for five minutes. */
export function locks(own) {
  try {
    const l = navigator.locks;
    if (!l || typeof l.request != "function") return;
    const forever = new Promise((r) => undo.push(r));
    l.request(own, () => forever).then(noop, noop);
    l.request("shoptrail:adopt", () => l.query().then((s) => {
      run("~adopt", (s.held || []).map((h) => h.name).join("\n"));
    })).then(noop, noop);
  } catch (e) { /* no locks: staleness decides */ }
}

export function timer(ms) {
  clearTimeout(timers.w);
  timers.w = setTimeout(() => run("~wake", ""), ms);
}

/* The `data-shoptrail` element a click landed in, as the JSON record the wasm reads
   (`view` elements are read with the page, not on click). */
function markup(target, views) {
  const el = target && target.closest && target.closest("[data-shoptrail]");
  if (!el) return;
  const a = el.getAttribute("data-shoptrail");
  if (!views && a.trim() == "view") return;
  const at = (n) => el.getAttribute(n);
  return JSON.stringify([a, at("data-product"), at("data-order"), at("data-quantity"), at("data-list")]);
}

function readPage() {
  const all = (s) => [].slice.call(document.querySelectorAll(s), 0, 50);
  return JSON.stringify({
    m: all('[data-shoptrail="view"]').map((el) => markup(el, true)),
    j: all('script[type="application/ld+json"]').map((s) => s.textContent),
  });
}

/* Read the page for products after `ms`, or once parsed when `ms` is 0. */
export function scan(ms) {
  const go = () => run("~scan", readPage());
  if (!ms && document.readyState == "loading") {
    document.addEventListener("DOMContentLoaded", go, { once: true });
  } else {
    clearTimeout(timers.s);
    timers.s = setTimeout(go, ms);
  }
}

/* `beforeSend` with an event before it is queued. The answer: the event to send (changed in
   place or returned) as JSON with its messageId first, "" when the middleware returned null
   (dropped), or undefined to send it as it was (it threw, or returned something else than an
   event or null: reported). */
export function mw(text) {
  try {
    const ev = JSON.parse(text);
    const out = beforeSend(ev);
    if (out === null) return "";
    const e = out === undefined ? ev : out;
    if (typeof e != "object" || Array.isArray(e)) throw new Error("it returned " + (Array.isArray(e) ? "an array" : typeof e) + " instead of the event or null");
    return JSON.stringify(Object.assign({ messageId: ev.messageId }, e));
  } catch (x) {
    report("middleware_failed", "beforeSend failed: " + (x && x.message || x) + "; the event was sent as it was");
  }
}

/* 0: error (console in debug), 1: event, 2: delivered, 3: flush result, 4: console only,
   5: init refused: an error that always goes to the console, and until a valid init `ready()`
   and `flush()` settle with false (those waiting too). */
export function notify(kind, a, b) {
  if (kind == 0 || kind == 5) {
    const e = error(a, b);
    if (debug || kind == 5) console.error("shoptrail:", e);
    if (kind == 5 && waiting) {
      refused = true;
      for (const r of waiting.splice(0).concat(flushes.splice(0))) r(false);
    }
    if (onError) try { onError(e); } catch (x) { /* the page's callback */ }
    emit("error", e);
  } else if (kind == 1) {
    const ev = JSON.parse(a);
    if (debug) console.log("shoptrail event", ev);
    emit("event", ev);
    const p = ev.type == "track" && POPUP[ev.event];
    if (p) emit(p, ev.properties);
  } else if (kind == 2) {
    emit("delivered", { count: +a, endpoint: b });
  } else if (kind == 3) {
    for (const r of flushes.splice(0)) r(a == "1");
  } else {
    console.error("shoptrail: " + a);
  }
}

function scrollSample() {
  const d = document.documentElement;
  later("~scroll", [scrollY, innerHeight, d ? d.scrollHeight : 0].map(Math.round).join(" "));
}

/* Page lifecycle, scroll, single-page-app navigation and markup clicks, after a valid init. */
export function listen(history, capture, dbg, links, scrollMs) {
  debug = dbg;
  for (const r of waiting.splice(0)) r(true);
  waiting = null;
  refused = false;
  engageSoon();
  let last = 0;
  const nav = () => { scrollSample(); later("~nav", ""); };
  const life = (e) => {
    const t = e.type;
    if (t == "scroll") {
      const n = Date.now();
      if (n - last >= scrollMs) { last = n; scrollSample(); }
      return;
    }
    if (t == "pageshow") { if (e.persisted) run("~show", ""); return; }
    if (t == "online") { run("~online", ""); return; }
    if (t == "visibilitychange" && document.visibilityState != "hidden") return;
    scrollSample();
    run("~hide", t == "pagehide" ? "1" : "0");
  };
  const on = (target, names, f, opts) => names.forEach((n) => {
    target.addEventListener(n, f, opts);
    undo.push(() => target.removeEventListener(n, f, opts));
  });
  on(window, ["pagehide", "pageshow", "online"], life);
  on(window, ["scroll"], life, { passive: true });
  on(document, ["visibilitychange"], life);
  if (history) {
    on(window, ["popstate", "hashchange"], nav);
    const h = window.history;
    ["pushState", "replaceState"].forEach((name) => {
      const original = h[name];
      if (typeof original != "function") return;
      /* Transparent: the page's arguments in, the original's result (or exception) out. */
      const wrapped = h[name] = function () {
        const r = original.apply(this, arguments);
        nav();
        return r;
      };
      /* Given back unless the page wrapped it again since. */
      undo.push(() => { if (h[name] === wrapped) h[name] = original; });
    });
  }
  if (links) {
    /* Links and GET forms to the shop's other sites carry the anonymous id (the wasm decides
       which, and writes the URL). */
    on(document, ["click", "auxclick"], (e) => {
      const a = e.target && e.target.closest && e.target.closest("a[href]");
      const h = a && run("~link", a.href);
      if (h) a.href = h;
    }, true);
    on(document, ["submit"], (e) => {
      const f = e.target;
      const h = f && String(f.method).toLowerCase() == "get" && run("~link", f.action);
      if (!h) return;
      let i = f.querySelector('input[name="st_x"]');
      if (!i) {
        i = document.createElement("input");
        i.type = "hidden";
        i.name = "st_x";
        f.appendChild(i);
      }
      i.value = new URL(h).searchParams.get("st_x");
    }, true);
  }
  if (capture) {
    on(document, ["click"], (e) => {
      const r = markup(e.target);
      if (r) later("~markup", r);
    });
  }
  scrollSample();
}

// ---- the public API ----

function method(name, kind) {
  if (name == "init") {
    return function (config) {
      let c = config;
      try {
        if (c && typeof c == "object") {
          onError = typeof c.onError == "function" ? c.onError : undefined;
          beforeSend = typeof c.beforeSend == "function" ? c.beforeSend : undefined;
          if (Array.isArray(c.campaigns)) campaigns = c.campaigns.slice();
          c = Object.assign({}, c);
          const abs = (o, k) => {
            if (typeof o[k] == "string") {
              try { o[k] = new URL(o[k], location.href).href; } catch (e) { /* Rust says what is wrong */ }
            }
          };
          abs(c, "endpoint");
          abs(c, "cookieRefreshUrl");
          if (Array.isArray(c.destinations)) c.destinations = c.destinations.map((d) => {
            if (d && typeof d == "object") abs(d = Object.assign({}, d), "endpoint");
            return d;
          });
        }
      } catch (e) {
        /* A getter or Proxy that throws: the config cannot be read. */
        notify(5, "invalid_config", "init(config): the config cannot be read (" + (e && e.message) + ")");
        return void run("init", "!");
      }
      /* A config JSON cannot hold is refused here ("!": reported already). */
      const json = enc([c], false, c);
      run("init", json == null ? "!" : json);
    };
  }
  return function () {
    const json = arguments.length ? enc([].slice.call(arguments), kind == 1, null, name) : "[]";
    if (json == null) return;
    /* Larger than any event may be: refused here, before it is copied into the wasm. */
    if (json.length > 65536) return void report("event_too_large", name + ": the arguments are " + json.length + " characters once serialized; events are at most 32 KiB; the call was ignored");
    if (kind < 2) return void later(name, json);
    const r = run(name, json);
    if (kind == 2) return r;
    if (kind == 3) return r === undefined ? undefined : +r;
    if (kind == 4) {
      try { return r === undefined ? undefined : JSON.parse(r); } catch (e) { return undefined; }
    }
  };
}

/* Builds the API object around `f`, the wasm's one entry point: `f(method, argsJson)`. */
export function connect(f) {
  call = f;
  api = {};
  for (const m of METHODS.split(" ")) {
    const [path, kind] = m.split(":");
    const p = path.split(".");
    const holder = p[1] ? (api[p[0]] = api[p[0]] || {}) : api;
    holder[p[1] || p[0]] = method(path, +kind || 0);
  }
  api.flush = function () {
    return new Promise((resolve) => {
      if (!call) return resolve(false);
      flushes.push(resolve);
      later("flush", "[]");
    });
  };
  api.ready = function () {
    return new Promise((resolve) => {
      if (!waiting) resolve(true);
      else if (refused) resolve(false);
      else waiting.push(resolve);
    });
  };
  api.on = function (name, f) {
    if (typeof f == "function" && listeners.hasOwnProperty(name)) {
      listeners[name].push(f);
      syncListeners();
    } else report("invalid_argument", "on(name, callback): name is one of " + Object.keys(listeners).join(", ") + "; callback a function");
  };
  api.off = function (name, f) {
    const l = typeof name == "string" && listeners.hasOwnProperty(name) && listeners[name];
    const i = l ? l.indexOf(f) : -1;
    if (i >= 0) {
      l.splice(i, 1);
      syncListeners();
    }
  };
  /* Campaigns stay in JavaScript for the engage module (see engageSoon). */
  api.campaigns.add = function (c) {
    if (c == null) return;
    campaigns.push(c);
    if (engage && engage !== true) {
      try { engage.add(c); } catch (e) { /* reported by the module */ }
      return;
    }
    engageSoon();
  };
  /* A consent choice applies at once (not after the task), and starts or stops popups. */
  const consentChanged = () => {
    if (marketing()) engageSoon();
    else stopEngage();
  };
  for (const n of ["grant", "deny", "revoke"]) {
    api.consent[n] = function () {
      const json = arguments.length ? enc([].slice.call(arguments), false, null, "consent." + n) : "[]";
      if (json == null) return;
      run("consent." + n, json);
      /* Before init the choice waits with the other early calls, which run just after init's
         first task: look again then. */
      if (waiting) api.ready().then(() => setTimeout(consentChanged, 0));
      else consentChanged();
    };
  }
  /* Stops the SDK: the queue goes out by beacon or stays persisted for the next page (as when
     the page is hidden), then every listener, wrapper, timer and popup is removed; later calls
     do nothing. */
  api.shutdown = function () {
    if (!call) return;
    run("~hide", "0");
    stopEngage();
    engage = true;
    for (const f of undo.splice(0)) f();
    clearTimeout(timers.w);
    clearTimeout(timers.s);
    call = null;
  };
  /* For the build's entries: how to load the engage module. */
  api.__engage = function (f) {
    loadEngage = f;
    engageSoon();
  };
  /* For the script-tag loader: a click on markup made while the wasm was loading. */
  api.__markup = function (target) {
    const r = markup(target);
    if (r) later("~markup", r);
  };
  return api;
}
