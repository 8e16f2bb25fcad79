/* A screen design drawn as a simple visual mock: boxes for the design tree's blocks
   (screens, stacks, heroes, lists, grids, tiles, buttons, placements) in the theme's
   colours, and a placement's content as a user would see it. Shared by the demo page and
   the admin's previews, so both draw a design the same way. No framework; no HTML from a
   design is ever parsed (text goes through textContent), except an html placement's body,
   which the caller decides how to show (`htmlInto`). */
(function (root) {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function jsonBody(body) {
    if (typeof body !== "string") return body;
    try { return JSON.parse(body); } catch (e) { return body; }
  }

  // A JSON placement is the app's to draw: here, offers as cards.
  function offerCards(body) {
    var list = Array.isArray(body) ? body : [body];
    var wrap = el("div", "offers");
    list.forEach(function (offer) {
      var card = el("article", "offer");
      if (!offer || typeof offer !== "object") { card.textContent = String(offer); wrap.appendChild(card); return; }
      if (offer.badge) card.appendChild(el("span", "badge", offer.badge));
      card.appendChild(el("h4", null, offer.title || ""));
      if (offer.text) card.appendChild(el("p", null, offer.text));
      if (offer.cta && offer.cta.label) {
        var a = el("a", "cta", offer.cta.label);
        a.href = offer.cta.href || "#";
        card.appendChild(a);
      }
      wrap.appendChild(card);
    });
    return wrap;
  }

  // options.htmlInto(target, html): how to show an html body (default: innerHTML, for
  // bodies sanitised when saved; the admin puts them in a sandboxed iframe instead).
  function renderContent(target, content, options) {
    if (!content) { target.textContent = ""; return; }
    var body = content.body;
    if (content.kind === "html") {
      if (options && options.htmlInto) { target.textContent = ""; options.htmlInto(target, body || ""); }
      else target.innerHTML = body || "";
    } else if (content.kind === "text") {
      target.textContent = body == null ? "" : String(body);
    } else if (content.kind === "image") {
      body = jsonBody(body) || {};
      var img = el("img"); img.src = body.src || ""; img.alt = body.alt || "";
      target.textContent = "";
      if (body.href) { var link = el("a"); link.href = body.href; link.appendChild(img); target.appendChild(link); }
      else target.appendChild(img);
    } else {
      target.textContent = "";
      target.appendChild(offerCards(jsonBody(body)));
    }
  }

  // placements: {key: {content: {kind, body}}}, what the design's Placement blocks show.
  function drawNode(node, theme, placements, options) {
    if (!node || typeof node !== "object") return el("div");
    var props = node.props || {}, colors = theme.colors || {}, gap = (theme.spacing || 8) + "px";
    var type = String(node.type || "");
    var box, kids = Array.isArray(node.children) ? node.children : [];
    function addKids(parent) {
      kids.forEach(function (child) { parent.appendChild(drawNode(child, theme, placements, options)); });
      return parent;
    }
    switch (type) {
      case "Screen": case "Stack": case "Column":
        box = el("div", "pz-c-" + type.toLowerCase());
        box.style.display = "flex"; box.style.flexDirection = "column"; box.style.gap = gap;
        return addKids(box);
      case "Hero":
        box = el("div", "pz-c-hero");
        if (props.image) { var img = el("img"); img.src = props.image; img.alt = props.title || ""; box.appendChild(img); }
        if (props.title) box.appendChild(el("h3", null, props.title));
        return box;
      case "Heading": case "Title":
        box = el("h3", "pz-c-heading", props.text || props.title || props.label || "");
        box.style.padding = "0 " + gap;
        return box;
      case "Text": case "Paragraph":
        box = el("p", "pz-c-text", props.text || props.body || "");
        box.style.padding = "0 " + gap;
        return box;
      case "Image":
        box = el("img", "pz-c-image"); box.src = props.src || props.image || ""; box.alt = props.alt || "";
        return box;
      case "Button":
      case "BigButton":
        box = el("button", "pz-c-bigbutton", props.label || props.text || "");
        box.type = "button"; box.title = props.action || "";
        box.style.background = colors.accent || "#ffb300"; box.style.color = colors.background || "#000";
        var wrap = el("div"); wrap.style.padding = "0 " + gap; wrap.appendChild(box);
        return wrap;
      case "Placement":
        box = el("div", "pz-c-placement");
        box.style.padding = gap;
        box.setAttribute("data-placement", props.key || "");
        var placed = placements && placements[props.key];
        renderContent(box, placed && placed.content, options);  // none decided: left empty
        return box;
      case "List":
        box = el("div", "pz-c-list"); box.style.padding = "0 " + gap;
        if (props.title) box.appendChild(el("h4", null, props.title));
        var inner = el("div"); inner.style.display = "flex"; inner.style.flexDirection = "column"; inner.style.gap = gap;
        box.appendChild(addKids(inner));
        return box;
      case "Grid":
        box = el("div", "pz-c-grid");
        box.style.gridTemplateColumns = "repeat(" + (parseInt(props.columns, 10) || 2) + ", 1fr)";
        box.style.gap = gap; box.style.padding = "0 " + gap + " " + gap;
        return addKids(box);
      case "Tile":
        box = el("div", "pz-c-tile", props.label || "");
        box.style.background = colors.accent || "#3553d6"; box.style.color = colors.background || "#fff";
        return box;
      default:
        box = el("div", "pz-c-unknown", type + " (not drawn by this mock)");
        return addKids(box);
    }
  }

  // Draws `design` ({root, theme}) into `viewport` (emptied first), themed.
  function drawDesign(viewport, design, placements, options) {
    design = design || {};
    var theme = design.theme || {}, colors = theme.colors || {};
    viewport.textContent = "";
    viewport.style.background = colors.background || "#fff";
    viewport.style.color = colors.text || "#1d2330";
    viewport.appendChild(drawNode(design.root, theme, placements, options));
  }

  root.PersonalizeMock = {
    drawDesign: drawDesign,
    drawNode: drawNode,
    renderContent: renderContent,
    offerCards: offerCards,
  };
})(window);
