// The segment editor: the row builder (rules.js) kept in step with the JsonLogic textarea (which
// the form submits, and which works without this script), and a live member count from the
// server as the rule changes. The server checks every rule again.
(function () {
  var textarea = document.getElementById("rule"), root = document.getElementById("rule-builder");
  var countOut = document.getElementById("rule-count"), fieldsData = document.getElementById("rule-fields");
  if (!textarea || !root || !fieldsData) { return; }
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var rows = window.RuleBuilder(root, JSON.parse(fieldsData.textContent), function (logic) {
    textarea.value = JSON.stringify(logic);
    scheduleCount();
  });

  var timer = null, asked = 0;
  function scheduleCount() {
    clearTimeout(timer);
    timer = setTimeout(count, 400);
  }
  function count() {
    var mine = ++asked;
    countOut.textContent = "Counting…";
    fetch(countOut.dataset.countUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ rule: textarea.value })
    }).then(function (response) {
      return response.json().catch(function () { return { error: "Could not count (" + response.status + ")." }; });
    }).then(function (answer) {
      if (mine !== asked) { return; }
      countOut.className = answer.error ? "hint-error" : "";
      countOut.textContent = answer.error ? answer.error : answer.count + (answer.count === 1 ? " customer matches now" : " customers match now");
    }).catch(function () { if (mine === asked) { countOut.textContent = "Could not count just now."; } });
  }

  function fromText() {
    var logic = null;
    try { logic = JSON.parse(textarea.value); } catch (error) { logic = null; }
    rows.show(logic);
  }
  textarea.addEventListener("input", function () { fromText(); scheduleCount(); });
  fromText();
  count();
})();
