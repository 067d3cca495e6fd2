// The New campaign form: the A/B test's fields (test share, winner wait, judge) only while
// subject B is filled in. Without this script they stay shown, and the server ignores them
// when subject B is blank.
(function () {
  var subjectB = document.querySelector("[data-subject-b]"), test = document.querySelector("[data-ab]");
  if (!subjectB || !test) { return; }
  function follow() { test.hidden = subjectB.value.trim() === ""; }
  subjectB.addEventListener("input", follow);
  follow();
})();
