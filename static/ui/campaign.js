// A campaign's page before its send: the recipients and the send's duration, asked once the page
// has loaded (counting a large store's segments takes longer than a page may), with how many of
// them the holdout and the A/B test would take. With nobody to send to, Send stays off.
(function () {
  var facts = document.querySelector("[data-estimate]");
  if (!facts) { return; }
  var recipients = facts.querySelector("[data-recipients]"), duration = facts.querySelector("[data-duration]");
  var send = document.querySelector("[data-send]");
  fetch(facts.dataset.estimate, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (response) { return response.json(); })
    .then(function (answer) {
      if (answer.error) {
        recipients.textContent = answer.error;
        recipients.className = "error-text";
        duration.textContent = "–";
      } else {
        var shares = [];
        if ("held_out" in answer) { shares.push(answer.held_out.toLocaleString("en-US") + " held out"); }
        if ("tested" in answer) { shares.push(answer.tested.toLocaleString("en-US") + " in the A/B test"); }
        recipients.textContent = answer.recipients.toLocaleString("en-US") + (shares.length ? " (" + shares.join(", ") + ")" : "");
        duration.textContent = answer.duration;
      }
      if (send && !answer.recipients) { send.disabled = true; }
    })
    .catch(function () { recipients.textContent = "Could not count just now; reload to try again."; });
})();
