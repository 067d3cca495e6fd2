// The segment editor: rows of (field, operator, value) in and/or groups, kept in step with the
// JsonLogic textarea (which the form submits, and which works without this script), and a live
// member count from the server as the rule changes. The server checks every rule again.
(function () {
  var textarea = document.getElementById("rule"), root = document.getElementById("rule-builder");
  var countOut = document.getElementById("rule-count"), fieldsData = document.getElementById("rule-fields");
  if (!textarea || !root || !fieldsData) { return; }
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var fields = JSON.parse(fieldsData.textContent), byName = {};
  fields.forEach(function (f) { byName[f.name] = f; });

  var COMPARE = ["==", "!=", ">", ">=", "<", "<="];
  var OPERATORS = {
    "number": COMPARE, "datetime": [">", ">=", "<", "<="], "text": ["==", "!=", "contains"],
    "boolean": ["is true", "is false"], "list of text": ["contains", "does not contain"],
    "list of numbers": ["contains", "does not contain"]
  };
  var WORDS = { "==": "is", "!=": "is not", ">": "more than", ">=": "at least", "<": "less than",
                "<=": "at most", "missing": "is missing", "present": "is present" };

  function operators(field) {
    var ops = OPERATORS[field.type].slice();
    return field.nullable ? ops.concat(["missing", "present"]) : ops;
  }
  function needsValue(op) { return ["is true", "is false", "missing", "present"].indexOf(op) < 0; }
  function typed(field, value) {
    return (field.type === "number" || field.type === "list of numbers") ? Number(value) : value;
  }

  function rowLogic(row) {
    var field = byName[row.field], v = { "var": row.field }, value = typed(field, row.value);
    if (row.op === "is true" || row.op === "is false") { return { "==": [v, row.op === "is true"] }; }
    if (row.op === "missing") { return { "==": [v, null] }; }
    if (row.op === "present") { return { "!=": [v, null] }; }
    if (row.op === "contains") { return { "in": [value, v] }; }
    if (row.op === "does not contain") { return { "!": [{ "in": [value, v] }] }; }
    var node = {}; node[row.op] = [v, value]; return node;
  }
  function groupLogic(group) {
    var node = {};
    node[group.op] = group.items.map(function (item) { return item.items ? groupLogic(item) : rowLogic(item); });
    return node;
  }

  function isVar(node) { return node && typeof node === "object" && typeof node["var"] === "string" && byName[node["var"]]; }
  function only(node) { var keys = node && typeof node === "object" && !Array.isArray(node) ? Object.keys(node) : []; return keys.length === 1 ? keys[0] : null; }
  function parseRow(node) {
    var op = only(node), args = op && node[op];
    if (!Array.isArray(args)) { return null; }
    if (op === "!" && args.length === 1 && only(args[0]) === "in") {
      var inner = parseRow(args[0]); return inner ? { field: inner.field, op: "does not contain", value: inner.value } : null;
    }
    if (op === "in" && args.length === 2 && isVar(args[1]) && !isVar(args[0])) {
      return { field: args[1]["var"], op: "contains", value: String(args[0]) };
    }
    if (args.length !== 2 || !isVar(args[0]) || isVar(args[1])) { return null; }
    var name = args[0]["var"];
    if (args[1] === null) { return op === "==" ? { field: name, op: "missing", value: "" } : op === "!=" ? { field: name, op: "present", value: "" } : null; }
    if (typeof args[1] === "boolean" && op === "==") { return { field: name, op: args[1] ? "is true" : "is false", value: "" }; }
    return COMPARE.indexOf(op) >= 0 ? { field: name, op: op, value: String(args[1]) } : null;
  }
  function parseGroup(node, depth) {
    var op = only(node);
    if ((op === "and" || op === "or") && Array.isArray(node[op])) {
      var items = node[op].map(function (item) { return depth < 1 && (only(item) === "and" || only(item) === "or") ? parseGroup(item, depth + 1) : parseRow(item); });
      return items.indexOf(null) >= 0 ? null : { op: op, items: items };
    }
    var row = depth === 0 ? parseRow(node) : null;
    return row ? { op: "and", items: [row] } : null;
  }

  var state = null;
  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) { node[key] = props[key]; });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }
  function select(options, value, label, onChange) {
    var box = el("select", { className: "input", ariaLabel: label });
    options.forEach(function (option) { box.appendChild(el("option", { value: option[0], textContent: option[1], selected: option[0] === value })); });
    box.addEventListener("change", function () { onChange(box.value); });
    return box;
  }
  function renderRow(row, group) {
    var field = byName[row.field];
    var line = el("div", { className: "rule-row" });
    line.appendChild(select(fields.map(function (f) { return [f.name, f.name.replace("customer.", "").replace(/_/g, " ")]; }), row.field, "Field", function (value) {
      row.field = value; row.op = operators(byName[value])[0]; row.value = ""; changed(true);
    }));
    line.appendChild(select(operators(field).map(function (op) { return [op, WORDS[op] || op]; }), row.op, "Operator", function (value) { row.op = value; changed(true); }));
    if (needsValue(row.op)) {
      var type = field.type === "number" || field.type === "list of numbers" ? "number" : "text";
      var input = el("input", { className: "input", type: type, value: row.value, ariaLabel: "Value", step: "any",
                                placeholder: field.type === "datetime" ? "2026-11-24" : "" });
      input.addEventListener("input", function () { row.value = input.value; changed(false); });
      line.appendChild(input);
    }
    line.appendChild(el("button", { type: "button", className: "btn btn-ghost", textContent: "Remove", onclick: function () {
      group.items.splice(group.items.indexOf(row), 1); changed(true);
    } }));
    return line;
  }
  function renderGroup(group, parent) {
    var box = el("fieldset", { className: "rule-group" });
    box.appendChild(select([["and", "All of these"], ["or", "Any of these"]], group.op, "Match", function (value) { group.op = value; changed(true); }));
    group.items.forEach(function (item) { box.appendChild(item.items ? renderGroup(item, group) : renderRow(item, group)); });
    var add = el("div", { className: "rule-actions" });
    add.appendChild(el("button", { type: "button", className: "btn", textContent: "Add condition", onclick: function () {
      group.items.push({ field: "customer.orders_count", op: ">=", value: "1" }); changed(true);
    } }));
    if (!parent) {
      add.appendChild(el("button", { type: "button", className: "btn", textContent: "Add group", onclick: function () {
        group.items.push({ op: group.op === "and" ? "or" : "and", items: [{ field: "customer.orders_count", op: ">=", value: "1" }] }); changed(true);
      } }));
    } else {
      add.appendChild(el("button", { type: "button", className: "btn btn-ghost", textContent: "Remove group", onclick: function () {
        parent.items.splice(parent.items.indexOf(group), 1); changed(true);
      } }));
    }
    box.appendChild(add);
    return box;
  }
  function render() {
    root.replaceChildren();
    if (!state) {
      root.appendChild(el("p", { className: "hint", textContent: "This rule is edited as JsonLogic below; the rows cannot show it." }));
      return;
    }
    root.appendChild(renderGroup(state, null));
  }
  function changed(redraw) {
    if (state.items.length === 0) { state.items.push({ field: "customer.orders_count", op: ">=", value: "1" }); }
    textarea.value = JSON.stringify(groupLogic(state));
    if (redraw) { render(); }
    scheduleCount();
  }

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
    try { state = parseGroup(JSON.parse(textarea.value), 0); } catch (error) { state = null; }
    render();
  }
  textarea.addEventListener("input", function () { fromText(); scheduleCount(); });
  root.hidden = false;
  fromText();
  count();
})();
