/*! storeflow.js: storefront events for Storeflow (product views, carts, checkout emails).
 *
 * <script>window.storeflowConsent = true;</script>   (or call storeflow.consent(true) later)
 * <script async src="https://STOREFLOW/static/storeflow.js"
 *         data-store-id="1" data-key="PUBLIC_COLLECT_KEY"></script>
 *
 * Nothing is sent, and no visitor id is stored, until consent is given: by
 * window.storeflowConsent = true (or a function returning true), by data-consent="granted" on
 * the script tag for shops without a banner, or by storeflow.consent(true) from the banner's
 * callback. Events from before consent wait in memory and are dropped on storeflow.consent(false).
 *
 * Markup it reads on its own:
 *   <div data-storeflow-product data-product-id="123" data-variant-id="456" data-title="..."></div>
 *   <input type="email"> inside <form data-storeflow-checkout> (or data-email-selector="...")
 * Calls: storeflow.viewProduct(productId, variantId, title), storeflow.addToCart(line, cartToken),
 *        storeflow.updateCart(cart), storeflow.identify({email}).
 * It never throws into the page: every entry point swallows its errors.
 */
(function (window, document) {
  "use strict";
  var script = document.currentScript;
  if (!script || window.storeflow) { return; }
  var data = script.dataset;
  var endpoint = new URL("/collect", script.src).href;
  var storeId = parseInt(data.storeId, 10);
  var EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]{2,}$/;
  var waiting = [];
  var refused = false;
  var lastEmail = null;

  function safe(fn) {
    return function () {
      try { return fn.apply(null, arguments); } catch (e) { /* never break the shop */ }
    };
  }

  function consented() {
    var flag = window.storeflowConsent;
    if (typeof flag === "function") { flag = flag(); }
    return flag === true || data.consent === "granted";
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return "v" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function visitorId() {
    var id = null;
    try { id = window.localStorage.getItem("storeflow_vid"); } catch (e) { /* private mode */ }
    if (!id) {
      var match = document.cookie.match(/(?:^|; )storeflow_vid=([^;]+)/);
      id = match ? match[1] : uuid();
    }
    try { window.localStorage.setItem("storeflow_vid", id); } catch (e) { /* cookie below */ }
    document.cookie = "storeflow_vid=" + id + "; path=/; max-age=31536000; SameSite=Lax";
    return id;
  }

  function send(events) {
    var body = JSON.stringify({ store_id: storeId, key: data.key, events: events });
    // text/plain keeps it a simple request: no preflight, and sendBeacon survives page unload.
    var blob = new Blob([body], { type: "text/plain" });
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, blob)) { return; }
    if (window.fetch) {
      window.fetch(endpoint, { method: "POST", body: body, keepalive: true, mode: "cors",
                               headers: { "Content-Type": "text/plain" } })["catch"](function () {});
    }
  }

  function flush() {
    if (!waiting.length || !consented()) { return; }
    var vid = visitorId();
    var batch = waiting.splice(0, 50);
    for (var i = 0; i < batch.length; i++) { batch[i].visitor_id = vid; }
    send(batch);
    if (waiting.length) { flush(); }
  }

  function track(type, fields) {
    if (refused) { return; }
    var event = { type: type, client_event_id: uuid(), occurred_at: new Date().toISOString() };
    for (var key in fields) { if (fields[key] != null) { event[key] = fields[key]; } }
    if (waiting.length < 20) { waiting.push(event); }
    flush();
  }

  function captureEmail(value) {
    var email = String(value || "").trim().toLowerCase();
    if (!EMAIL.test(email) || email === lastEmail) { return; }
    lastEmail = email;
    track("checkout_contact_info_submitted", { email: email });
  }

  function watchEmail(input) {
    var timer = null;
    input.addEventListener("input", safe(function () {
      clearTimeout(timer);
      // Debounced: one event once the shopper pauses, never one per keystroke.
      timer = setTimeout(safe(function () { captureEmail(input.value); }), 800);
    }));
    input.addEventListener("change", safe(function () { captureEmail(input.value); }));
  }

  var api = {
    viewProduct: safe(function (productId, variantId, title) {
      track("product_viewed", { product: { id: productId, variant_id: variantId || null,
                                           title: title || null, url: window.location.href } });
    }),
    addToCart: safe(function (line, cartToken) {
      track("product_added_to_cart", { cart: { token: cartToken || null, currency: line.currency,
                                               lines: [line] } });
    }),
    updateCart: safe(function (cart) { track("cart_updated", { cart: cart }); }),
    // Only the email: a customer id is the store's server's to send (signed), never a page's.
    identify: safe(function (who) {
      track("identify", { email: who.email || null });
    }),
    consent: safe(function (granted) {
      refused = !granted;
      window.storeflowConsent = !!granted;
      if (granted) { flush(); } else { waiting.length = 0; }
    })
  };
  window.storeflow = api;

  safe(function () {
    // A click from one of our emails carries a signed customer token (?sf_ct=...).
    var token = new URLSearchParams(window.location.search).get("sf_ct");
    if (token) { track("identify", { customer_token: token }); }
    var products = document.querySelectorAll("[data-storeflow-product]");
    for (var i = 0; i < products.length; i++) {
      var p = products[i].dataset;
      api.viewProduct(p.productId, p.variantId, p.title);
    }
    var selector = data.emailSelector || "form[data-storeflow-checkout] input[type=email]";
    var inputs = document.querySelectorAll(selector);
    for (var j = 0; j < inputs.length; j++) { watchEmail(inputs[j]); }
  })();
})(window, document);
