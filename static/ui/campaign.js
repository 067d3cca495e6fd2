// A campaign's page before its send: the recipients and the send's duration, asked once the page
// has loaded (counting a large store's segments takes longer than a page may). With nobody to
// send to, Send stays off.
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
        recipients.textContent = answer.recipients.toLocaleString("en-US");
        duration.textContent = answer.duration;
      }
      if (send && !answer.recipients) { send.disabled = true; }
    })
    .catch(function () { recipients.textContent = "Could not count just now; reload to try again."; });
})();
