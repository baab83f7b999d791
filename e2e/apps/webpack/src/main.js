// The build without the optional options (destinations, beforeSend, ...): this app names none.
import { init, track, flush, ready, anonymousId, on } from "shoptrail/lite";

const out = document.getElementById("result");
const errors = [];
const onError = (e) => errors.push(`${e.code}: ${e.message}`);

/* ?refused=option|endpoint: an init the SDK refuses (a misspelt option, or an http:// endpoint
   on a public host); nothing the page awaits may hang. */
async function refused(why) {
  init(why == "option"
    ? { endpoint: "/v1/batch", batchsize: 5, onError }
    : { endpoint: "http://collect.example.com/v1/batch", onError });
  track("Never Sent");
  const [isReady, flushed] = await Promise.all([ready(), flush()]);
  return { ready: isReady, flushed, anonymousId: anonymousId() ?? null, errors };
}

async function normal() {
  // A campaign makes the tracker import the engage module (its own chunk) when the browser is
  // idle; its popup shows at once (a time trigger of 0 s).
  const popup = new Promise((resolve) => {
    on("popup:shown", resolve);
    setTimeout(() => resolve(null), 10000);
  });
  // Google Consent Mode told the shopper's choice: the consent adapters' chunk.
  window.dataLayer = [];
  const gcm = new Promise((resolve) => {
    window.gtag = (...args) => resolve(args);
    setTimeout(() => resolve(null), 10000);
  });
  init({
    endpoint: "/v1/batch",
    onError,
    consent: { gcm: true },
    // The suites drive this app with headless Chromium, a bot to the SDK.
    bots: "allow",
    campaigns: [{ id: "welcome-webpack", trigger: { type: "time", seconds: 0 }, content: { headline: "Welcome to the webpack shop" } }],
  });
  track("Webpack App Loaded", { bundler: "webpack" });
  const flushed = await flush();
  return { flushed, anonymousId: anonymousId(), errors, popup: await popup, gcm: await gcm };
}

const why = new URLSearchParams(location.search).get("refused");
out.textContent = JSON.stringify(await (why ? refused(why) : normal()));
