import { init, track, flush, anonymousId } from "shoptrail";

const out = document.getElementById("result");
const errors = [];

init({
  endpoint: "/v1/batch",
  onError: (e) => errors.push(`${e.code}: ${e.message}`),
});
track("Vite App Loaded", { bundler: "vite" });
const flushed = await flush();
out.textContent = JSON.stringify({ flushed, anonymousId: anonymousId(), errors });
