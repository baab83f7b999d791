/* shoptrail's consent adapters: `consent.from` names the site's consent manager, whose choices
   become consent.grant, deny and revoke; `consent.gcm` tells Google Consent Mode each choice.
   The tracker loads this module only when its config names one of them (the script tag as
   shoptrail-consent.js beside itself, the npm package as a chunk), and hands it the public API.

   What a reading means:
   - `null`: the shopper has not decided (the banner shows or has not loaded): events keep
     waiting, or a choice stored earlier stands;
   - an object of category -> boolean: the choice. Without `analytics` it is a refusal: deny()
     when nothing was granted before, revoke() when it was (a withdrawal, which tells the
     collector and erases what was stored); otherwise grant(the granted categories). */
import { ADAPTERS, DEFAULT_MAPS, SHOPIFY, gcmKeys, pushGcm } from "./adapters.js";

/** How long a consent manager may take to appear on the page before it is reported; it is
 * looked for every 100 ms until then, every second after (a manager loaded late is heard). */
const FIND_MS = 10000;

/** Checks `map` against the adapter's kind of ids: an object of category -> non-empty list of
 * strings (numbers for TCF purposes 1-11). Returns the message of what is wrong, or "". */
function badMap(from, map, categories) {
  if (map === undefined) return "";
  if (!map || typeof map !== "object" || Array.isArray(map)) return "must be an object of category: ids";
  for (const c of Object.keys(map)) {
    const ids = map[c];
    if (categories.indexOf(c) < 0) return `names "${c}", which is not one of consent.categories (${categories.join(", ")})`;
    if (!Array.isArray(ids) || !ids.length) return `${c} must be a non-empty array`;
    for (const id of ids) {
      const ok = from === "tcf" ? Number.isInteger(id) && id >= 1 && id <= 11
        : from === "shopify" ? Object.prototype.hasOwnProperty.call(SHOPIFY, id)
          : typeof id === "string" && id.length > 0 && id.length <= 64;
      const want = from === "tcf" ? "a TCF purpose (1-11)"
        : from === "shopify" ? "one of " + Object.keys(SHOPIFY).join(", ") : "a non-empty string";
      if (!ok) return `${c}: ${JSON.stringify(id)} is not ${want}`;
    }
  }
  return "";
}

/** Starts the adapter `cfg.from` (and the Google Consent Mode signal with `cfg.gcm`) against
 * `api`, the SDK's public API; `report(code, message)` goes to onError. Returns the handle the
 * tracker keeps: `changed()` after each consent call, `stop()` on shutdown. */
export function start(api, cfg, report) {
  const from = typeof cfg.from === "string" ? cfg.from : "";
  const state0 = api.consent.get() || {};
  const categories = state0.categories || ["analytics", "marketing"];
  const fail = (msg) => report("consent_source_unavailable", msg + "; events keep waiting for consent.grant()");
  const undo = [];
  let stopped = false;
  let map;
  /* What the page or the manager calls back never throws into them: it is reported. */
  const safe = (f) => function () {
    try {
      return f.apply(this, arguments);
    } catch (e) {
      report("consent_source_unavailable", `the ${from || "gcm"} adapter failed: ${(e && e.message) || e}`);
    }
  };
  if (from) {
    const bad = badMap(from, cfg.map, categories);
    if (bad) {
      fail("consent.map " + bad);
    } else {
      map = Object.assign({}, DEFAULT_MAPS[from], cfg.map);
    }
  }

  /* Google Consent Mode from shoptrail's own choices (not when Consent Mode is the source:
     its own update would come back as a choice). The same state is not pushed twice. */
  let pushed = "";
  function signal() {
    if (!cfg.gcm || from === "gcm" || stopped) return;
    const st = api.consent.get();
    if (!st) return;
    const keys = gcmKeys(st.decided ? st.granted : []);
    const text = JSON.stringify(keys);
    if (text === pushed) return;
    pushGcm(pushed ? "update" : "default", keys);
    pushed = text;
  }

  /* Readings in one task come as one choice: a manager that sets its categories one by one
     (the WordPress Consent API) gives one consent change, not one per category. */
  let latest;
  function apply(reading) {
    if (stopped || !reading) return;
    if (!latest) Promise.resolve().then(decide);
    latest = reading;
  }

  const decide = safe(() => {
    const reading = latest;
    latest = undefined;
    if (stopped) return;
    const granted = categories.filter((c) => reading[c]);
    const st = api.consent.get() || {};
    const had = st.decided && (st.granted || []).indexOf("analytics") >= 0;
    if (granted.indexOf("analytics") < 0) {
      if (had) api.consent.revoke();
      else if (!st.decided || (st.granted || []).length) api.consent.deny();
    } else if (!st.decided || (st.granted || []).slice().sort().join() !== granted.slice().sort().join()) {
      api.consent.grant(granted);
    }
  });

  /* A reading: each category is granted when every id the map lists for it is. */
  function read(has) {
    const out = {};
    for (const c of categories) {
      const ids = map[c];
      out[c] = !!ids && ids.every(has);
    }
    return out;
  }

  if (map) {
    const adapter = ADAPTERS[from];
    const began = Date.now();
    let told = false;
    let timer;
    undo.push(() => clearTimeout(timer));
    const find = () => {
      if (stopped) return;
      let ok = false;
      try {
        ok = adapter(apply, read, undo, safe);
      } catch (e) {
        return fail(`the ${from} adapter failed: ${(e && e.message) || e}`);
      }
      if (ok) return;
      const late = Date.now() - began >= FIND_MS;
      if (late && !told) {
        told = true;
        fail(`no ${from} consent manager on the page after ${FIND_MS / 1000} s`);
      }
      timer = setTimeout(find, late ? 1000 : 100);
    };
    find();
  }
  const tell = safe(signal);
  tell();
  return {
    changed: tell,
    stop() {
      stopped = true;
      for (const f of undo.splice(0)) try { f(); } catch (e) { /* already gone */ }
    },
  };
}
