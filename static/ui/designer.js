// The email designer: the email's design kept as JSON in the page (the textarea the form saves),
// drawn as its blocks in order, each edited in place by its fields. Every change is drawn by the
// server (the renderer that sends the email, the same check as saving) into the desktop and
// phone previews, and its problems are shown beside the block they name.
(function () {
  var form = document.getElementById("design-form");
  if (!form) { return; }
  var store = document.getElementById("design-document");
  var design = JSON.parse(store.value);
  var problems = JSON.parse(document.getElementById("design-problems").textContent);
  var list = document.getElementById("design-blocks"), state = document.getElementById("check-state");
  var ALIGN = ["align", "Align", "choice", [["", "Our default"], ["left", "Left"], ["center", "Centre"]]];
  var SHOW = ["if", "Show", "choice", [["", "Always"], ["discount", "With a discount code"], ["no_discount", "Without a discount code"],
    ["products", "With products"], ["no_products", "Without products"], ["can_reply", "When replies are read"],
    ["cannot_reply", "When replies are not read"], ["cart_link", "With a link to the cart"], ["no_cart_link", "Without a link to the cart"],
    ["tracking", "With shipment tracking"], ["no_tracking", "Without shipment tracking"]]];
  // Each block type: its name, what a new one holds, and its fields [key, label, kind, options].
  // Kinds: line, words (several lines), url, number, choice, numbers (a choice of numbers), link
  // (a button's: one of ours, or an address of the merchant's), alt (kept even when empty), flag
  // (a tick: true, else left out).
  var TYPES = {
    heading: ["Heading", { text: "A heading" }, [["text", "Text", "line"], ["level", "Size", "numbers", [["", "Large"], ["2", "Smaller"]]], ALIGN]],
    text: ["Text", { text: "Your text" }, [["text", "Text", "words"], ["style", "Style", "choice", [["", "Normal"], ["small", "Small"]]],
      ["opening", "Opening: the message set for this email in Preview replaces it", "flag"], ALIGN]],
    image: ["Image", { src: "", width: 600, height: 300, alt: "" }, [["src", "Picture address (https)", "url"], ["width", "Width (px)", "number"],
      ["height", "Height (px)", "number"], ["alt", "Describe it (alt text)", "alt"], ["href", "Link (https, optional)", "url"], ALIGN]],
    button: ["Button", { text: "Shop now", link: "shop" }, [["text", "Text", "line"], ["link", "Goes to", "link", [["shop", "Your shop"],
      ["cart", "The customer's cart"], ["offer", "The shop with the discount applied"], ["confirm", "The subscription confirmation"],
      ["tracking", "The shipment's tracking page"], ["", "An address of yours"]]], ["url", "Address (https)", "url"], ALIGN]],
    divider: ["Divider", {}, []],
    spacer: ["Space", { height: 24 }, [["height", "Height (px)", "number"]]],
    product_grid: ["Products", { source: "recommendations" }, [["source", "Which products", "choice", [["cart_lines", "The cart's"],
      ["order_lines", "The order's"], ["browsed", "Viewed by the customer"], ["recommendations", "Recommended"]]],
      ["title", "Title", "line"], ["limit", "At most", "number"]]],
    discount: ["Discount code", {}, [["note", "Note", "line"]]],
    order_summary: ["Order summary", {}, [["of", "Of", "choice", [["", "The order, else the cart"], ["order", "The order"], ["cart", "The cart"]]],
      ["title", "Title", "line"]]],
    shipment_tracking: ["Shipment tracking", {}, []],
    footer: ["Footer", {}, [["reason", "Why this email came", "line"]]]
  };

  var el = window.Documents.el;
  function labelled(text, box) {
    return el("label", { className: "field" }, [el("span", { className: "field-label", textContent: text }), box]);
  }
  // Write a field's value into its block: an empty field is left out of the design (the check
  // names a required one), but for the alt text, which a decorative picture leaves empty.
  function put(block, key, kind, value) {
    if (value === "" && kind !== "alt") { delete block[key]; }
    else { block[key] = kind === "number" || kind === "numbers" ? Number(value) : value; }
  }
  function field(block, spec) {
    var key = spec[0], kind = spec[2], box, value = block[key] === undefined ? "" : String(block[key]);
    if (kind === "flag") {
      box = el("input", { type: "checkbox", checked: block[key] === true });
      box.addEventListener("change", function () { if (box.checked) { block[key] = true; } else { delete block[key]; } changed(); });
      return el("label", { className: "check" }, [box, el("span", { textContent: spec[1] })]);
    }
    if (kind === "choice" || kind === "numbers" || kind === "link") {
      box = el("select", { className: "input" });
      spec[3].forEach(function (o) { box.appendChild(el("option", { value: o[0], textContent: o[1], selected: o[0] === value })); });
      if (kind === "link") { box.value = block.link || ""; }
      box.addEventListener("change", function () {
        if (kind === "link") {  // a button goes to one of ours or to the merchant's own address
          delete block.link; delete block.url;
          if (box.value) { block.link = box.value; } else { block.url = ""; }
          draw();
        } else { put(block, key, kind, box.value); }
        changed();
      });
    } else {
      box = el(kind === "words" ? "textarea" : "input", { className: "input", value: value });
      if (kind === "words") { box.rows = 4; }
      if (kind === "number") { box.type = "number"; }
      if (kind === "url") { box.type = "url"; box.placeholder = "https://"; }
      box.addEventListener("input", function () { put(block, key, kind, box.value); changed(); });
    }
    return labelled(spec[1], box);
  }
  function fields(block) {
    var specs = (TYPES[block.type] || ["", {}, []])[2].filter(function (spec) {
      return spec[0] !== "url" || block.type !== "button" || !block.link;
    });
    if (block.type !== "footer") { specs = specs.concat([SHOW]); }
    return el("div", { className: "fields" }, specs.map(function (spec) { return field(block, spec); }));
  }

  // Problems: every one at the top, and each beside the block its pointer names.
  function owner(where) { var match = /^\/blocks\/(\d+)/.exec(where); return match ? Number(match[1]) : null; }
  function showProblems() {
    document.querySelectorAll("[data-block] > .step-problems").forEach(function (box) {
      var index = Number(box.parentNode.dataset.block);
      box.replaceChildren.apply(box, problems.filter(function (p) { return owner(p[0]) === index; }).map(function (p) {
        return el("li", { className: "error-text", textContent: p[0] + ": " + p[1] });
      }));
    });
    window.Documents.listProblems(problems);
  }
  function draw() {
    var blocks = design.blocks;
    list.replaceChildren(el("ol", { className: "steps" }, blocks.map(function (block, index) {
      var item = el("li", { className: "step design-block" }), tools = el("span", { className: "step-tools" });
      item.dataset.block = index;
      item.dataset.pointer = "/blocks/" + index;
      item.dataset.type = block.type;
      tools.appendChild(el("button", { type: "button", className: "btn btn-ghost", textContent: "↑", ariaLabel: "Move up", disabled: index === 0,
                                       onclick: function () { move(index, -1); } }));
      tools.appendChild(el("button", { type: "button", className: "btn btn-ghost", textContent: "↓", ariaLabel: "Move down", disabled: index === blocks.length - 1,
                                       onclick: function () { move(index, 1); } }));
      tools.appendChild(el("button", { type: "button", className: "btn btn-ghost", textContent: "Remove", ariaLabel: "Remove block",
                                       onclick: function () { blocks.splice(index, 1); draw(); changed(); } }));
      item.appendChild(el("div", { className: "step-head" }, [
        el("strong", { className: "step-name", textContent: (TYPES[block.type] || [block.type])[0] }), tools]));
      item.appendChild(fields(block));
      item.appendChild(el("ul", { className: "step-problems" }));
      return item;
    })));
    showProblems();
  }
  function move(index, by) {
    var block = design.blocks.splice(index, 1)[0];
    design.blocks.splice(index + by, 0, block);
    draw();
    changed();
  }

  var kinds = document.getElementById("block-kind");
  Object.keys(TYPES).forEach(function (type) { kinds.appendChild(el("option", { value: type, textContent: TYPES[type][0] })); });
  document.getElementById("block-add").addEventListener("click", function () {
    var block = Object.assign({ type: kinds.value }, JSON.parse(JSON.stringify(TYPES[kinds.value][1])));
    design.blocks.push(block);
    draw();
    changed();
    var first = list.querySelector(".design-block:last-child .input");
    if (first) { first.focus(); }
  });
  var preheader = document.getElementById("design-preheader");
  preheader.addEventListener("input", function () {
    if (preheader.value) { design.preheader = preheader.value; } else { delete design.preheader; }
    changed();
  });
  document.querySelectorAll("[data-design-step]").forEach(function (chooser) {
    chooser.addEventListener("change", function () { location.assign(chooser.value); });
  });

  // The live preview: the draft drawn by the server as the chosen customer would get it.
  var frames = document.querySelectorAll("[data-design-frame]");
  var preview = window.Documents.asker(form.dataset.previewUrl, state, "Drawing…", function (answer) {
    problems = answer.problems;
    state.textContent = window.Documents.tally(problems);
    if (!problems.length) {
      frames.forEach(function (frame) { frame.srcdoc = answer.html; });
      document.getElementById("design-subject").textContent = answer.subject;
      document.getElementById("design-text").textContent = answer.text;
    }
    showProblems();
  });
  function changed() {
    store.value = JSON.stringify(design);
    preview(store.value);
  }
  draw();
})();
