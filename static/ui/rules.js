// The condition row builder, shared by the segment editor and the flow builder: rows of
// (field, operator, value) in and/or groups, turned into JsonLogic and back. A condition of one
// row is that row's JsonLogic alone. The server checks every rule again.
window.RuleBuilder = (function () {
  var COMPARE = ["==", "!=", ">", ">=", "<", "<="];
  var OPERATORS = {
    "number": COMPARE, "datetime": [">", ">=", "<", "<="], "text": ["==", "!=", "contains"],
    "boolean": ["is true", "is false"], "list of text": ["contains", "does not contain"],
    "list of numbers": ["contains", "does not contain"],
    // an engagement of the run (run.steps.<id>.clicked): the variable alone, or its negation
    "event": ["happened", "did not happen"]
  };
  var WORDS = { "==": "is", "!=": "is not", ">": "more than", ">=": "at least", "<": "less than",
                "<=": "at most", "missing": "is missing", "present": "is present",
                "happened": "yes", "did not happen": "no" };

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
  function only(node) { var keys = node && typeof node === "object" && !Array.isArray(node) ? Object.keys(node) : []; return keys.length === 1 ? keys[0] : null; }

  // A builder in `root` over `fields` ([{name, type, nullable, label?}]); `onChange(logic)` after
  // every edit. `show(logic)` takes a rule into the rows (false when the rows cannot show it).
  return function (root, fields, onChange) {
    var byName = {};
    fields.forEach(function (f) { byName[f.name] = f; });
    var state = null;

    function operators(field) {
      var ops = OPERATORS[field.type].slice();
      return field.nullable ? ops.concat(["missing", "present"]) : ops;
    }
    function needsValue(op) { return ["is true", "is false", "missing", "present", "happened", "did not happen"].indexOf(op) < 0; }
    function typed(field, value) {
      return (field.type === "number" || field.type === "list of numbers") ? Number(value) : value;
    }
    function blank() {
      if (byName["customer.orders_count"]) { return { field: "customer.orders_count", op: ">=", value: "1" }; }
      return { field: fields[0].name, op: operators(fields[0])[0], value: "" };
    }

    function rowLogic(row) {
      var field = byName[row.field], v = { "var": row.field }, value = typed(field, row.value);
      if (row.op === "happened") { return v; }
      if (row.op === "did not happen") { return { "!": [v] }; }
      if (row.op === "is true" || row.op === "is false") { return { "==": [v, row.op === "is true"] }; }
      if (row.op === "missing") { return { "==": [v, null] }; }
      if (row.op === "present") { return { "!=": [v, null] }; }
      if (row.op === "contains") { return { "in": [value, v] }; }
      if (row.op === "does not contain") { return { "!": [{ "in": [value, v] }] }; }
      var node = {}; node[row.op] = [v, value]; return node;
    }
    function groupLogic(group, top) {
      if (top && group.items.length === 1 && !group.items[0].items) { return rowLogic(group.items[0]); }
      var node = {};
      node[group.op] = group.items.map(function (item) { return item.items ? groupLogic(item, false) : rowLogic(item); });
      return node;
    }

    function isVar(node) { return node && typeof node === "object" && typeof node["var"] === "string" && byName[node["var"]]; }
    function parseRow(node) {
      var op = only(node), args = op && node[op];
      if (isVar(node) && byName[node["var"]].type === "event") { return { field: node["var"], op: "happened", value: "" }; }
      if (!Array.isArray(args)) { return null; }
      if (op === "!" && args.length === 1 && isVar(args[0]) && byName[args[0]["var"]].type === "event") {
        return { field: args[0]["var"], op: "did not happen", value: "" };
      }
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

    function label(f) { return f.label || f.name.replace("customer.", "").replace(/_/g, " "); }
    function renderRow(row, group) {
      var field = byName[row.field];
      var line = el("div", { className: "rule-row" });
      line.appendChild(select(fields.map(function (f) { return [f.name, label(f)]; }), row.field, "Field", function (value) {
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
        group.items.push(blank()); changed(true);
      } }));
      if (!parent) {
        add.appendChild(el("button", { type: "button", className: "btn", textContent: "Add group", onclick: function () {
          group.items.push({ op: group.op === "and" ? "or" : "and", items: [blank()] }); changed(true);
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
        root.appendChild(el("p", { className: "hint", textContent: "This rule is written in JsonLogic the rows cannot show." }));
        return;
      }
      root.appendChild(renderGroup(state, null));
    }
    function changed(redraw) {
      if (state.items.length === 0) { state.items.push(blank()); }
      if (redraw) { render(); }
      onChange(groupLogic(state, true));
    }

    root.hidden = false;
    return {
      show: function (logic) {
        state = parseGroup(logic, 0);
        render();
        return state !== null;
      },
      blank: function () { return rowLogic(blank()); }
    };
  };
})();
