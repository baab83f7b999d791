/* One reader per consent manager, each from its vendor's published API and events. An adapter
   is `(apply, read, undo, safe) => found`: it returns false while its consent manager is not on the
   page yet (it is asked again every 100 ms, for 10 s); once found, it applies the current
   reading at once (`apply(read(has))`, `has(id)` telling whether one of the manager's purposes
   or groups is granted, or `apply(null)` while the shopper has not decided) and again on each
   change the manager announces, and pushes onto `undo` what removes its listeners. Every
   function the page or the manager calls back goes through `safe`, which reports what throws
   instead of throwing into them. */

const w = window;

/** Which of the manager's ids each category needs (all of them), unless `consent.map` says. */
export const DEFAULT_MAPS = {
  /* IAB TCF purposes: 1 store and access information; 7-10 measure, understand, develop;
     3-4 personalised advertising profiles and their use. */
  tcf: { analytics: [1, 7, 8, 9, 10], marketing: [1, 3, 4] },
  gcm: { analytics: ["analytics_storage"], marketing: ["ad_storage", "ad_user_data", "ad_personalization"] },
  /* OneTrust's default groups: C0002 performance, C0004 targeting. */
  onetrust: { analytics: ["C0002"], marketing: ["C0004"] },
  cookiebot: { analytics: ["statistics"], marketing: ["marketing"] },
  /* Shopify's Customer Privacy API: analyticsProcessingAllowed(), marketingAllowed(),
     preferencesProcessingAllowed(), saleOfDataAllowed(). */
  shopify: { analytics: ["analytics"], marketing: ["marketing"] },
  wp: { analytics: ["statistics"], marketing: ["marketing"] },
};

function listen(target, type, f, undo, safe) {
  const g = safe(f);
  target.addEventListener(type, g);
  undo.push(() => target.removeEventListener(type, g));
}

/* ---- IAB TCF v2.2 ----
   `__tcfapi("addEventListener", 2, cb)` calls back with the TC data at once and on each change.
   `gdprApplies: false`: no consent is needed, everything is granted. Otherwise only a stored
   or just-made choice counts (`tcloaded`, `useractioncomplete`; `cmpuishown` is the banner).
   A purpose counts when consented to, by the shopper for vendors or for the publisher; purposes
   2 and 7-10 also under a legitimate interest the shopper did not object to (TCF 2.2 allows no
   legitimate interest for 1 and 3-6). */
function tcf(apply, read, undo, safe) {
  const api = w.__tcfapi;
  if (typeof api !== "function") return false;
  let id;
  let stopped = false;
  api("addEventListener", 2, safe((d, ok) => {
    if (d && d.listenerId != null) id = d.listenerId;
    /* Stopped before the manager's first answer: its listener goes now. */
    if (stopped) return void (id != null && api("removeEventListener", 2, () => {}, id));
    if (!ok || !d) return;
    if (d.gdprApplies === false) return apply(read(() => true));
    if (d.eventStatus !== "tcloaded" && d.eventStatus !== "useractioncomplete") return apply(null);
    const on = (set, n) => !!(set && set[n]);
    const li = (n) => n === 2 || (n >= 7 && n <= 10);
    apply(read((n) =>
      on(d.purpose && d.purpose.consents, n) || on(d.publisher && d.publisher.consents, n) ||
      (li(n) && (on(d.purpose && d.purpose.legitimateInterests, n) || on(d.publisher && d.publisher.legitimateInterests, n)))));
  }));
  undo.push(() => {
    stopped = true;
    if (id != null) api("removeEventListener", 2, () => {}, id);
  });
  return true;
}

/* ---- Google Consent Mode v2 ----
   gtag("consent", "default" | "update", {...}) pushes its `arguments` onto window.dataLayer,
   read here from the start and on each later push (gtag.js keeps the push it finds). A
   `default` granting `analytics` applies (no banner where the site grants by default); one
   denying it waits for an `update`, the shopper's choice. The page cannot tell the shopper's
   region: where any default names a `region`, no default is applied, only an `update`. */
