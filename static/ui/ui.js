// Progressive touches for the settings UI; every page works without them.

// Inside the Shopify admin (App Bridge on the page) no cookie signs us in: a URL of ours is
// followed with a fresh session token (`id_token`, which lives a minute). Elsewhere, as it is.
function withFreshToken(href) {
  var bridge = window.shopify, url = new URL(href, location.href);
  if (!bridge || typeof bridge.idToken !== "function") { return Promise.resolve(url.toString()); }
  return bridge.idToken().then(function (token) {
    url.searchParams.set("id_token", token);
    return url.toString();
  });
}

// The bounce page: this URL again, with a fresh token.
if (document.querySelector("[data-bounce]")) {
  withFreshToken(location.href).then(function (url) { location.replace(url); });
}

// A page waiting for a worker (the dry run) asks again every few seconds and opens the answer
// once there is one (App Bridge signs the fetch inside the admin; the cookie does elsewhere).
(function () {
  if (!document.querySelector("[data-poll]")) { return; }
  var timer = setInterval(function () {
    fetch(location.href, { credentials: "same-origin" }).then(function (response) {
      if (response.status === 202) { return; }
      clearInterval(timer);
      withFreshToken(location.href).then(function (url) { location.replace(url); });
    });
  }, 3000);
})();
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // Flow switches flip in place instead of reloading the page.
  document.querySelectorAll("form[data-toggle]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector(".switch");
      var wanted = form.elements.enabled.value;
      button.setAttribute("aria-busy", "true");
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
      }).then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      }).then(function (data) {
        button.setAttribute("aria-checked", String(data.enabled));
        form.elements.enabled.value = data.enabled ? "false" : "true";
        form.querySelector(".toggle-state").textContent = data.enabled ? "On" : "Off";
        form.closest(".flow-card").classList.toggle("is-on", data.enabled);
      }).catch(function () {
        form.submit();  // fall back to the plain form post, which reports any error
      }).finally(function () {
        button.removeAttribute("aria-busy");
      });
    });
  });

  // Choosing another email shows it at once.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });

  // The email editor previews what is typed as it is typed (the Preview button is for pages
  // without this script).
  document.querySelectorAll("form[data-live-preview]").forEach(function (form) {
    var frames = document.querySelectorAll(".devices iframe");
    var subject = document.querySelector(".envelope .subject");
    var text = document.querySelector(".text-part pre");
    var error = form.querySelector("[data-live-error]");
    var timer;
    form.querySelectorAll("[data-without-js]").forEach(function (button) { button.hidden = true; });
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = new URL(form.dataset.livePreview, location.href);
        ["step", "customer_id", "subject", "message"].forEach(function (name) {
          if (form.elements[name]) { url.searchParams.set(name, form.elements[name].value); }
        });
        fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
          .then(function (response) { return response.json(); })
          .then(function (shown) {
            frames.forEach(function (frame) { frame.srcdoc = shown.html; });
            subject.textContent = shown.subject;
            text.textContent = shown.text;
            error.hidden = !shown.error;
            error.textContent = shown.error ? "Not used: " + shown.error : "";
          });
      }, 350);
    });
  });

  // Email previews grow to their content's height (sandboxed, same origin, no scripts).
  document.querySelectorAll("iframe[data-autoheight]").forEach(function (frame) {
    function fit() {
      try {
        var doc = frame.contentDocument;
        if (doc && doc.documentElement) {
          frame.style.height = Math.max(doc.documentElement.scrollHeight, 300) + "px";
        }
      } catch (e) { /* a cross-origin frame keeps its fixed height */ }
    }
    frame.addEventListener("load", function () { fit(); setTimeout(fit, 300); });
    fit();
  });

  // The hex beside the colour picker follows it.
  document.querySelectorAll('input[type="color"]').forEach(function (input) {
    var label = input.parentNode.querySelector("[data-color-hex]");
    if (label) { input.addEventListener("input", function () { label.textContent = input.value; }); }
  });
})();

// Arriving at /app/flows#<flow> (after a save, or from a link) opens that flow's settings.
(function () {
  var card = location.hash && document.getElementById(location.hash.slice(1));
  var edit = card && card.querySelector("details.flow-edit");
  if (edit) { edit.open = true; }
})();

// On phones the navigation scrolls sideways: keep the current page's tab in view.
(function () {
  var active = document.querySelector(".nav-item.active");
  var nav = active && active.parentNode;
  if (nav && nav.scrollWidth > nav.clientWidth) {
    nav.scrollLeft = active.offsetLeft - (nav.clientWidth - active.offsetWidth) / 2;
  }
})();

// Inside the Shopify admin no cookie signs us in: App Bridge signs every fetch, and each link
// and form carries a fresh session token (`id_token`, which lives a minute) when it is followed.
(function () {
  var bridge = window.shopify;
  if (!bridge || typeof bridge.idToken !== "function") { return; }

  function ours(url) { return url.origin === location.origin; }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[href]");
    if (!link || event.defaultPrevented || link.target || event.button !== 0 ||
        event.metaKey || event.ctrlKey || event.shiftKey) { return; }
    var url = new URL(link.href);
    if (!ours(url) || (url.pathname === location.pathname && url.search === location.search)) {
      return;  // another site, or a jump within this page
    }
    event.preventDefault();
    withFreshToken(url).then(function (fresh) { location.assign(fresh); });
  });

  // Forms the page posts itself (the switches) are signed by App Bridge's fetch already.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !ours(new URL(form.action, location.href))) { return; }
    event.preventDefault();
    bridge.idToken().then(function (token) {
      var field = form.querySelector('input[name="id_token"]');
      if (!field) {
        field = document.createElement("input");
        field.type = "hidden";
        field.name = "id_token";
        form.appendChild(field);
      }
      field.value = token;
      HTMLFormElement.prototype.submit.call(form);
    });
  });
})();
