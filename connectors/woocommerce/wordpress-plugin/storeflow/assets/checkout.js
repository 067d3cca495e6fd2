/* Storeflow: send the checkout email as it is typed (debounced, valid addresses only), so a
 * checkout left before "Place order" can still be followed up. */
(function () {
  "use strict";
  var config = window.storeflowCheckout;
  var valid = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
  var sent = "";
  var timer;
  if (!config || !window.fetch) { return; }

  function send(value) {
    var email = (value || "").trim();
    if (!valid.test(email) || email === sent) { return; }
    sent = email;
    var body = new URLSearchParams({ action: "storeflow_checkout_email", nonce: config.nonce, email: email });
    window.fetch(config.ajaxUrl, { method: "POST", body: body, credentials: "same-origin", keepalive: true })["catch"](function () {});
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field && field.matches && field.matches("#billing_email, #email")) {
      clearTimeout(timer);
      timer = setTimeout(function () { send(field.value); }, 800);
    }
  });
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.matches && field.matches("#billing_email, #email")) { send(field.value); }
  });
})();