function gcm(apply, read, undo, safe) {
  const dl = (w.dataLayer = w.dataLayer || []);
  const keys = {};
  let decided = false;
  let regional = false;
  const see = (e) => {
    if (!e || typeof e !== "object" || Object.prototype.toString.call(e) !== "[object Arguments]") return false;
    if (e[0] !== "consent" || (e[1] !== "default" && e[1] !== "update") || !e[2] || typeof e[2] !== "object") return false;
    if (e[1] === "default" && e[2].region) {
      regional = true;
      return true;
    }
    if (e[1] === "update") decided = true;
    for (const k in e[2]) if (typeof e[2][k] === "string") keys[k] = e[2][k];
    return true;
  };
  const now = () => {
    const r = read((k) => keys[k] === "granted");
    apply(decided || (!regional && r.analytics) ? r : null);
  };
  let any = false;
  for (let i = 0; i < dl.length; i++) any = see(dl[i]) || any;
  const push = dl.push;
  const heard = safe((list) => {
    let hit = false;
    for (let i = 0; i < list.length; i++) hit = see(list[i]) || hit;
    if (hit) now();
  });
  const wrapper = function () {
    const out = push.apply(this, arguments);
    heard(arguments);
    return out;
  };
  dl.push = wrapper;
  /* Put back only while nobody (Google Tag Manager) wrapped it since. */
  undo.push(() => { if (dl.push === wrapper) dl.push = push; });
  if (any) now();
  return true;
}

/** The Consent Mode keys for shoptrail's granted categories (analytics_storage from
 * `analytics`; ad_storage, ad_user_data and ad_personalization from `marketing`). */
export function gcmKeys(granted) {
  const out = {};
  for (const c in DEFAULT_MAPS.gcm) {
    for (const k of DEFAULT_MAPS.gcm[c]) out[k] = granted.indexOf(c) >= 0 ? "granted" : "denied";
  }
  return out;
}

/** gtag("consent", command, keys): through the page's gtag when it has one, else as gtag does
 * (its `arguments` pushed onto dataLayer; gtag.js reads no arrays as commands). */
export function pushGcm(command, keys) {
  if (typeof w.gtag === "function") return w.gtag("consent", command, keys);
  const dl = (w.dataLayer = w.dataLayer || []);
  dl.push((function () { return arguments; })("consent", command, keys));
}

/* ---- OneTrust ----
   OnetrustActiveGroups (OptanonActiveGroups in older builds) lists the active groups
   (",C0001,C0002,"); OneTrustGroupsUpdated fires on window at load and after each change. The
   shopper has decided once the banner is closed (IsAlertBoxClosed()), or where the region has
   no banner (GetDomainData().ShowAlertNotice false); before that the groups are the region's
   defaults: they apply when they grant `analytics` (an opt-out region), else nothing is
   decided. window.OneTrust can be a placeholder before the SDK: found once it has the methods. */
function onetrust(apply, read, undo, safe) {
  const ot = w.OneTrust;
  if (!ot || typeof ot.IsAlertBoxClosed !== "function") return false;
  const now = () => {
    const list = w.OnetrustActiveGroups || w.OptanonActiveGroups;
    const groups = ("," + (typeof list === "string" ? list : "") + ",").toUpperCase();
    const r = read((g) => groups.indexOf("," + String(g).toUpperCase() + ",") >= 0);
    let noBanner = false;
    try { noBanner = typeof ot.GetDomainData === "function" && ot.GetDomainData().ShowAlertNotice === false; } catch (e) { /* not ready */ }
    apply(ot.IsAlertBoxClosed() || noBanner || r.analytics ? r : null);
  };
  listen(w, "OneTrustGroupsUpdated", now, undo, safe);
  now();
  return true;
}

/* ---- Cookiebot ----
   Cookiebot.consent holds the categories; `hasResponse` says the shopper answered. It fires
   CookiebotOnConsentReady (and OnAccept, OnDecline) on window. */
