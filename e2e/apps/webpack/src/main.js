import { init, track, flush, anonymousId } from "shoptrail";

const out = document.getElementById("result");
const errors = [];

init({
  endpoint: "/v1/batch",
  onError: (e) => errors.push(`${e.code}: ${e.message}`),
});
track("Webpack App Loaded", { bundler: "webpack" });
const flushed = await flush();
out.textContent = JSON.stringify({ flushed, anonymousId: anonymousId(), errors });
