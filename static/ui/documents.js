// What the pages editing a JSON document share (the flow builder, the email designer): making
// elements, the list of every problem at the top of the page, and asking the server about the
// document as it changes (its check, or its preview) with the page's CSRF token, where only the
// answer to the latest ask counts.
window.Documents = (function () {
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) { node[key] = props[key]; });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }
  // Every [pointer, reason] in #problem-list, #problems shown only when there are any.
  function listProblems(problems) {
    var top = document.getElementById("problem-list");
    top.replaceChildren.apply(top, problems.map(function (problem) {
      var line = el("li", {}, [el("code", { textContent: problem[0] || "/" }), document.createTextNode(" " + problem[1])]);
      line.dataset.problem = problem[0];
      return line;
    }));
    document.getElementById("problems").hidden = problems.length === 0;
  }
  // A function that, 300 ms after its last call, posts the JSON it was last given to `url` and
  // hands the answer to `onAnswer` (the words of `state` follow: waiting, then a failure).
  // POST the JSON `body` with the page's CSRF token: a promise of {ok, body} (the JSON answer).
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: body
    }).then(function (response) { return response.json().then(function (answer) { return { ok: response.ok, body: answer }; }); });
  }
  function asker(url, state, waiting, onAnswer) {
    var timer = null, asked = 0;
    function ask(body) {
      var mine = ++asked;
      post(url, body).then(function (answer) {
        if (mine === asked) { onAnswer(answer.body); }
      }).catch(function () { if (mine === asked) { state.textContent = "Could not ask the server just now."; } });
    }
    return function (body) {
      clearTimeout(timer);
      state.textContent = waiting;
      timer = setTimeout(function () { ask(body); }, 300);
    };
  }
  function tally(problems) {
    return problems.length ? problems.length + (problems.length === 1 ? " problem to fix" : " problems to fix") : "Ready to save";
  }
  return { el: el, listProblems: listProblems, post: post, asker: asker, tally: tally };
})();