function cookiebot(apply, read, undo, safe) {
  const cb = w.Cookiebot;
  if (!cb || !cb.consent) return false;
  const now = () => {
    const r = read((k) => cb.consent[k] === true);
    apply(cb.hasResponse || r.analytics ? r : null);
  };
  for (const t of ["CookiebotOnConsentReady", "CookiebotOnAccept", "CookiebotOnDecline"]) listen(w, t, now, undo, safe);
  now();
  return true;
}

/* ---- Shopify's Customer Privacy API ----
   Loaded with Shopify.loadFeatures when the theme has not; `currentVisitorConsent()` says what
   the shopper chose ("yes", "no", or "" while undecided); without a banner to show
   (`shouldShowBanner()` false) the allowed() answers stand. visitorConsentCollected fires on
   document after each choice. */
export const SHOPIFY = {
  analytics: "analyticsProcessingAllowed",
  marketing: "marketingAllowed",
  preferences: "preferencesProcessingAllowed",
  sale_of_data: "saleOfDataAllowed",
};
let shopifyLoading = false;
function shopify(apply, read, undo, safe) {
  const S = w.Shopify;
  const cp = S && S.customerPrivacy;
  if (!cp || typeof cp.analyticsProcessingAllowed !== "function") {
    if (S && typeof S.loadFeatures === "function" && !shopifyLoading) {
      shopifyLoading = true;
      S.loadFeatures([{ name: "consent-tracking-api", version: "0.1" }], () => {});
    }
    return false;
  }
  const now = () => {
    const r = read((k) => {
      const f = cp[SHOPIFY[k]];
      return typeof f === "function" && f.call(cp) === true;
    });
    const seen = typeof cp.currentVisitorConsent === "function" ? cp.currentVisitorConsent() || {} : {};
    const needed = typeof cp.shouldShowBanner === "function" ? cp.shouldShowBanner() : true;
    /* "yes" / "no" (true / false in some versions); "" or nothing: undecided. */
    const chose = seen.analytics != null && seen.analytics !== "";
    apply(!needed || chose || r.analytics ? r : null);
  };
  listen(document, "visitorConsentCollected", now, undo, safe);
  now();
  return true;
}

/* ---- The WordPress Consent API ----
   wp_has_consent(category) answers for functional, preferences, statistics,
   statistics-anonymous and marketing (true for everything without a consent type, and for an
   unanswered category with an `optout` one); wp_listen_for_consent_change fires on document
   after a change, wp_consent_type_defined once a consent manager set its type. Until a type
   is set (with consent_api.waitfor_consent_hook, a manager sets it later) nothing is decided:
   wp_has_consent would grant everything then. With a type, the shopper has decided once the
   cookie of a category `analytics` needs says allow or deny. */
/** The value of the cookie `name`, or "". */
function cookie(name) {
  for (const c of document.cookie.split(";")) {
    const i = c.indexOf("=");
    if (i > 0 && c.slice(0, i).trim() === name) return c.slice(i + 1).trim();
  }
  return "";
}

function wp(apply, read, undo, safe) {
  if (typeof w.wp_has_consent !== "function") return false;
  const now = () => {
    const waits = w.consent_api && w.consent_api.waitfor_consent_hook;
    if (!w.wp_consent_type && (waits || !w.wp_fallback_consent_type)) return apply(null);
    const r = read((c) => w.wp_has_consent(c) === true);
    const prefix = (w.consent_api && w.consent_api.cookie_prefix) || "wp_consent";
    const decided = read((c) => /^(allow|deny)$/.test(cookie(prefix + "_" + c)));
    apply(decided.analytics || r.analytics ? r : null);
  };
  listen(document, "wp_listen_for_consent_change", now, undo, safe);
  listen(document, "wp_consent_type_defined", now, undo, safe);
  now();
  return true;
}

/** The adapters by `consent.from`. */
export const ADAPTERS = { tcf, gcm, onetrust, cookiebot, shopify, wp };
