// Storeflow's app pixel: forwards four standard events, as Shopify hands them over, to
// Storeflow's POST /collect (which reads the Web Pixel shape itself). Shopify only runs it for
// visitors whose consent allows marketing (customer_privacy in shopify.extension.toml).
import {register} from "@shopify/web-pixels-extension";

const EVENTS = [
  "product_viewed",
  "product_added_to_cart",
  "checkout_started",
  "checkout_contact_info_submitted",
];

register(({analytics, settings, init}) => {
  const storeId = Number(settings.storeId);
  if (!settings.endpoint || !storeId || !settings.collectKey) return; // not configured: stay silent
  // The strict sandbox sends an opaque `Origin: null`, so the page it runs on says which shop
  // this is; /collect accepts that only from a page on the store's own domain.
  const page = init?.context?.window?.location?.href;

  const send = (event) =>
    fetch(settings.endpoint, {
      method: "POST",
      // text/plain keeps the request "simple": no CORS preflight per event.
      headers: {"Content-Type": "text/plain"},
      body: JSON.stringify({store_id: storeId, key: settings.collectKey, page, events: [event]}),
      keepalive: true,
    }).catch(() => {}); // a lost event must never break the storefront

  for (const name of EVENTS) analytics.subscribe(name, send);
});
