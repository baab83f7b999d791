import { init, track, flush, anonymousId, on } from "shoptrail";

const out = document.getElementById("result");
const errors = [];
// A campaign makes the tracker import the engage module (its own chunk) when the browser is
// idle; its popup shows at once (a time trigger of 0 s).
const popup = new Promise((resolve) => {
  on("popup:shown", resolve);
  setTimeout(() => resolve(null), 10000);
});

init({
  endpoint: "/v1/batch",
  onError: (e) => errors.push(`${e.code}: ${e.message}`),
  campaigns: [{ id: "welcome-vite", trigger: { type: "time", seconds: 0 }, content: { headline: "Welcome to the vite shop" } }],
});
track("Vite App Loaded", { bundler: "vite" });
const flushed = await flush();
out.textContent = JSON.stringify({ flushed, anonymousId: anonymousId(), errors, popup: await popup });
