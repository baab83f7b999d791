// The SDKs under test: how each is staged into the static site, the page that loads it the way a
// shop does (a snippet and an async script tag), and how its requests are decoded into events.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

export const EVENT = "Product Added";
/** The properties of every `track` call, the same for every SDK. */
export const PAYLOAD = { product_id: "nw-001", sku: "NW-001", name: "Enamel Camp Mug", price: 24, quantity: 1, currency: "USD" };
const WRITE_KEY = "bench-write-key";

function pkgVersion(nm, name) {
  return JSON.parse(readFileSync(join(nm, name, "package.json"), "utf8")).version;
}

function copyDir(from, to, keep) {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) if (keep(f)) copyFileSync(join(from, f), join(to, f));
}

function json(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

/** Segment-shaped bodies (shoptrail, Segment, RudderStack): one event, or `{batch: [...]}`;
 * gzip bodies (shoptrail's `compression=gzip`) are inflated first. */
function segmentEvents(body) {
  const plain = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body;
  const j = json(plain.toString("utf8"));
  if (!j || typeof j !== "object") return [];
  const list = Array.isArray(j.batch) ? j.batch : [j];
  return list.filter((e) => e && typeof e.type === "string")
    .map((e) => ({ id: e.messageId, name: e.type === "track" ? e.event : e.type }));
}

/** PostHog: JSON, gzip (`compression=gzip-js`) or base64 (`compression=base64`, `data=` form). */
function posthogEvents(body, url) {
  const compression = new URL(url).searchParams.get("compression");
  let text;
  if (compression === "gzip-js" || (body[0] === 0x1f && body[1] === 0x8b)) {
    text = gunzipSync(body).toString("utf8");
  } else {
    text = body.toString("utf8");
    if (compression === "base64" || text.startsWith("data=")) {
      const form = new URLSearchParams(text).get("data") ?? text;
      text = Buffer.from(form, "base64").toString("utf8");
    }
  }
  const j = json(text);
  if (!j) return [];
  const list = Array.isArray(j) ? j : Array.isArray(j.batch) ? j.batch : [j];
  return list.filter((e) => e && typeof e.event === "string")
    .map((e) => ({ id: e.uuid ?? e.properties?.$insert_id, name: e.event }));
}

/** Amplitude HTTP API v2: `{api_key, events: [{event_type, insert_id, ...}], ...}`, JSON (gzip only
 * when `enableRequestBodyCompression` is set, or for Amplitude's own hosts). */
function amplitudeEvents(body) {
  const plain = body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body;
  const j = json(plain.toString("utf8"));
  if (!j || !Array.isArray(j.events)) return [];
  return j.events.filter((e) => e && typeof e.event_type === "string")
    .map((e) => ({ id: e.insert_id, name: e.event_type }));
}

/** Mixpanel: `data=<base64 of a JSON array>` form bodies (the default `api_payload_format`), or
 * `data=<JSON>` with `api_payload_format: "json"`; each item `{event, properties: {$insert_id, ...}}`. */
function mixpanelEvents(body) {
  let text = body.toString("utf8");
  if (text.startsWith("data=")) {
    const data = new URLSearchParams(text).get("data") ?? "";
    text = /^\s*[[{]/.test(data) ? data : Buffer.from(data, "base64").toString("utf8");
  }
  const j = json(text);
  const list = Array.isArray(j) ? j : j ? [j] : [];
  return list.filter((e) => e && typeof e.event === "string")
    .map((e) => ({ id: e.properties?.$insert_id, name: e.event }));
}

/** Snowplow tracker protocol: `{schema: payload_data, data: [{e, eid, ue_pr | ue_px, ...}]}`. */
function snowplowEvents(body) {
  const j = json(body.toString("utf8"));
  if (!j || !Array.isArray(j.data)) return [];
  return j.data.filter((e) => e && e.eid).map((e) => {
    let name = e.e;
    const ue = e.ue_pr ?? (e.ue_px ? Buffer.from(e.ue_px, "base64url").toString("utf8") : undefined);
    const schema = ue ? json(ue)?.data?.schema : undefined;
    if (e.e === "ue" && typeof schema === "string" && schema.includes("/product_added/")) name = EVENT;
    return { id: e.eid, name };
  });
}

// With `?cold=N` in the page's URL, the first N `track` calls run in the first task after ready:
// in a task of their own, not inside the SDK's ready callback (PostHog and Mixpanel call theirs in
// the middle of their own initialization), and before anything else the harness does.
const BENCH_HEAD = `<script>
window.__bench = { ready: null, error: null, cold: null };
window.__benchFail = function (e) { __bench.error = String((e && e.message) || e); };
window.__benchReady = function () {
  if (__bench.ready !== null) return;
  __bench.ready = performance.now();
  var n = Number(new URLSearchParams(location.search).get("cold")) || 0;
  if (n > 0) setTimeout(function () {
    try {
      var p = ${JSON.stringify(PAYLOAD)}, first = null, t0 = performance.now();
      for (var i = 0; i < n; i++) {
        __benchTrack({ product_id: p.product_id, sku: p.sku, name: p.name, price: p.price, quantity: p.quantity, currency: p.currency });
        if (first === null) first = performance.now() - t0;
      }
      __bench.cold = { calls: n, ms: performance.now() - t0, firstMs: first };
    } catch (e) { __benchFail(e); }
  }, 0);
};
</script>`;

function page(title, head) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
${BENCH_HEAD}
${head}
</head><body><h1>Enamel Camp Mug</h1><p>$24.00</p><button type="button">Add to cart</button></body></html>
`;
}

export function sdks({ root, benchDir, baseline }) {
  const nm = join(benchDir, "node_modules");
  const cargo = readFileSync(join(root, "Cargo.toml"), "utf8");
  const shoptrailVersion = (cargo.match(/^\[package\][^[]*?^version\s*=\s*"([^"]+)"/ms) || [])[1] || "?";
  // The snippet shops paste, as README.md has it (generated from pkg-config/api.json).
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const stub = (readme.match(/<!-- generated:snippet -->[\s\S]*?<script>\n(!function[^\n]*)\n<\/script>/) || [])[1];
  if (!stub) throw new Error("README.md has no generated snippet (cargo xtask api)");
  /** shoptrail's row from a directory holding shoptrail.js and shoptrail.wasm (and
   * shoptrail-lite.wasm, which the loader fetches for this config, where the build has one). */
  const shoptrailRow = (id, name, dist, pkg, version) => ({
      id,
      name,
      pkg,
      version,
      stage(site) {
        // Copy the pair together and check the wasm against the hash the loader carries, so a
        // rebuild of dist/ in the middle of the copy cannot leave a mismatched pair.
        const out = join(site, id);
        mkdirSync(out, { recursive: true });
        for (let attempt = 0; ; attempt++) {
          const js = readFileSync(join(dist, "shoptrail.js"));
          const wasms = ["shoptrail.wasm", "shoptrail-lite.wasm"]
            .filter((f) => existsSync(join(dist, f)))
            .map((f) => [f, readFileSync(join(dist, f))]);
          const sri = (b) => "sha384-" + createHash("sha384").update(b).digest("base64");
          if (!js.includes("sha384-") || wasms.every(([, w]) => js.includes(sri(w)))) {
            writeFileSync(join(out, "shoptrail.js"), js);
            for (const [f, w] of wasms) writeFileSync(join(out, f), w);
            return;
          }
          if (attempt >= 20) throw new Error(`${dist}: shoptrail.js and shoptrail.wasm do not match (rebuild with cargo xtask build)`);
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
        }
      },
      html: () => page("shoptrail", `<script>
${stub}
shoptrail.init({ endpoint: "/v1/batch", compress: true, bots: "allow" });
shoptrail.ready().then(function () {
  if (shoptrail.loaded === true) __benchReady(); else __benchFail("ready() resolved but shoptrail.loaded is not true");
});
window.__benchTrack = function (p) { shoptrail.track("${EVENT}", p); };
window.__benchFlush = function () { return shoptrail.flush(); };
window.__benchAnonymousId = function () { return shoptrail.anonymousId(); };
</script>
<script async src="/bench/${id}/shoptrail.js"></script>`),
      events: segmentEvents,
      config: "snippet + async script tag; init({endpoint: \"/v1/batch\", compress: true, bots: \"allow\"}) (headless Chromium is a bot to it) (the collector inflates compression=gzip); defaults (batchSize 20, flushInterval 1000 ms); ready = ready() resolved and shoptrail.loaded === true; flush() after the loop",
    });
  const rows = [shoptrailRow("shoptrail", "shoptrail", join(root, "dist"), "shoptrail (dist/)", shoptrailVersion)];
  if (baseline) {
    rows.push(shoptrailRow("shoptrail-baseline", "shoptrail (baseline)", baseline, `shoptrail (${baseline})`, "baseline"));
  }
  return [
    ...rows,
    {
      id: "segment",
      name: "Segment analytics-next",
      pkg: "@segment/analytics-next",
      version: pkgVersion(nm, "@segment/analytics-next"),
      stage(site) {
        const umd = join(nm, "@segment/analytics-next/dist/umd");
        copyDir(umd, join(site, "segment/analytics-next/bundles"), (f) => f.endsWith(".js"));
        const settings = join(site, `segment/v1/projects/${WRITE_KEY}`);
        mkdirSync(settings, { recursive: true });
        copyFileSync(join(benchDir, "fixtures/segment-settings.json"), join(settings, "settings"));
      },
      html: () => page("Segment", `<script>
!function(){var i="analytics",analytics=window[i]=window[i]||[];if(!analytics.initialize)if(analytics.invoked)window.console&&console.error&&console.error("Segment snippet included twice.");else{analytics.invoked=!0;analytics.methods=["trackSubmit","trackClick","trackLink","trackForm","pageview","identify","reset","group","track","ready","alias","debug","page","screen","once","off","on","addSourceMiddleware","addIntegrationMiddleware","setAnonymousId","addDestinationMiddleware","register"];analytics.factory=function(e){return function(){if(window[i].initialized)return window[i][e].apply(window[i],arguments);var n=Array.prototype.slice.call(arguments);if(["track","screen","alias","group","page","identify"].indexOf(e)>-1){var c=document.querySelector("link[rel='canonical']");n.push({__t:"bpc",c:c&&c.getAttribute("href")||void 0,p:location.pathname,u:location.href,s:location.search,t:document.title,r:document.referrer})}n.unshift(e);analytics.push(n);return analytics}};for(var n=0;n<analytics.methods.length;n++){var key=analytics.methods[n];analytics[key]=analytics.factory(key)}analytics.load=function(key,n){var t=document.createElement("script");t.type="text/javascript";t.async=!0;t.setAttribute("data-global-segment-analytics-key",i);t.src=analytics._cdn+"/analytics-next/bundles/standalone.js";var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t,r);analytics._loadOptions=n};analytics._writeKey="${WRITE_KEY}";analytics._cdn=location.origin+"/bench/segment";analytics.SNIPPET_VERSION="5.2.1";
analytics.load("${WRITE_KEY}",{integrations:{"Segment.io":{apiHost:location.host+"/v1",protocol:"http"}}});
analytics.page();
}}();
analytics.ready(function () { __benchReady(); });
window.__benchTrack = function (p) { analytics.track("${EVENT}", p); };
window.__benchAnonymousId = function () { return window.analytics.user && window.analytics.user().anonymousId(); };
</script>`),
      events: segmentEvents,
      config: "official snippet loading the standalone build (dist/umd/standalone.js) with analytics._cdn set to the local server, which answers the settings fetch with fixtures/segment-settings.json (no destinations, metrics sampleRate 0); Segment.io apiHost = the collector's /v1 over http; default delivery (one request per event); ready = analytics.ready()",
    },
    {
      id: "rudderstack",
      name: "RudderStack v3",
      pkg: "@rudderstack/analytics-js",
      version: pkgVersion(nm, "@rudderstack/analytics-js"),
      async stage(site) {
        const { build } = await import("esbuild");
        await build({
          entryPoints: [join(benchDir, "rudderstack-entry.js")],
          absWorkingDir: benchDir,
          bundle: true,
          minify: true,
          format: "iife",
          target: "es2020",
          legalComments: "none",
          logLevel: "error",
          outfile: join(site, "rudderstack/rsa.min.js"),
        });
        mkdirSync(join(site, "rudderstack/sourceConfig"), { recursive: true });
        copyFileSync(join(benchDir, "fixtures/rudderstack-source-config.json"),
          join(site, "rudderstack/sourceConfig/index.html"));
      },
      html: () => page("RudderStack", `<script>
!function(){"use strict";window.RudderSnippetVersion="3.0.60";var e="rudderanalytics";window[e]||(window[e]=[]);var rudderanalytics=window[e];if(Array.isArray(rudderanalytics)){if(true===rudderanalytics.snippetExecuted&&window.console&&console.error){console.error("RudderStack JavaScript SDK snippet included more than once.")}else{rudderanalytics.snippetExecuted=true;window.rudderAnalyticsBuildType="modern";var r=["setDefaultInstanceKey","load","ready","page","track","identify","alias","group","reset","setAnonymousId","startSession","endSession","consent","addCustomIntegration"];for(var n=0;n<r.length;n++){var t=r[n];rudderanalytics[t]=function(r){return function(){var n;Array.isArray(window[e])?rudderanalytics.push([r].concat(Array.prototype.slice.call(arguments))):null===(n=window[e][r])||void 0===n||n.apply(window[e],arguments)}}(t)}var s=document.createElement("script");s.src="/bench/rudderstack/rsa.min.js";s.async=true;document.head.appendChild(s)}}}();
rudderanalytics.load("${WRITE_KEY}", location.origin, { configUrl: location.origin + "/bench/rudderstack" });
rudderanalytics.page();
rudderanalytics.ready(function () { __benchReady(); });
window.__benchTrack = function (p) { rudderanalytics.track("${EVENT}", p); };
window.__benchAnonymousId = function () { return rudderanalytics.getAnonymousId(); };
</script>`),
      events: segmentEvents,
      config: "v3 snippet loading rsa.min.js, which esbuild makes from the package's bundled build (plugins included) plus the CDN build's auto-start; dataPlaneUrl = the collector; configUrl = the local server, answering sourceConfig with fixtures/rudderstack-source-config.json (no destinations, error and metrics collection off); default delivery (XhrQueue, one request per event); ready = rudderanalytics.ready()",
    },
    {
      id: "posthog",
      name: "PostHog",
      pkg: "posthog-js",
      version: pkgVersion(nm, "posthog-js"),
      stage(site) {
        copyDir(join(nm, "posthog-js/dist"), join(site, "posthog/static"), (f) => f.endsWith(".js"));
      },
      html: () => page("PostHog", `<script>
!function(t,e){var o,n,p,r;e.__SV||(window.posthog=e,e._i=[],e.init=function(i,s,a){function g(t,e){var o=e.split(".");2==o.length&&(t=t[o[0]],e=o[1]),t[e]=function(){t.push([e].concat(Array.prototype.slice.call(arguments,0)))}}(p=t.createElement("script")).type="text/javascript",p.crossOrigin="anonymous",p.async=!0,p.src=s.api_host+"/static/array.js",(r=t.getElementsByTagName("script")[0]).parentNode.insertBefore(p,r);var u=e;for(void 0!==a?u=e[a]=[]:a="posthog",u.people=u.people||[],u.toString=function(t){var e="posthog";return"posthog"!==a&&(e+="."+a),t||(e+=" (stub)"),e},u.people.toString=function(){return u.toString(1)+".people (stub)"},o="init capture register register_once register_for_session unregister unregister_for_session getFeatureFlag getFeatureFlagPayload isFeatureEnabled reloadFeatureFlags updateEarlyAccessFeatureEnrollment getEarlyAccessFeatures on onFeatureFlags onSessionId getSurveys getActiveMatchingSurveys renderSurvey canRenderSurvey identify setPersonProperties group resetGroups setPersonPropertiesForFlags resetPersonPropertiesForFlags setGroupPropertiesForFlags resetGroupPropertiesForFlags reset get_distinct_id getGroups get_session_id get_session_replay_url alias set_config startSessionRecording stopSessionRecording sessionRecordingStarted captureException loadToolbar get_property getSessionProperty createPersonProfile opt_in_capturing opt_out_capturing has_opted_in_capturing has_opted_out_capturing clear_opt_in_out_capturing debug".split(" "),n=0;n<o.length;n++)g(u,o[n]);e._i.push([i,s,a])},e.__SV=1)}(document,window.posthog||[]);
posthog.init("phc_bench", {
  api_host: location.origin + "/bench/posthog",
  advanced_disable_flags: true,
  opt_out_useragent_filter: true,
  loaded: function () { __benchReady(); },
});
window.__benchTrack = function (p) { posthog.capture("${EVENT}", p); };
window.__benchAnonymousId = function () { return posthog.get_distinct_id(); };
</script>`),
      events: posthogEvents,
      config: "official snippet loading dist/array.js; api_host = the local server (/bench/posthog), which also serves the lazily loaded extensions from dist/ as /static/*.js; advanced_disable_flags: true (no remote config, no /flags); opt_out_useragent_filter: true (headless Chromium under automation reports navigator.webdriver, and PostHog drops events from what looks like a bot); everything else default (autocapture, $pageview, batching every 3 s, compression); ready = the loaded callback",
    },
    {
      id: "snowplow",
      name: "Snowplow",
      pkg: "@snowplow/browser-tracker",
      version: pkgVersion(nm, "@snowplow/browser-tracker"),
      stage(site) {
        mkdirSync(join(site, "snowplow"), { recursive: true });
        copyFileSync(join(nm, "@snowplow/browser-tracker/dist/index.umd.min.js"), join(site, "snowplow/sp.js"));
      },
      html: () => page("Snowplow", `<script>
window.__snowplowLoaded = function () {
  try {
    var sp = window.snowplowBrowserTracking;
    sp.newTracker("sp", location.origin, {
      appId: "bench",
      // The collector has no Snowplow endpoint and answers 404, after which the tracker stops
      // draining its queue until the next event; a Snowplow collector answers 200.
      customFetch: function (req) {
        return fetch(req).then(function (r) { return r.status === 404 ? new Response("", { status: 200 }) : r; });
      },
    });
    sp.trackPageView();
    __benchReady();
  } catch (e) { __benchFail(e); }
};
window.__benchTrack = function (p) {
  snowplowBrowserTracking.trackSelfDescribingEvent({ event: { schema: "iglu:com.example.shop/product_added/jsonschema/1-0-0", data: p } });
};
window.__benchFlush = function () { snowplowBrowserTracking.flushBuffer(); };
window.__benchAnonymousId = function () { return snowplowBrowserTracking.getDomainSessionId && snowplowBrowserTracking.getDomainSessionId(); };
</script>
<script async src="/bench/snowplow/sp.js" onload="__snowplowLoaded()" onerror="__benchFail('sp.js failed to load')"></script>`),
      events: snowplowEvents,
      config: "dist/index.umd.min.js (the package's prebuilt browser bundle; the sp.js tag build is not on npm) as an async script tag, newTracker on its onload with the collector as endpoint; each track is a self-describing event (schema product_added) carrying the same properties; a customFetch that reports the collector's 404 (it has no tp2 endpoint) to the tracker as the 200 a Snowplow collector gives, since after a failed request the tracker stops draining its queue until the next event; otherwise defaults (POST, bufferSize 1, localStorage queue); ready = newTracker and trackPageView returned",
    },
    {
      id: "amplitude",
      name: "Amplitude",
      pkg: "@amplitude/analytics-browser",
      version: pkgVersion(nm, "@amplitude/analytics-browser"),
      stage(site) {
        // lib/scripts/amplitude-min.js is the file the official snippet loads from Amplitude's CDN
        // (analytics-browser-<version>-min.js.gz, the snippet's integrity hash is this file's).
        // The package's amplitude-min.umd.js cannot take its place: it replaces window.amplitude
        // instead of replaying the snippet's queue.
        const scripts = join(nm, "@amplitude/analytics-browser/lib/scripts");
        const snippet = readFileSync(join(scripts, "amplitude-snippet-min.js"), "utf8");
        const cdn = snippet.match(/"https:\/\/cdn\.amplitude\.com\/libs\/(analytics-browser-[^"]+-min\.js)\.gz"/);
        if (!cdn) throw new Error("amplitude-snippet-min.js: no CDN script URL to point at the local copy");
        mkdirSync(join(site, "amplitude"), { recursive: true });
        copyFileSync(join(scripts, "amplitude-min.js"), join(site, "amplitude", cdn[1]));
        this.snippet = snippet.replace(cdn[0], JSON.stringify(`/bench/amplitude/${cdn[1]}`)).trim();
      },
      html() {
        return page("Amplitude", `<script>
${this.snippet}
amplitude.init("bench-api-key", {
  serverUrl: location.origin + "/2/httpapi",
  // Remote configuration and diagnostics would call Amplitude's hosts; the autocapture plugins
  // named here are off by default and stay off. Page views, sessions, attribution, form and
  // file-download tracking keep their defaults (on): they only send events to serverUrl.
  fetchRemoteConfig: false,
  enableDiagnostics: false,
  autocapture: { elementInteractions: false, frustrationInteractions: false, networkTracking: false, webVitals: false, performanceTracking: false },
}).promise.then(function () { __benchReady(); }, __benchFail);
window.__benchTrack = function (p) { amplitude.track("${EVENT}", p); };
window.__benchFlush = function () { return amplitude.flush().promise.then(function () { return null; }); };
window.__benchAnonymousId = function () { return amplitude.getDeviceId(); };
</script>`);
      },
      events: amplitudeEvents,
      config: "official snippet (lib/scripts/amplitude-snippet-min.js, its integrity hash kept) loading lib/scripts/amplitude-min.js, the file it loads from Amplitude's CDN, from the local server; init(key, {serverUrl: the collector's /2/httpapi, fetchRemoteConfig: false, enableDiagnostics: false, autocapture: {elementInteractions, frustrationInteractions, networkTracking, webVitals, performanceTracking: false}}) (those are off by default anyway; page views, sessions, attribution, form and file-download tracking stay on, as by default); otherwise defaults (fetch transport, flushQueueSize 30, flushIntervalMillis 1000, flushMaxRetries 5, queue in localStorage); ready = init(...).promise resolved; flush() after the loop",
    },
    {
      id: "mixpanel",
      name: "Mixpanel",
      pkg: "mixpanel-browser",
      version: pkgVersion(nm, "mixpanel-browser"),
      stage(site) {
        // dist/mixpanel.min.js is the snippet build (it boots from the snippet's window.mixpanel
        // stub), what the snippet loads from Mixpanel's CDN as mixpanel-2-latest.min.js. The
        // snippet itself honours MIXPANEL_CUSTOM_LIB_URL, Mixpanel's documented way to self-host.
        const dist = join(nm, "mixpanel-browser/dist");
        mkdirSync(join(site, "mixpanel"), { recursive: true });
        copyFileSync(join(dist, "mixpanel.min.js"), join(site, "mixpanel/mixpanel-2-latest.min.js"));
        this.snippet = readFileSync(join(dist, "mixpanel-jslib-snippet.min.js"), "utf8").trim();
        if (!this.snippet.includes("MIXPANEL_CUSTOM_LIB_URL")) throw new Error("mixpanel-jslib-snippet.min.js no longer reads MIXPANEL_CUSTOM_LIB_URL");
      },
      html() {
        return page("Mixpanel", `<script>
var MIXPANEL_CUSTOM_LIB_URL = "/bench/mixpanel/mixpanel-2-latest.min.js";
${this.snippet}
mixpanel.init("bench-token", {
  api_host: location.origin,
  track_pageview: true,
  // All off by default; said here because each would load code from or call Mixpanel's hosts
  // (session recording, feature flags, remote settings) or add events (autocapture).
  autocapture: false,
  record_sessions_percent: 0,
  flags: false,
  remote_settings_mode: "disabled",
  loaded: function () { __benchReady(); },
});
window.__benchTrack = function (p) { mixpanel.track("${EVENT}", p); };
window.__benchAnonymousId = function () { return mixpanel.get_distinct_id(); };
</script>`);
      },
      events: mixpanelEvents,
      config: "official snippet (dist/mixpanel-jslib-snippet.min.js) with MIXPANEL_CUSTOM_LIB_URL set to the local copy of dist/mixpanel.min.js (the snippet build the CDN serves); init(token, {api_host: the collector, track_pageview: true, autocapture: false, record_sessions_percent: 0, flags: false, remote_settings_mode: \"disabled\"}) (all but track_pageview are the defaults); otherwise defaults (XHR POST of base64 data= forms to /track/, batches of 50 every 5 s, queue in localStorage); ready = the loaded callback; no public flush",
    },
  ];
}

/** A page with no SDK, for the heap baseline. */
export const blankPage = page("no SDK", "");
