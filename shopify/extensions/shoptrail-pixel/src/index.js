// shoptrail's web pixel: a thin forwarder. Shopify hands it the standard events; it sends each
// one as it came, with the storefront's anonymous id (the `shoptrail_aid` cookie) and the
// visitor's consent, to the collector's /v1/sources/shopify/pixel, which maps them to the
// e-commerce spec in Rust. It decides only what consent allows it to send.
import { register } from "@shopify/web-pixels-extension";

const EVENTS = [
  "page_viewed",
  "product_viewed",
  "collection_viewed",
  "search_submitted",
  "product_added_to_cart",
  "product_removed_from_cart",
  "cart_viewed",
  "checkout_started",
  "checkout_contact_info_submitted",
  "checkout_address_info_submitted",
  "checkout_shipping_info_submitted",
  "payment_info_submitted",
  "checkout_completed",
];
// The buyer's contact: only journeys (marketing) use it.
const CONTACT = ["email", "phone", "smsMarketingPhone", "billingAddress", "shippingAddress"];
// Bodies a closing page may still send (keepalive is limited to 64 KiB in flight).
const KEEPALIVE_MAX = 60000;
const RETRIES = 5;

register(({ analytics, browser, init, settings, customerPrivacy }) => {
  const url = String(settings.collector || "").replace(/\/+$/, "") + "/v1/sources/shopify/pixel";
  let consent = init.customerPrivacy || {};
  // Marketing, as the storefront reads it: allowed, and the sale of data not refused (data sent
  // on to marketing destinations is shared).
  const marketing = () => consent.marketingAllowed === true && consent.saleOfDataAllowed !== false;
  customerPrivacy.subscribe("visitorConsentCollected", (event) => {
    consent = event.customerPrivacy || consent;
  });
  const shop = init.data && init.data.shop && init.data.shop.myshopifyDomain;
  let queue = [];
  let timer = 0;

  const send = async (events, attempt) => {
    let aid = "";
    try {
      aid = (await browser.cookie.get("shoptrail_aid")) || "";
    } catch (e) {}
    const body = {
      writeKey: settings.writeKey || undefined,
      aid: aid || undefined,
      shop,
      consent: {
        analytics: consent.analyticsProcessingAllowed !== false,
        marketing: marketing(),
        sale_of_data: consent.saleOfDataAllowed === true,
      },
      events,
    };
    const text = JSON.stringify(body);
    try {
      const r = await fetch(url, { method: "POST", body: text, keepalive: text.length < KEEPALIVE_MAX });
      // 4xx other than 429 will not succeed on a retry.
      if (r.ok || (r.status >= 400 && r.status < 500 && r.status != 429)) return;
    } catch (e) {}
    if (attempt < RETRIES) setTimeout(() => send(events, attempt + 1), 1000 * 2 ** attempt);
  };
  const drain = () => {
    timer = 0;
    const events = queue;
    queue = [];
    if (events.length) send(events, 0);
  };

  analytics.subscribe("all_standard_events", (event) => {
    if (!EVENTS.includes(event.name) || consent.analyticsProcessingAllowed === false) return;
    let copy = JSON.parse(JSON.stringify(event));
    const checkout = copy.data && copy.data.checkout;
    if (checkout && !marketing()) {
      for (const k of CONTACT) delete checkout[k];
    }
    queue.push(copy);
    // The order goes at once: the page may close; the rest in small batches.
    if (event.name == "checkout_completed" || queue.length >= 20) drain();
    else if (!timer) timer = setTimeout(drain, 300);
  });
});
