/* shoptrail consent-adapter loader. `cargo xtask build` bundles this file with consent/ into one
   classic script, dist/shoptrail-consent.js, which the tracker's loader adds to pages whose
   config names a consent manager (`consent.from`) or Google Consent Mode (`consent.gcm`). */
import { start } from "../consent/index.js";

var s = window.shoptrail;
if (s && typeof s.__consented === "function") s.__consented({ start: start });
