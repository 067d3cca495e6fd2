// The flow builder: the flow's document kept as JSON in the page (the textarea the form saves),
// drawn as a canvas of steps (an if's branches side by side), each step edited in the side
// panel, and every change checked by the server (the same check as saving and the CLI), its
// problems shown beside the step they name.
(function () {
  var form = document.getElementById("flow-form");
  if (!form) { return; }
  var store = document.getElementById("flow-document");
  var doc = JSON.parse(store.value);
  var fields = JSON.parse(document.getElementById("rule-fields").textContent);
  var problems = JSON.parse(document.getElementById("flow-problems").textContent);
  var canvas = document.getElementById("canvas"), panel = document.getElementById("panel");
  var KINDS = [["wait", "Wait"], ["send", "Send an email"], ["if", "If / else"], ["tag", "Tag"],
               ["score", "Score"], ["discount", "Discount code"], ["exit", "Exit"]];
  // Drawn and kept as they are (changed as a document): what the side panel has no fields for.
  var KEPT = [["wait_until", "Wait until"], ["split", "A/B split"], ["notify", "Note to staff"],
              ["webhook", "Webhook"], ["sunset", "Sunset"]];
  var STARTS = { wait: { hours: 1 }, send: { subject: "", body: "" }, tag: { add: "" },
                 score: { add: 1 }, discount: { percent: 10, valid_days: 7 }, exit: {} };
  var selected = null;  // the path of the step in the panel: ["steps", 3, "then", 0]

  var el = window.Documents.el;
  function pointer(path) { return path.length ? "/" + path.join("/") : ""; }
  function walk(node, path) { return path.reduce(function (found, key) { return found && found[key]; }, node); }
  function at(path) { return walk(doc, path); }
  function kindOf(step) {
    var all = KINDS.concat(KEPT);
    for (var i = 0; i < all.length; i++) { if (all[i][0] in step) { return all[i][0]; } }
    return null;
  }
  function label(kind) { return (KINDS.concat(KEPT).filter(function (k) { return k[0] === kind; })[0] || ["", "Step"])[1]; }
  // Where a step holds further steps: an if's two branches, a split's sides.
  function branchesOf(step, here) {
    if (step.split) {
      return step.split.map(function (side, n) { return [here.concat(["split", n, "steps"]), "Side " + (n + 1) + " · " + side.percent + "%"]; });
    }
    return kindOf(step) === "if" ? [[here.concat(["then"]), "Yes"], [here.concat(["else"]), "No"]] : [];
  }
  function ids(steps, found) {
    (steps || []).forEach(function (step) {
      found[step.id] = true;
      branchesOf(step, []).forEach(function (branch) { ids(walk(step, branch[0]), found); });
    });
    return found;
  }
  function freshId(kind) {
    var taken = ids(doc.steps, {}), n = 1, stem = kind === "if" ? "branch" : kind;
    while (taken[stem + "_" + n]) { n++; }
    return stem + "_" + n;
  }
  // The emails before a step on its path, which its condition may ask about.
  function sendsBefore(path) {
    var sends = [];
    for (var depth = 1; depth < path.length; depth++) {
      var list = at(path.slice(0, depth));
      if (typeof path[depth] !== "number" || !Array.isArray(list) || (list[0] && !("id" in list[0]))) { continue; }
      list.slice(0, path[depth]).forEach(function (step) { if (step.send) { sends.push(step.id); } });
    }
    return sends;
  }
  function engagement(sends) {
    var found = [];
    sends.forEach(function (id) {
      ["clicked", "opened", "sent"].forEach(function (what) {
        found.push({ name: "run.steps." + id + "." + what, type: "event", nullable: false, label: "email " + id + " " + what });
      });
    });
    return found;
  }

  // A step copied from a template that names what the side panel cannot edit (a setting, a
  // stored email, a named rule, a ladder): drawn and kept as it is, changed as a document.
  function fixed(step) {
    var kind = kindOf(step), body = kind === "if" ? step["if"] : step[kind];
    if (KEPT.some(function (k) { return k[0] === kind; }) || (kind === "wait" && "until" in body)) { return true; }
    return kind !== null && typeof body === "object" && body !== null &&
      ("email" in body || "rule" in body || "setting" in body || "ladder" in body ||
       Object.keys(body).some(function (key) { return body[key] !== null && typeof body[key] === "object" && "setting" in body[key]; }));
  }
  function summary(step) {
    var kind = kindOf(step), body = step[kind];
    if (fixed(step)) {
      if (kind === "send") { return "Email: " + body.email; }
      if (kind === "wait" && body.until) { return "Wait until " + body.until.weekday + " " + body.until.time; }
      if (kind === "wait_until") { return "Wait until " + condition(body.condition); }
      if (kind === "split") { return "A/B split " + body.map(function (side) { return side.percent + "%"; }).join(" / "); }
      if (kind === "notify") { return "Note to staff: " + body.subject; }
      if (kind === "webhook") { return "Webhook to " + body.url; }
      if (kind === "sunset") { return "Sunset: pause marketing mail"; }
      return label(kind) + " " + JSON.stringify(kind === "if" ? step["if"] : body);
    }
    if (kind === "wait") {
      var unit = body.hours !== undefined ? "hour" : "day", count = body[unit + "s"];
      return "Wait " + count + " " + unit + (count === 1 ? "" : "s");
    }
    if (kind === "send") { return "Email: " + (body.subject || "(no subject yet)"); }
    if (kind === "if") { return "If " + condition(step["if"]); }
    if (kind === "tag") { return (body.add !== undefined ? "Tag " : "Untag ") + (body.add || body.remove || "…"); }
    if (kind === "score") { return "Score " + (body.add !== undefined ? "+" + body.add : "−" + body.subtract); }
    if (kind === "discount") { return "Discount " + body.percent + "% for " + body.valid_days + " days"; }
    if (kind === "exit") { return "Exit" + (body.reason ? ": " + body.reason : ""); }
    return "Unknown step";
  }
  function condition(rule) {  // an email's engagement in words, any other rule as JsonLogic
    var negated = rule && rule["!"] && rule["!"][0], read = (negated || rule || {})["var"];
    var match = typeof read === "string" && /^run\.steps\.(\w+)\.(\w+)$/.exec(read);
    return match ? "email " + match[1] + (negated ? " not " : " ") + match[2] : JSON.stringify(rule);
  }
  // The step a problem belongs to: the longest step pointer it starts with ("" for the flow).
  function owner(where) {
    var match = /^\/steps\/\d+(?:\/(?:then|else)\/\d+)*/.exec(where);
    return match ? match[0] : "";
  }
  function problemList(owned) {
    var list = el("ul", { className: "step-problems" });
    problems.forEach(function (problem) {
      if (owner(problem[0]) === owned) {
        list.appendChild(el("li", { className: "error-text", textContent: (problem[0] || "/") + ": " + problem[1] }));
      }
    });
    return list;
  }

  function drawSteps(path) {
    var steps = at(path) || [], box = el("div", { className: "step-list" }), list = el("ol", { className: "steps" });
    steps.forEach(function (step, index) {
      var here = path.concat([index]), item = el("li", { className: "step" });
      item.dataset.pointer = pointer(here);
      item.dataset.step = step.id;
      if (selected && pointer(selected) === pointer(here)) { item.classList.add("is-selected"); }
      var head = el("div", { className: "step-head" });
      head.appendChild(el("button", { type: "button", className: "step-open", textContent: summary(step), title: "Edit this step",
                                      onclick: function () { choose(here, true); } }));
      head.appendChild(el("span", { className: "badge", textContent: step.id }));
      var tools = el("span", { className: "step-tools" });
      tools.appendChild(el("button", { type: "button", className: "btn btn-ghost", textContent: "↑", ariaLabel: "Move up", disabled: index === 0,
                                       onclick: function () { move(path, index, -1); } }));
      tools.appendChild(el("button", { type: "button", className: "btn btn-ghost", textContent: "↓", ariaLabel: "Move down", disabled: index === steps.length - 1,
                                       onclick: function () { move(path, index, 1); } }));
      tools.appendChild(el("button", { type: "button", className: "btn btn-ghost", textContent: "Remove", ariaLabel: "Remove step",
                                       onclick: function () { remove(path, index); } }));
      head.appendChild(tools);
      item.appendChild(head);
      item.appendChild(problemList(pointer(here)));
      var inner = branchesOf(step, here);
      if (inner.length) {
        var branches = el("div", { className: "branches" });
        inner.forEach(function (branch) {
          var column = el("div", { className: "branch" }, [el("div", { className: "branch-label", textContent: branch[1] })]);
          column.dataset.branch = branch[0].slice(here.length).join("-");
          column.appendChild(drawSteps(branch[0]));
          branches.appendChild(column);
        });
        item.appendChild(branches);
      }
      list.appendChild(item);
    });
    box.appendChild(list);
    var kind = el("select", { className: "input", ariaLabel: "Step to add" });
    KINDS.forEach(function (k) { kind.appendChild(el("option", { value: k[0], textContent: k[1] })); });
    box.appendChild(el("div", { className: "step-add" }, [kind, el("button", {
      type: "button", className: "btn", textContent: "Add step", onclick: function () { add(path, kind.value); } })]));
    return box;
  }
  function draw() {
    canvas.replaceChildren(el("div", { className: "trigger" }, [
      el("span", { className: "branch-label", textContent: "Starts on " + String((doc.trigger || {}).event || "…").replace(/_/g, " ") })]), drawSteps(["steps"]));
    var flowProblems = document.querySelector("[data-problems-for=flow]");
    flowProblems.replaceChildren.apply(flowProblems, Array.prototype.slice.call(problemList("").childNodes));
    window.Documents.listProblems(problems);
  }

  function add(path, kind) {
    var list = at(path), step = { id: freshId(kind) };
    if (!list) { list = at(path.slice(0, -1))[path[path.length - 1]] = []; }
    if (kind === "if") {
      var sends = sendsBefore(path.concat([list.length]));
      step["if"] = sends.length ? { "var": "run.steps." + sends[sends.length - 1] + ".clicked" } : { ">=": [{ "var": "customer.orders_count" }, 1] };
      step.then = [];
    } else {
      step[kind] = JSON.parse(JSON.stringify(STARTS[kind]));
    }
    list.push(step);
    choose(path.concat([list.length - 1]), true);
    changed();
  }
  function move(path, index, by) {
    var list = at(path), step = list.splice(index, 1)[0];
    list.splice(index + by, 0, step);
    choose(path.concat([index + by]));
    changed();
  }
  function remove(path, index) {
    var list = at(path);
    list.splice(index, 1);
    if (path[path.length - 1] === "else" && list.length === 0) { delete at(path.slice(0, -1))["else"]; }
    selected = null;
    panel.replaceChildren(el("p", { className: "hint", textContent: "Add a step, or choose one to edit it here." }));
    changed();
  }

  // The side panel: one step's fields, written into the document as they are typed.
  function input(labelText, value, onInput, props) {
    var box = el(props && props.multiline ? "textarea" : "input", { className: "input", value: value === undefined ? "" : value });
    if (props && props.type) { box.type = props.type; }
    box.addEventListener("input", function () { onInput(box.value); changed(); });
    return el("label", { className: "field" }, [el("span", { className: "field-label", textContent: labelText }), box]);
  }
  function choice(labelText, options, value, onPick) {
    var box = el("select", { className: "input" });
    options.forEach(function (o) { box.appendChild(el("option", { value: o[0], textContent: o[1], selected: o[0] === value })); });
    box.addEventListener("change", function () { onPick(box.value); changed(); });
    return el("label", { className: "field" }, [el("span", { className: "field-label", textContent: labelText }), box]);
  }
  function number(value) { return value === "" ? "" : Number(value); }
  function oneOf(body, keys) { return keys.filter(function (key) { return key in body; })[0] || keys[0]; }
  // A {add: x} / {remove: x} body edited as a choice of key and a value.
  function keyed(step, kind, labelText, keys, asNumber) {
    var key = oneOf(step[kind], keys.map(function (k) { return k[0]; }));
    return [choice(labelText, keys, key, function (picked) { var v = step[kind][key]; step[kind] = {}; step[kind][picked] = v; key = picked; }),
            input("Value", step[kind][key], function (v) { step[kind] = {}; step[kind][key] = asNumber ? number(v) : v; }, asNumber ? { type: "number" } : null)];
  }
  function sendFields(step) {
    var send = step.send, button = send.button || { text: "", url: "" };
    function tidy() {
      if (!send.preheader) { delete send.preheader; }
      if (button.text || button.url) { send.button = button; } else { delete send.button; }
    }
    return [input("Subject", send.subject, function (v) { send.subject = v; }),
            input("Preheader", send.preheader, function (v) { send.preheader = v; tidy(); }),
            input("Body", send.body, function (v) { send.body = v; }, { multiline: true }),
            input("Button text", button.text, function (v) { button.text = v; tidy(); }),
            input("Button link", button.url, function (v) { button.url = v; tidy(); })].concat(emailTools(send), designLink(step));
  }
  // A saved flow's send step opens in the email designer (the blocks its words are drawn into).
  function designLink(step) {
    if (!form.dataset.designUrl) { return []; }
    return [el("p", { className: "small" }, [
      el("a", { className: "link", textContent: "Design this email", href: form.dataset.designUrl.replace("%7Bstep%7D", encodeURIComponent(step.id)) }),
      el("span", { className: "hint", textContent: " · the saved flow's step: save your changes first." })])];
  }
  // The email as drafted, rendered by the server for the sample customer, or sent as a test.
  function emailTools(send) {
    var frame = el("iframe", { className: "email-frame", title: "Preview of this email", hidden: true });
    frame.setAttribute("sandbox", "");  // the email's markup, never its scripts
    var note = el("p", { className: "hint" }), to = el("input", { className: "input", type: "email", placeholder: "you@yourstore.com" });
    note.setAttribute("aria-live", "polite");
    function post(url, extra) { return window.Documents.post(url, JSON.stringify(Object.assign({ send: send }, extra || {}))); }
    function refused(body) {
      return body.error || (body.problems || []).map(function (p) { return (p[0] || "/") + ": " + p[1]; }).join("; ");
    }
    var show = el("button", { type: "button", className: "btn", textContent: "Preview", onclick: function () {
      post(form.dataset.emailPreviewUrl).then(function (answer) {
        frame.hidden = !answer.ok;
        if (!answer.ok) { note.textContent = refused(answer.body); return; }
        note.textContent = "Subject: " + answer.body.subject;
        frame.srcdoc = answer.body.html;
      }).catch(function () { note.textContent = "Could not preview just now."; });
    } });
    var test = el("button", { type: "button", className: "btn", textContent: "Send test", onclick: function () {
      post(form.dataset.emailTestUrl, { to: to.value }).then(function (answer) {
        note.textContent = answer.ok ? "A test is on its way to " + answer.body.sent_to + "." : refused(answer.body);
      }).catch(function () { note.textContent = "Could not send just now."; });
    } });
    return [el("div", { className: "email-tools" }, [show, el("label", { className: "field" }, [
              el("span", { className: "field-label", textContent: "Send a test to" }), to]), test]), note, frame];
  }
  function conditionFields(step, path) {
    var root = el("div", { className: "rule-builder" });
    var rows = window.RuleBuilder(root, engagement(sendsBefore(path)).concat(fields), function (logic) { step["if"] = logic; changed(); });
    rows.show(step["if"]);
    return [el("span", { className: "field-label", textContent: "Which customers go the Yes way" }), root];
  }
  // Show a step in the panel; `reveal` scrolls to the panel where it sits below the canvas.
  function choose(path, reveal) {
    selected = path;
    var step = at(path), kind = kindOf(step), parts;
    if (fixed(step)) {
      parts = [el("p", { className: "hint", textContent: "This step is kept as it is when you save. To change it, export the flow, edit its document and import it (docs/flow-format.md)." }),
               el("pre", { className: "mono small", textContent: JSON.stringify(kind === "if" ? step["if"] : step[kind], null, 2) })];
    } else if (kind === "wait") {
      var unit = oneOf(step.wait, ["hours", "days"]);
      parts = [input("Wait", step.wait[unit], function (v) { step.wait = {}; step.wait[unit] = number(v); }, { type: "number" }),
               choice("Unit", [["hours", "hours"], ["days", "days"]], unit, function (u) { var v = step.wait[unit]; unit = u; step.wait = {}; step.wait[u] = v; })];
    } else if (kind === "send") { parts = sendFields(step); }
    else if (kind === "if") { parts = conditionFields(step, path); }
    else if (kind === "tag") { parts = keyed(step, "tag", "Tag", [["add", "add"], ["remove", "remove"]], false); }
    else if (kind === "score") { parts = keyed(step, "score", "Points", [["add", "add"], ["subtract", "subtract"]], true); }
    else if (kind === "discount") {
      parts = [input("Percent off", step.discount.percent, function (v) { step.discount.percent = number(v); }, { type: "number" }),
               input("Valid for days", step.discount.valid_days, function (v) { step.discount.valid_days = number(v); }, { type: "number" })];
    } else { parts = [input("Reason", step.exit.reason, function (v) { if (v) { step.exit.reason = v; } else { delete step.exit.reason; } })]; }
    panel.replaceChildren.apply(panel, [el("h2", { textContent: label(kind) }),
      input("Step id", step.id, function (v) { step.id = v; })].concat(parts));
    draw();
    if (reveal && window.matchMedia("(max-width: 980px)").matches) { panel.scrollIntoView({ block: "start" }); }
  }

  // The flow's own fields, in the page's markup.
  Array.prototype.forEach.call(document.querySelectorAll("[data-key] > input, [data-key] > select, [data-key] > textarea, [data-key] .input-group > input"), function (box) {
    var key = box.closest("[data-key]").dataset.key, asNumber = box.closest("[data-number]");
    var optional = asNumber || box.closest("[data-optional]");
    box.addEventListener(box.tagName === "SELECT" ? "change" : "input", function () {
      if (key === "trigger") { doc.trigger = { event: box.value }; }
      else if (optional && box.value === "") { delete doc[key]; }
      else { doc[key] = asNumber ? Number(box.value) : box.value; }
      changed();
    });
  });
  // The flow's entry and exit conditions: each on when its box is ticked, in the row builder.
  ["entry", "exit"].forEach(function (key) {
    var on = document.getElementById(key + "-on"), root = document.getElementById(key + "-rules");
    var rows = window.RuleBuilder(root, fields, function (logic) { doc[key] = logic; changed(); });
    function show() {
      root.hidden = !on.checked;
      if (on.checked) { doc[key] = doc[key] || rows.blank(); rows.show(doc[key]); } else { delete doc[key]; }
    }
    on.addEventListener("change", function () { show(); changed(); });
    show();
  });

  var state = document.getElementById("check-state");
  var check = window.Documents.asker(form.dataset.checkUrl, state, "Checking…", function (answer) {
    problems = answer.problems;
    state.textContent = window.Documents.tally(problems);
    draw();
  });
  function changed() {
    store.value = JSON.stringify(doc);
    draw();
    check(store.value);
  }
  draw();
})();
