// The RudderStack v3 script-tag build, made from the npm package: the bundled variant (plugins
// included, since the CDN that serves them one by one is out of reach) plus what the CDN's
// rsa.min.js does on load, which is to construct the singleton so that it picks up the calls
// the snippet buffered in `window.rudderanalytics`.
import { RudderAnalytics } from "@rudderstack/analytics-js/bundled";

new RudderAnalytics();
