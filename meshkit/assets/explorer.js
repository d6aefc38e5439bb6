/* meshkit explorer: renders the catalog data held in the page (meshkit-catalog/3), lazily.
 *
 * Every value from the registry is written with textContent or setAttribute (never as markup), and the
 * page's Content-Security-Policy allows no other script and no fetch. Routes live in the URL fragment,
 * so each view is a permalink that works from file://, an artefact or GitHub Pages. Layout of the
 * graphs is ELK's (vendored elkjs); who breaks when a column goes is computed by meshkit in Python
 * (the same rule as `meshkit check`) and only shown here.
 */
"use strict";
(function () {
  var D = JSON.parse(document.getElementById("meshkit-data").textContent);
  var NOBODY = document.body.getAttribute("data-nobody");
  var view = document.getElementById("view");
  var crumbs = document.getElementById("crumbs");
  var elk = new ELK();
  var MAX_PER_HOP = 24; // graph neighbours drawn per expansion; the rest behind a "more" node
  var firstRender = true;

  /* ---------- DOM helpers: text only, never markup ---------- */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    setAttrs(el, attrs);
    for (var i = 2; i < arguments.length; i++) { add(el, arguments[i]); }
    return el;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    setAttrs(el, attrs);
    for (var i = 2; i < arguments.length; i++) { add(el, arguments[i]); }
    return el;
  }
  function setAttrs(el, attrs) {
    if (!attrs) { return; }
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) { return; }
      if (k === "text") { el.textContent = String(v); } else { el.setAttribute(k, v === true ? "" : String(v)); }
    });
  }
  function add(el, child) {
    if (child === null || child === undefined || child === false) { return; }
    if (Array.isArray(child)) { child.forEach(function (c) { add(el, c); }); return; }
    el.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  function code(text) { return h("code", null, text); }
  function badge(text, kind) { return h("span", { "class": "badge " + (kind || "") }, text); }

  /* ---------- routes ---------- */
  function enc(part) { return encodeURIComponent(part); }
  function link(route, text, attrs) {
    var a = h("a", Object.assign({ href: "#" + route }, attrs || {}));
    add(a, text);
    return a;
  }
  function routeOf(parts) { return "/" + parts.map(enc).join("/"); }
  function envRoute(p, e) { return routeOf(["p", p, e]); }
  function modelRoute(p, e, name) { return routeOf(["p", p, e, "m", name]); }
  function versionRoute(p, e, m) { return routeOf(["p", p, e, "m", m.name, "v", m.version || "-"]); }
  function columnRoute(p, e, m, c) { return routeOf(["p", p, e, "m", m.name, "v", m.version || "-", "c", c]); }
  function parseRoute() {
    var raw = location.hash.replace(/^#/, "") || "/";
    return raw.split("/").slice(1).map(function (p) {
      try { return decodeURIComponent(p); } catch (e) { return p; }
    });
  }

  /* ---------- the data, indexed on first use ---------- */
  var entries = {}; // project -> env -> entry
  var envNames = [];
  D.entries.forEach(function (entry) {
    (entries[entry.project] = entries[entry.project] || {})[entry.env] = entry;
    if (envNames.indexOf(entry.env) < 0) { envNames.push(entry.env); }
  });
  envNames.sort(function (a, b) { return envRank(a) - envRank(b) || (a < b ? -1 : 1); });
  function envRank(env) { var i = ["prod", "production", "staging", "dev"].indexOf(env); return i < 0 ? 9 : i; }
  var publishers = Object.keys(entries).sort();

  var contracts = {}; // sha256 -> contract
  D.contracts.forEach(function (c) {
    contracts[c.sha256] = c;
    var past = {}; // which versions are past their deprecation date is the catalog's to say (c.deprecated)
    c.deprecated.forEach(function (uid) { past[uid] = true; });
    c.models.forEach(function (m) { m.deprecated = past[m.unique_id] === true; });
  });
  function contractOf(entry) { return entry && entry.sha256 ? contracts[entry.sha256] || null : null; }
  var provenances = {}; // sha256 -> unique_id -> {reaches, columns: {column: sources} | null}
  function provenanceOf(contract) {
    if (!contract) { return {}; }
    if (!provenances[contract.sha256]) {
      var map = {};
      contract.provenance.forEach(function (p) {
        var columns = null;
        if (p.columns) { columns = {}; p.columns.forEach(function (c) { columns[c.column] = c.sources; }); }
        map[p.unique_id] = { reaches: p.reaches, columns: columns };
      });
      provenances[contract.sha256] = map;
    }
    return provenances[contract.sha256];
  }
  var whatIfs = {}; // project|env -> unique_id -> column -> what if
  function whatIfOf(entry, uid, column) {
    var key = entry.project + "\u0000" + entry.env;
    if (!whatIfs[key]) {
      var map = {};
      entry.what_if.forEach(function (m) {
        var columns = map[m.unique_id] = {};
        m.columns.forEach(function (c) { columns[c.column] = c; });
      });
      whatIfs[key] = map;
    }
    return (whatIfs[key][uid] || {})[column] || null;
  }
  var modelIndex = {}; // sha -> {byUid, byName}
  function models(entry) {
    var sha = entry.sha256;
    if (!sha) { return { byUid: {}, byName: {}, names: [] }; }
    if (!modelIndex[sha]) {
      var byUid = {}, byName = {};
      contracts[sha].models.forEach(function (m) {
        byUid[m.unique_id] = m;
        (byName[m.name] = byName[m.name] || []).push(m);
      });
      Object.keys(byName).forEach(function (n) {
        byName[n].sort(function (a, b) { return versionCompare(b.version, a.version); });
      });
      modelIndex[sha] = { byUid: byUid, byName: byName, names: Object.keys(byName).sort() };
    }
    return modelIndex[sha];
  }
  function versionCompare(a, b) {
    var x = parseFloat(a), y = parseFloat(b);
    if (!isNaN(x) && !isNaN(y) && x !== y) { return x - y; }
    return String(a || "") < String(b || "") ? -1 : String(a || "") > String(b || "") ? 1 : 0;
  }
  // A column's constraints as the contract has them: `not_null, check (amount > 0)`.
  function constraintsText(col) {
    return col.constraints.map(function (c) { return c.type + (c.expression ? " (" + c.expression + ")" : ""); }).join(", ");
  }

  function label(m) { return m.version ? m.name + " v" + m.version : m.name; }
  function nodeName(uid) {
    var parts = uid.split(".");
    if (parts[0] === "model" && parts.length >= 4) { return parts[2] + " " + parts.slice(3).join("."); }
    return parts[parts.length - 1];
  }
  var useIndex = {}; // project|env -> uid -> [{consumer, use}]
  function usesOf(entry, uid) {
    var key = entry.project + "\u0000" + entry.env;
    if (!useIndex[key]) {
      var idx = {};
      entry.consumers.forEach(function (consumer) {
        consumer.uses.forEach(function (use) {
          (idx[use.unique_id] = idx[use.unique_id] || []).push({ consumer: consumer, use: use });
        });
      });
      useIndex[key] = idx;
    }
    return useIndex[key][uid] || [];
  }
  function readersOf(use) {
    // column lineage when the record has it; a format-1 record names models only
    if (use.readers) { return use.readers; }
    return use.downstream_models.map(function (m) { return { model: m, columns: null, direct: true, through: [], reason: "a model-level consumer record" }; });
  }
  function reads(reader, column) {
    if (reader.columns === null) { return null; } // not known: may read it
    var c = column.toLowerCase();
    return reader.columns.some(function (x) { return x.toLowerCase() === c; });
  }
  function preferredEnv(project, wanted) {
    var envs = entries[project] ? Object.keys(entries[project]) : [];
    if (wanted && envs.indexOf(wanted) >= 0) { return wanted; }
    envs.sort(function (a, b) { return envRank(a) - envRank(b) || (a < b ? -1 : 1); });
    return envs[0] || null;
  }

  /* ---------- search: ranked, over the data ---------- */
  var searchItems = null;
  function buildSearch() {
    var seen = {};
    var items = [];
    function fields() { return Array.prototype.slice.call(arguments); }
    publishers.forEach(function (p) {
      items.push({ kind: "project", title: p, sub: "project · " + Object.keys(entries[p]).join(", "), route: routeOf(["p", p]), f: fields([p.toLowerCase(), 1]) });
    });
    D.entries.forEach(function (entry) {
      models(entry);
      var c = contractOf(entry);
      if (!c) { return; }
      var preferred = entries[entry.project][preferredEnv(entry.project, null)];
      c.models.forEach(function (m) {
        var key = entry.project + "\u0000" + m.unique_id;
        if (seen[key]) { return; }
        seen[key] = true;
        // the preferred env (prod first) when the model is there, else the first env found holding it
        var env = models(preferred).byUid[m.unique_id] ? preferred.env : entry.env;
        var where = entry.project + (m.group ? " · group " + m.group : "") + (m.owner ? " · owner " + m.owner : "");
        items.push({
          kind: "model", title: label(m), sub: where, route: versionRoute(entry.project, env, m),
          f: fields([m.name.toLowerCase(), 1], [m.unique_id.toLowerCase(), 0.6], [entry.project.toLowerCase(), 0.5],
            [(m.group || "").toLowerCase(), 0.6], [(m.owner || "").toLowerCase(), 0.6], [m.description.toLowerCase(), 0.3])
        });
        m.columns.forEach(function (col) {
          items.push({
            kind: "column", title: label(m) + "." + col.name, sub: entry.project + (col.data_type ? " · " + col.data_type : ""),
            route: columnRoute(entry.project, env, m, col.name),
            f: fields([col.name.toLowerCase(), 0.9], [m.name.toLowerCase(), 0.4], [entry.project.toLowerCase(), 0.3], [(col.description || "").toLowerCase(), 0.25])
          });
        });
      });
    });
    // consumer-only projects: found through the records that name them
    D.entries.forEach(function (entry) {
      entry.consumers.forEach(function (c) {
        if (c.problem || entries[c.downstream] || seen["\u0000" + c.downstream]) { return; }
        seen["\u0000" + c.downstream] = true;
        items.push({ kind: "project", title: c.downstream, sub: "consumer project" + (c.repository ? " · " + c.repository : ""), route: routeOf(["p", c.downstream]), f: fields([c.downstream.toLowerCase(), 1], [(c.repository || "").toLowerCase(), 0.5]) });
      });
    });
    return items;
  }
  function quality(text, term) {
    if (!text) { return 0; }
    var at = text.indexOf(term);
    if (at < 0) { return 0; }
    if (text.length === term.length) { return 1; }
    if (at === 0) { return 0.75; }
    var before = text.charAt(at - 1);
    return (before === "_" || before === " " || before === "." || before === "-") ? 0.5 : 0.3;
  }
  var KIND_BONUS = { project: 0.02, model: 0.01, column: 0 };
  function search(query, limit) {
    if (!searchItems) { searchItems = buildSearch(); }
    var terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (!terms.length) { return { total: 0, hits: [] }; }
    var hits = [];
    var total = 0;
    for (var i = 0; i < searchItems.length; i++) {
      var item = searchItems[i];
      var score = 0;
      for (var t = 0; t < terms.length; t++) {
        var best = 0;
        for (var f = 0; f < item.f.length; f++) {
          var q = quality(item.f[f][0], terms[t]) * item.f[f][1];
          if (q > best) { best = q; }
        }
        if (!best) { score = 0; break; }
        score += best;
      }
      if (!score) { continue; }
      total += 1;
      score += KIND_BONUS[item.kind] - item.title.length / 10000;
      hits.push({ item: item, score: score });
    }
    hits.sort(function (a, b) { return b.score - a.score; });
    return { total: total, hits: limit ? hits.slice(0, limit) : hits };
  }

  var input = document.getElementById("q");
  var listbox = document.getElementById("q-results");
  var active = -1;
  var shown = [];
  var pending = 0;
  function closeResults() {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }
  function showResults() {
    var query = input.value.trim();
    listbox.textContent = "";
    if (!query) { closeResults(); return; }
    var began = performance.now();
    var found = search(query, 12);
    listbox.setAttribute("data-ms", String(Math.round(performance.now() - began)));
    shown = found.hits.map(function (hit) { return hit.item; });
    shown.push({ kind: "all", title: "All " + found.total + " results for “" + query + "”", sub: "", route: routeOf(["search", query]) });
    shown.forEach(function (item, i) {
      var option = h("li", { id: "q-opt-" + i, role: "option", "aria-selected": "false", "class": "opt " + item.kind, "data-route": item.route },
        h("span", { "class": "kind", text: item.kind === "all" ? "" : item.kind }), h("span", { "class": "title", text: item.title }),
        item.sub ? h("span", { "class": "sub", text: item.sub }) : null);
      option.addEventListener("mousedown", function (ev) { ev.preventDefault(); go(item.route); });
      listbox.appendChild(option);
    });
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
    document.body.setAttribute("data-results", String(found.total));
    listbox.setAttribute("data-query", query);
    setActive(found.hits.length ? 0 : -1);
  }
  function setActive(i) {
    var options = listbox.querySelectorAll("[role=option]");
    if (active >= 0 && options[active]) { options[active].setAttribute("aria-selected", "false"); }
    active = i;
    if (i >= 0 && options[i]) {
      options[i].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[i].id);
      options[i].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }
  function go(route) { closeResults(); location.hash = "#" + route; }
  input.addEventListener("input", function () {
    clearTimeout(pending);
    pending = setTimeout(showResults, 40);
  });
  input.addEventListener("keydown", function (ev) {
    var count = listbox.querySelectorAll("[role=option]").length;
    if (ev.key === "ArrowDown") { ev.preventDefault(); if (listbox.hidden) { showResults(); } else { setActive(Math.min(active + 1, count - 1)); } }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); setActive(Math.max(active - 1, 0)); }
    else if (ev.key === "Enter") {
      ev.preventDefault();
      clearTimeout(pending);
      if (listbox.hidden) { showResults(); }
      var item = shown[active >= 0 ? active : shown.length - 1];
      if (item) { go(item.route); }
    } else if (ev.key === "Escape") { closeResults(); }
  });
  input.addEventListener("blur", function () { setTimeout(closeResults, 100); });
  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target && ev.target.tagName) || "";
    if (ev.key === "/" && tag !== "INPUT" && tag !== "SELECT" && tag !== "TEXTAREA") { ev.preventDefault(); input.focus(); input.select(); }
  });

  /* ---------- theme ---------- */
  var themeButton = document.getElementById("theme");
  function stored() { try { return localStorage.getItem("meshkit-theme"); } catch (e) { return null; } }
  function applyTheme(theme) {
    document.documentElement.setAttribute("data-theme", theme);
    themeButton.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
    themeButton.textContent = theme === "dark" ? "Light theme" : "Dark theme";
  }
  var prefersDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  applyTheme(stored() || (prefersDark ? "dark" : "light"));
  themeButton.addEventListener("click", function () {
    var next = document.documentElement.getAttribute("data-theme") === "dark" ? "light" : "dark";
    applyTheme(next);
    try { localStorage.setItem("meshkit-theme", next); } catch (e) { /* a file:// page may have no storage */ }
  });

  /* ---------- a virtualised list: only the rows on screen exist ---------- */
  function vlist(count, rowHeight, renderRow, labelText) {
    var box = h("div", { "class": "vlist", role: "list", "aria-label": labelText, "data-count": count });
    var spacer = h("div", { "class": "spacer" });
    spacer.style.height = count * rowHeight + "px";
    box.appendChild(spacer);
    var drawn = {};
    function draw() {
      var top = box.scrollTop, height = box.clientHeight || 480;
      var first = Math.max(0, Math.floor(top / rowHeight) - 5);
      var last = Math.min(count, Math.ceil((top + height) / rowHeight) + 5);
      Object.keys(drawn).forEach(function (k) {
        var i = +k;
        if ((i < first || i >= last) && !drawn[k].contains(document.activeElement)) { spacer.removeChild(drawn[k]); delete drawn[k]; }
      });
      for (var i = first; i < last; i++) {
        if (drawn[i]) { continue; }
        var row = h("div", { "class": "vrow", role: "listitem", "data-index": i });
        row.style.transform = "translateY(" + i * rowHeight + "px)";
        row.style.height = rowHeight + "px";
        add(row, renderRow(i));
        spacer.appendChild(row);
        drawn[i] = row;
      }
    }
    box.addEventListener("scroll", function () { requestAnimationFrame(draw); });
    box.addEventListener("keydown", function (ev) {
      if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") { return; }
      var row = ev.target.closest && ev.target.closest(".vrow");
      if (!row) { return; }
      ev.preventDefault();
      var next = +row.getAttribute("data-index") + (ev.key === "ArrowDown" ? 1 : -1);
      if (next < 0 || next >= count) { return; }
      if (next * rowHeight < box.scrollTop) { box.scrollTop = next * rowHeight; }
      if ((next + 1) * rowHeight > box.scrollTop + box.clientHeight) { box.scrollTop = (next + 1) * rowHeight - box.clientHeight; }
      draw();
      var target = drawn[next] && drawn[next].querySelector("a, button");
      if (target) { target.focus(); }
    });
    box.redraw = draw;
    setTimeout(draw, 0);
    return box;
  }

  /* ---------- graphs: ELK lays out, SVG draws ---------- */
  var CHAR = 7.1;
  function nodeSize(text) { return { width: Math.min(300, Math.max(90, Math.round(text.length * CHAR) + 26)), height: 30 }; }
  function short(text) { return text.length > 40 ? text.slice(0, 39) + "…" : text; }
  function hue(project) {
    var x = 0;
    for (var i = 0; i < project.length; i++) { x = (x * 31 + project.charCodeAt(i)) % 360; }
    return x % 8;
  }
  /* nodes: [{id, text, title, kind, project, route, expandable}], edges: [{from, to, kind, title}] */
  function drawGraph(holder, nodes, edges, opts) {
    var graph = {
      id: "root",
      layoutOptions: {
        "elk.algorithm": "layered", "elk.direction": "RIGHT", "elk.edgeRouting": "POLYLINE",
        "elk.layered.spacing.nodeNodeBetweenLayers": "56", "elk.spacing.nodeNode": "12",
        "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF"
      },
      children: nodes.map(function (n) { var size = nodeSize(short(n.text)); return { id: n.id, width: size.width, height: size.height }; }),
      edges: edges.map(function (e, i) { return { id: "e" + i, sources: [e.from], targets: [e.to] }; })
    };
    return elk.layout(graph).then(function (laid) {
      var byId = {};
      nodes.forEach(function (n) { byId[n.id] = n; });
      var width = Math.ceil(laid.width || 200) + 24, height = Math.ceil(laid.height || 60) + 24;
      var svg = s("svg", { xmlns: SVG, "class": "graph", width: width, height: height, viewBox: "-12 -12 " + width + " " + height, role: "group", "aria-label": opts.label });
      add(svg, s("defs", null, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z", "class": "arrowhead" }))));
      laid.edges.forEach(function (e, i) {
        var sec = e.sections && e.sections[0];
        if (!sec) { return; }
        var pts = [sec.startPoint].concat(sec.bendPoints || [], [sec.endPoint]);
        var d = pts.map(function (p, j) { return (j ? "L" : "M") + p.x.toFixed(1) + "," + p.y.toFixed(1); }).join(" ");
        var edge = edges[i];
        svg.appendChild(s("path", { d: d, "class": "edge " + (edge.kind || ""), "marker-end": "url(#arrow)", "data-from": edge.from, "data-to": edge.to }, s("title", { text: edge.title || "" })));
      });
      laid.children.forEach(function (c) {
        var n = byId[c.id];
        var g = s("g", { "class": "node " + (n.kind || "") + " hue" + hue(n.project || ""), tabindex: "0", role: "link", "data-node": n.id, "aria-label": short(n.text) + ": " + n.title, transform: "translate(" + c.x + "," + c.y + ")" },
          s("title", { text: n.title }),
          s("rect", { width: c.width, height: c.height, rx: "5" }),
          s("text", { x: "10", y: "19", text: short(n.text) }));
        g.addEventListener("click", function () { if (n.route) { location.hash = "#" + n.route; } });
        g.addEventListener("keydown", function (ev) {
          if ((ev.key === "Enter" || ev.key === " ") && n.route) { ev.preventDefault(); location.hash = "#" + n.route; }
          if ((ev.key === "+" || ev.key === "=") && n.expandable && opts.expand) { ev.preventDefault(); opts.expand(n.id); }
        });
        svg.appendChild(g);
        if (n.expandable && opts.expand) {
          var button = s("g", { "class": "expander", tabindex: "0", role: "button", "data-expand": n.id, "aria-label": "Expand " + n.title, transform: "translate(" + (c.x + c.width - 2) + "," + (c.y - 8) + ")" },
            s("title", { text: "Show the next hop of " + n.title }), s("circle", { r: "9", cx: "0", cy: "8" }), s("text", { x: "-4", y: "12", text: "+" }));
          button.addEventListener("click", function (ev) { ev.stopPropagation(); opts.expand(n.id); });
          button.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); opts.expand(n.id); } });
          svg.appendChild(button);
        }
      });
      holder.textContent = "";
      holder.appendChild(svg);
      holder.setAttribute("data-nodes", String(nodes.length));
      holder.setAttribute("data-edges", String(edges.length));
      return svg;
    });
  }
  function graphBox(labelText) {
    return h("div", { "class": "graphbox", tabindex: "-1", "aria-label": labelText }, h("p", { "class": "muted", text: "Laying out the graph…" }));
  }

  /* the whole mesh at project level, for one env */
  function meshGraph(env) {
    var nodes = {}, edges = {};
    function node(p, kind) {
      if (!nodes[p]) { nodes[p] = { id: p, text: p, title: p + (kind === "consumer" ? " (consumer project)" : " (publishes a contract)"), kind: kind, project: p, route: entries[p] && entries[p][env] ? envRoute(p, env) : routeOf(["p", p]) }; }
      if (kind === "publisher") { nodes[p].kind = "publisher"; nodes[p].title = p + " (publishes a contract)"; }
    }
    publishers.forEach(function (p) {
      var entry = entries[p][env];
      if (!entry) { return; }
      node(p, "publisher");
      entry.consumers.forEach(function (c) {
        if (c.problem) { return; }
        node(c.downstream, "consumer");
        var key = p + "\u0000" + c.downstream;
        var count = 0;
        c.uses.forEach(function (u) { count += readersOf(u).length; });
        edges[key] = { from: p, to: c.downstream, kind: c.stale ? "stale" : "", title: c.downstream + " reads " + c.uses.length + " public model version(s) of " + p + " in " + count + " model(s)" + (c.stale ? " (stale record)" : "") };
      });
    });
    return { nodes: Object.keys(nodes).sort().map(function (k) { return nodes[k]; }), edges: Object.keys(edges).sort().map(function (k) { return edges[k]; }) };
  }

  /* one model's neighbourhood across projects, grown hop by hop */
  function modelGraph(env, project, uid) {
    var nodes = {}, edges = {}, expanded = {}, more = {};
    function key(p, id) { return p + "|" + id; }
    function info(p, id) {
      var entry = entries[p] && entries[p][env];
      var m = entry ? models(entry).byUid[id] : null;
      return { entry: entry, model: m };
    }
    function ensure(p, id) {
      var k = key(p, id);
      if (!nodes[k]) {
        var found = info(p, id);
        var m = found.model;
        nodes[k] = {
          id: k, project: p, uid: id,
          text: p + " · " + (m ? label(m) : nodeName(id)),
          title: (m ? "public " : "") + id + " in " + p + (m && m.deprecation_date ? ", deprecated from " + m.deprecation_date : ""),
          kind: m ? (m.deprecation_date ? "public deprecated" : "public") : "consumer",
          route: m ? versionRoute(p, env, m) : routeOf(["p", p]),
          expandable: true
        };
      }
      return nodes[k];
    }
    function edge(a, b, kind, title) { edges[a.id + ">" + b.id] = { from: a.id, to: b.id, kind: kind || "", title: title }; }
    function downstreamOf(n) {
      var found = [];
      var entry = entries[n.project] && entries[n.project][env];
      if (entry) {
        usesOf(entry, n.uid).forEach(function (pair) {
          readersOf(pair.use).forEach(function (r) {
            found.push({ p: pair.consumer.downstream, id: r.model, kind: pair.consumer.stale ? "stale" : "", title: pair.consumer.downstream + " reads " + n.uid + " via " + pair.use.via + (r.through.length ? " (through " + r.through.join(", ") + ")" : "") });
          });
        });
      }
      // publishing consumers: their public nodes whose provenance reaches this one
      publishers.forEach(function (p) {
        var e = entries[p][env];
        var c = contractOf(e);
        if (!c) { return; }
        var prov = provenanceOf(c);
        Object.keys(prov).forEach(function (id) {
          if (prov[id].reaches.some(function (d) { return d.project === n.project && d.node === n.uid; })) {
            found.push({ p: p, id: id, kind: "", title: p + "'s public " + id + " derives from " + n.uid });
          }
        });
      });
      return found;
    }
    function upstreamOf(n) {
      var found = [];
      publishers.forEach(function (p) {
        var e = entries[p][env];
        if (!e) { return; }
        e.consumers.forEach(function (c) {
          if (c.downstream !== n.project || c.problem) { return; }
          c.uses.forEach(function (u) {
            if (readersOf(u).some(function (r) { return r.model === n.uid; })) {
              found.push({ p: p, id: u.unique_id, kind: c.stale ? "stale" : "", title: n.project + " reads " + u.unique_id + " via " + u.via });
            }
          });
        });
      });
      var prov = provenanceOf(contractOf(entries[n.project] && entries[n.project][env]))[n.uid];
      if (prov) {
        prov.reaches.forEach(function (d) { found.push({ p: d.project, id: d.node, kind: "", title: n.uid + " derives from " + d.node }); });
      }
      return found;
    }
    function expand(k, limit) {
      var n = nodes[k];
      if (!n) { return; }
      expanded[k] = true;
      var cap = limit || MAX_PER_HOP;
      var down = downstreamOf(n), up = upstreamOf(n);
      var added = 0;
      down.forEach(function (x) {
        var t = ensure(x.p, x.id);
        if (!edges[n.id + ">" + t.id] && added >= cap && !nodes[t.id].shown) { more[k] = (more[k] || 0) + 1; return; }
        t.shown = true; added += 1; edge(n, t, x.kind, x.title);
      });
      up.forEach(function (x) {
        var f = ensure(x.p, x.id);
        f.shown = true; edge(f, n, x.kind, x.title);
      });
      n.expandable = false;
      if (more[k]) { n.expandable = true; n.title += " (" + more[k] + " more downstream)"; }
    }
    var center = ensure(project, uid);
    center.shown = true;
    center.kind += " center";
    expand(center.id);
    return {
      expand: function (k) { more[k] = 0; expand(k, Infinity); },
      snapshot: function () {
        var list = Object.keys(nodes).filter(function (k) { return nodes[k].shown; }).map(function (k) { return nodes[k]; });
        list.forEach(function (n) { if (expanded[n.id] && !more[n.id]) { n.expandable = false; } });
        return { nodes: list, edges: Object.keys(edges).map(function (k) { return edges[k]; }).filter(function (e) { return nodes[e.from].shown && nodes[e.to].shown; }) };
      }
    };
  }

  /* one column's lineage: provenance upstream, readers and publishing consumers downstream */
  function columnGraph(env, project, uid, column) {
    var nodes = {}, edges = {};
    var LIMIT = 150;
    function colNode(p, id, col) {
      var k = p + "|" + id + "|" + col.toLowerCase();
      if (!nodes[k]) {
        var entry = entries[p] && entries[p][env];
        var m = entry ? models(entry).byUid[id] : null;
        nodes[k] = { id: k, project: p, text: p + " · " + (m ? label(m) : nodeName(id)) + "." + col, title: "column " + col + " of " + id + " in " + p, kind: "public column", route: m ? columnRoute(p, env, m, col) : routeOf(["p", p]) };
      }
      return nodes[k];
    }
    function modelNode(p, id) {
      var k = p + "|" + id;
      if (!nodes[k]) { nodes[k] = { id: k, project: p, text: p + " · " + nodeName(id), title: id + " in " + p, kind: "consumer", route: routeOf(["p", p]) }; }
      return nodes[k];
    }
    function edge(a, b, kind, title) { edges[a.id + ">" + b.id] = { from: a.id, to: b.id, kind: kind || "", title: title }; }
    var seen = {};
    function down(p, id, col) {
      var here = colNode(p, id, col);
      if (seen[here.id] || Object.keys(nodes).length > LIMIT) { return; }
      seen[here.id] = true;
      var entry = entries[p] && entries[p][env];
      if (entry) {
        usesOf(entry, id).forEach(function (pair) {
          readersOf(pair.use).forEach(function (r) {
            var read = reads(r, col);
            if (read === false) { return; }
            var target = modelNode(pair.consumer.downstream, r.model);
            edge(here, target, read === null ? "maybe" : (pair.consumer.stale ? "stale" : ""), read === null ? pair.consumer.downstream + "'s " + r.model + " may read " + col + " (" + (r.reason || "columns not known") + ")" : pair.consumer.downstream + "'s " + r.model + " reads " + col);
          });
        });
      }
      publishers.forEach(function (q) {
        var c = contractOf(entries[q][env]);
        if (!c) { return; }
        var provs = provenanceOf(c);
        Object.keys(provs).forEach(function (pid) {
          var cols = provs[pid].columns;
          if (!cols) { return; }
          Object.keys(cols).forEach(function (out) {
            var from = cols[out];
            if (from && from.some(function (d) { return d.project === p && d.node === id && d.column.toLowerCase() === col.toLowerCase(); })) {
              edge(here, colNode(q, pid, out), "", q + "'s " + pid + "." + out + " derives from " + id + "." + col);
              down(q, pid, out);
            }
          });
        });
      });
    }
    function up(p, id, col, depth) {
      var here = colNode(p, id, col);
      if (depth > 8) { return; }
      var prov = provenanceOf(contractOf(entries[p] && entries[p][env]))[id];
      var from = prov && prov.columns ? prov.columns[col] : null;
      (from || []).forEach(function (d) {
        var source = colNode(d.project, d.node, d.column);
        edge(source, here, "", id + "." + col + " derives from " + d.node + "." + d.column);
        up(d.project, d.node, d.column, depth + 1);
      });
    }
    var center = colNode(project, uid, column);
    center.kind += " center";
    down(project, uid, column);
    up(project, uid, column, 0);
    return { nodes: Object.keys(nodes).map(function (k) { return nodes[k]; }), edges: Object.keys(edges).map(function (k) { return edges[k]; }) };
  }

  /* ---------- views ---------- */
  function setCrumbs(parts) {
    crumbs.textContent = "";
    var ol = h("ol");
    parts.forEach(function (p, i) {
      var last = i === parts.length - 1;
      ol.appendChild(h("li", null, last ? h("span", { "aria-current": "page", text: p[0] }) : link(p[1], p[0])));
    });
    crumbs.appendChild(ol);
  }
  function section(title, id) {
    var sec = h("section", { "class": "panel", "aria-labelledby": id });
    sec.appendChild(h("h2", { id: id, text: title }));
    return sec;
  }
  function table(headers, rows, cls) {
    return h("table", { "class": cls || "" }, h("thead", null, h("tr", null, headers.map(function (x) { return h("th", { scope: "col", text: x }); }))),
      h("tbody", null, rows));
  }
  function envSwitch(current, routeFor, envs) {
    var nav = h("nav", { "class": "envs", "aria-label": "Envs" });
    (envs || envNames).forEach(function (env) {
      nav.appendChild(link(routeFor(env), env, env === current ? { "aria-current": "true", "class": "on" } : null));
    });
    return nav;
  }
  function ageText(c) {
    if (c.problem) { return "unreadable: " + c.problem; }
    return (c.stale ? "stale: " : "fresh, ") + c.age_days + (c.age_days === 1 ? " day old" : " days old");
  }

  function homeView(env) {
    env = env || envNames[0];
    setCrumbs([["mesh", "/"]]);
    var models = 0, columns = 0;
    D.entries.forEach(function (e) { var c = contractOf(e); if (c) { models += c.models.length; } });
    var consumersOnly = {};
    D.entries.forEach(function (e) { e.consumers.forEach(function (c) { if (!c.problem && !entries[c.downstream]) { consumersOnly[c.downstream] = true; } }); });
    view.appendChild(h("h1", { text: "The mesh" + (env ? " in " + env : "") }));
    view.appendChild(h("div", { "class": "stats" },
      stat(publishers.length, "published projects", "projects"), stat(D.entries.length, "project envs", "envs"),
      stat(models, "public model versions", "models"), stat(Object.keys(consumersOnly).length, "consumer-only projects", "consumers")));
    if (!D.entries.length) {
      view.appendChild(h("p", { id: "empty" }, "The registry has no published contracts yet: run ", code("meshkit publish"), " in an upstream project."));
      return Promise.resolve();
    }
    var sec = section("Lineage between projects", "mesh-graph-title");
    sec.appendChild(envSwitch(env, function (e) { return routeOf(["mesh", e]); }));
    sec.appendChild(h("p", { "class": "legend", text: "Each arrow: a project reading public models of another, as its consumer record says. Dotted: a stale record. Select a project to open it." }));
    var box = graphBox("lineage between projects in " + env);
    sec.appendChild(box);
    view.appendChild(sec);
    var list = section("Projects", "projects-title");
    list.appendChild(table(["project", "envs", "public model versions", "consumers"], publishers.map(function (p) {
      var envs = Object.keys(entries[p]).sort(function (a, b) { return envRank(a) - envRank(b); });
      var e = entries[p][preferredEnv(p, env)];
      var c = contractOf(e);
      return h("tr", { "data-project": p }, h("td", null, link(routeOf(["p", p]), p)),
        h("td", null, envs.map(function (x, i) { return [i ? ", " : "", link(envRoute(p, x), x)]; })),
        h("td", { text: c ? c.models.length : (e.problem ? "unreadable" : "0") }),
        h("td", { text: e.consumers.filter(function (x) { return !x.problem; }).length }));
    })));
    view.appendChild(list);
    var g = meshGraph(env);
    return drawGraph(box, g.nodes, g.edges, { label: "lineage between projects in " + env }).then(function () {
      // milliseconds since navigation start: the page's HTML, its data and both scripts included
      if (firstRender) { document.body.setAttribute("data-first-render-ms", String(Math.round(performance.now()))); }
    });
  }
  function stat(n, text, id) { return h("div", { "class": "stat" }, h("b", { id: "stat-" + id, text: n }), " " + text); }

  function projectView(p) {
    setCrumbs([["mesh", "/"], [p, routeOf(["p", p])]]);
    view.appendChild(h("h1", null, "Project ", code(p)));
    if (entries[p]) {
      var sec = section("Envs", "envs-title");
      sec.appendChild(table(["env", "contract", "published", "public model versions", "consumers"], Object.keys(entries[p]).sort(function (a, b) { return envRank(a) - envRank(b); }).map(function (env) {
        var e = entries[p][env], c = contractOf(e);
        return h("tr", { "data-env": env }, h("td", null, link(envRoute(p, env), env)), h("td", null, e.problem ? h("span", { "class": "problem", text: e.problem }) : code(e.sha256.slice(0, 12))),
          h("td", { text: e.published_at || "" }), h("td", { text: c ? c.models.length : 0 }), h("td", { text: e.consumers.filter(function (x) { return !x.problem; }).length }));
      })));
      view.appendChild(sec);
    }
    var reads = [];
    D.entries.forEach(function (e) {
      e.consumers.forEach(function (c) {
        if (c.downstream !== p || c.problem) { return; }
        c.uses.forEach(function (u) {
          var m = models(e).byUid[u.unique_id];
          reads.push(h("tr", null, h("td", null, link(envRoute(e.project, e.env), e.project + " / " + e.env)),
            h("td", null, m ? link(versionRoute(e.project, e.env, m), label(m)) : code(u.unique_id)), h("td", { text: u.via }),
            h("td", null, readersOf(u).map(function (r, i) { return [i ? ", " : "", code(nodeName(r.model))]; })), h("td", { text: ageText(c) })));
        });
      });
    });
    var sec2 = section("What " + p + " reads from other projects", "reads-title");
    sec2.appendChild(reads.length ? table(["upstream", "public model", "via", "read by", "record"], reads) : h("p", { "class": "muted", text: "No consumer record names this project as a reader." }));
    view.appendChild(sec2);
    return Promise.resolve();
  }

  function envView(p, env, sub) {
    var entry = entries[p] && entries[p][env];
    if (!entry) { return notFound("No contract of " + p + " in env " + env + "."); }
    setCrumbs([["mesh", "/"], [p, routeOf(["p", p])], [env, envRoute(p, env)]]);
    view.appendChild(h("h1", null, code(p), " in ", code(env)));
    view.appendChild(envSwitch(env, function (e) { return envRoute(p, e); }, Object.keys(entries[p])));
    if (entry.problem) { view.appendChild(h("p", { "class": "problem", text: entry.problem })); return Promise.resolve(); }
    view.appendChild(h("p", { "class": "meta" }, "contract ", code(entry.sha256.slice(0, 12)), " · published " + (entry.published_at || "unknown"), entry.git_commit ? [" · commit ", code(entry.git_commit.slice(0, 12))] : null));
    if (sub === "history") { return historyView(entry, arguments[3], arguments[4]); }
    var idx = models(entry);
    var sec = section("Public models (" + idx.names.length + ")", "models-title");
    var rows = idx.names.map(function (n) { return idx.byName[n]; });
    sec.appendChild(vlist(rows.length, 34, function (i) {
      var versions = rows[i];
      var m = versions[0];
      return [link(modelRoute(p, env, m.name), m.name, { "class": "row-link" }), " ",
        versions.length > 1 || m.version ? h("span", { "class": "muted", text: versions.map(function (v) { return "v" + v.version; }).join(", ") }) : null,
        m.deprecation_date ? badge("deprecated from " + m.deprecation_date, m.deprecated ? "past" : "deprecated") : null,
        h("span", { "class": "muted desc", text: m.description })];
    }, "public models of " + p + " in " + env));
    view.appendChild(sec);
    view.appendChild(consumersSection(entry));
    view.appendChild(historySection(entry, null));
    return Promise.resolve();
  }

  function consumersSection(entry) {
    var sec = section("Consumer records", "consumers-title");
    if (!entry.consumers.length) {
      sec.appendChild(h("p", { "class": "muted" }, "No downstream has recorded what it reads (they run ", code("meshkit validate --record-consumer"), ")."));
      return sec;
    }
    sec.appendChild(table(["downstream", "repository", "recorded", "commit", "uses", "status"], entry.consumers.map(function (c) {
      return h("tr", { "data-downstream": c.downstream }, h("td", null, link(routeOf(["p", c.downstream]), c.downstream)), h("td", { text: c.repository || "" }),
        h("td", { text: c.recorded_at || "" }), h("td", null, code((c.git_commit || "").slice(0, 12))), h("td", { text: c.uses.length }),
        h("td", null, c.problem ? h("span", { "class": "problem", text: "unreadable: " + c.problem }) : c.stale ? badge(ageText(c), "past") : ageText(c)));
    }), "consumers"));
    return sec;
  }

  function changeLine(c) {
    return h("li", { "class": "change " + c.severity, "data-code": c.code }, badge(c.severity, c.severity), " ", code("[" + c.code + "]"), " ", h("span", { "class": "message", text: c.message }));
  }
  function historySection(entry, uid) {
    var p = entry.project, env = entry.env;
    var sec = section(uid ? "Publish history of this version" : "Publish history", "history-title");
    var list = h("ol", { "class": "timeline" });
    entry.history.forEach(function (pub, i) {
      var diff = (pub.diff || []).filter(function (c) { return !uid || c.unique_id === uid; });
      if (uid && !diff.length && i !== entry.history.length - 1) { return; }
      var li = h("li", { "data-history-id": pub.history_id, "class": pub.breaking ? "breaking" : "" },
        h("b", { text: pub.published_at || pub.history_id }), pub.sha256 ? [" · ", code(pub.sha256.slice(0, 12))] : null,
        pub.git_commit ? [" · commit ", code(pub.git_commit.slice(0, 12))] : null, pub.dbt_version ? " · dbt " + pub.dbt_version : null,
        " · " + pub.public_models + " public",
        pub.problem ? h("span", { "class": "problem", text: " " + pub.problem }) : pub.changes !== null ? " · " + pub.changes + (pub.changes === 1 ? " change" : " changes") + (pub.breaking ? ", " + pub.breaking + " breaking" : "") : (i === entry.history.length - 1 ? " · first publish" : ""));
      if (diff.length) {
        var details = h("details", null, h("summary", { text: "what changed since the publish before" + (pub.diff_source === "computed" ? " (compared now)" : "") }), h("ul", { "class": "changes" }, diff.map(changeLine)));
        li.appendChild(details);
      }
      list.appendChild(li);
    });
    sec.appendChild(list);
    if (!uid && entry.history.length > 1) {
      var form = h("form", { "class": "compare", "aria-label": "Compare two publishes" });
      var ids = entry.history.map(function (x) { return x.history_id; });
      function select(id, text, chosen) {
        var sel = h("select", { id: id });
        ids.forEach(function (x) { sel.appendChild(h("option", { value: x, selected: x === chosen, text: x })); });
        return [h("label", { "for": id, text: text }), sel];
      }
      add(form, select("from", "from ", ids[1]));
      add(form, select("to", " to ", ids[0]));
      var button = h("button", { type: "submit", text: "Show changes" });
      form.appendChild(button);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        location.hash = "#" + routeOf(["p", p, env, "history", form.querySelector("#from").value, form.querySelector("#to").value]);
      });
      sec.appendChild(form);
    }
    return sec;
  }
  function historyView(entry, from, to) {
    var p = entry.project, env = entry.env;
    setCrumbs([["mesh", "/"], [p, routeOf(["p", p])], [env, envRoute(p, env)], ["history", routeOf(["p", p, env, "history"])]]);
    var ids = entry.history.map(function (x) { return x.history_id; });
    var a = ids.indexOf(from), b = ids.indexOf(to);
    var sec = section("Changes between two publishes", "diff-title");
    if (from && to && a >= 0 && b >= 0) {
      var newer = Math.min(a, b), older = Math.max(a, b);
      sec.appendChild(h("p", null, "From ", code(ids[older]), " to ", code(ids[newer]), ", publish by publish, as ", code("meshkit check"), " words each change:"));
      var out = h("div", { id: "diff" });
      for (var i = older - 1; i >= newer; i--) {
        var pub = entry.history[i];
        out.appendChild(h("h3", null, code(pub.history_id), pub.published_at ? " · " + pub.published_at : ""));
        if (pub.diff === null || pub.diff === undefined) { out.appendChild(h("p", { "class": "muted", text: "Not recorded: this entry could not be compared with the one before." })); }
        else if (!pub.diff.length) { out.appendChild(h("p", { "class": "muted", text: "public surface unchanged" })); }
        else { out.appendChild(h("ul", { "class": "changes" }, pub.diff.map(changeLine))); }
      }
      if (older === newer) { out.appendChild(h("p", { "class": "muted", text: "The same publish: nothing changed." })); }
      sec.appendChild(out);
    } else {
      sec.appendChild(h("p", { "class": "muted", text: "Pick two publishes below." }));
    }
    view.appendChild(sec);
    view.appendChild(historySection(entry, null));
    return Promise.resolve();
  }

  function modelView(p, env, name) {
    var entry = entries[p] && entries[p][env];
    var versions = entry ? models(entry).byName[name] : null;
    if (!versions) { return notFound("No public model " + name + " in " + p + " / " + env + "."); }
    setCrumbs([["mesh", "/"], [p, routeOf(["p", p])], [env, envRoute(p, env)], [name, modelRoute(p, env, name)]]);
    view.appendChild(h("h1", null, "Model ", code(name), " of ", code(p)));
    var sec = section("Versions", "versions-title");
    sec.appendChild(table(["version", "latest", "deprecation", "columns", "consumers"], versions.map(function (m) {
      var readers = usesOf(entry, m.unique_id).filter(function (x) { return !x.consumer.problem; });
      return h("tr", { "data-unique-id": m.unique_id }, h("td", null, link(versionRoute(p, env, m), m.version ? "v" + m.version : "unversioned")),
        h("td", { text: m.is_latest ? "latest" : "" }), h("td", null, m.deprecation_date ? badge((m.deprecated ? "deprecated since " : "deprecated from ") + m.deprecation_date, m.deprecated ? "past" : "deprecated") : ""),
        h("td", { text: m.columns.length }), h("td", { text: readers.length }));
    })));
    view.appendChild(sec);
    return Promise.resolve();
  }

  function findVersion(entry, name, version) {
    var versions = entry ? models(entry).byName[name] : null;
    if (!versions) { return null; }
    for (var i = 0; i < versions.length; i++) { if ((versions[i].version || "-") === version) { return versions[i]; } }
    return null;
  }

  function versionHeader(p, env, m) {
    view.appendChild(h("h1", null, code(label(m)), " ", h("span", { "class": "muted", text: p + " / " + env }),
      m.version && m.is_latest ? badge("latest", "latest") : null, m.contract_enforced ? badge("contract enforced", "contract") : null,
      m.deprecation_date ? badge((m.deprecated ? "deprecated since " : "deprecated from ") + m.deprecation_date, m.deprecated ? "past" : "deprecated") : null));
    view.appendChild(h("p", { "class": "meta" }, code(m.relation), m.group ? " · group " + m.group : "", m.owner ? " · owner " + m.owner : "", m.materialized ? " · " + m.materialized : "",
      m.version && !m.is_latest ? " · latest is v" + m.latest_version : ""));
    if (m.description) { view.appendChild(h("p", { "class": "description", text: m.description })); }
  }

  function versionView(p, env, name, version, column, whatIfColumn) {
    var entry = entries[p] && entries[p][env];
    var m = findVersion(entry, name, version);
    if (!m) { return notFound("No version " + version + " of " + name + " in " + p + " / " + env + "."); }
    var trail = [["mesh", "/"], [p, routeOf(["p", p])], [env, envRoute(p, env)], [name, modelRoute(p, env, name)], [m.version ? "v" + m.version : "unversioned", versionRoute(p, env, m)]];
    if (column !== undefined) { return columnView(entry, m, column, trail); }
    setCrumbs(trail);
    versionHeader(p, env, m);
    var cols = section("Contract columns (" + m.columns.length + ")", "columns-title");
    cols.appendChild(table(["column", "type", "constraints", "description"], m.columns.map(function (c) {
      return h("tr", { "data-column": c.name }, h("td", null, link(columnRoute(p, env, m, c.name), c.name)), h("td", null, code(c.data_type || "")),
        h("td", { text: constraintsText(c) }), h("td", { text: c.description || "" }));
    }), "columns"));
    view.appendChild(cols);
    view.appendChild(whatIfSection(entry, m, whatIfColumn));
    view.appendChild(modelConsumers(entry, m));
    var sec = section("Lineage across projects", "lineage-title");
    sec.appendChild(h("p", { "class": "legend", text: "Upstream on the left, consumers on the right. Press + on a node (or its + button) to show its next hop; Enter opens it." }));
    var box = graphBox("lineage of " + label(m));
    sec.appendChild(box);
    view.appendChild(sec);
    view.appendChild(historySection(entry, m.unique_id));
    var graph = modelGraph(env, p, m.unique_id);
    function redraw() {
      var snap = graph.snapshot();
      return drawGraph(box, snap.nodes, snap.edges, { label: "lineage of " + label(m), expand: function (k) {
        graph.expand(k);
        redraw().then(function () {
          var again = box.querySelector('[data-node="' + cssEscape(k) + '"]');
          if (again) { again.focus(); }
        });
      } });
    }
    return redraw();
  }
  function cssEscape(text) { return window.CSS && CSS.escape ? CSS.escape(text) : text.replace(/["\\]/g, "\\$&"); }

  function modelConsumers(entry, m) {
    var sec = section("Consumers", "model-consumers-title");
    var pairs = usesOf(entry, m.unique_id);
    if (!pairs.length) { sec.appendChild(h("p", { "class": "muted", text: "none on record" })); return sec; }
    sec.appendChild(table(["project", "repository", "via", "models (columns read)", "record age"], pairs.map(function (pair) {
      var c = pair.consumer;
      return h("tr", { "data-downstream": c.downstream }, h("td", null, link(routeOf(["p", c.downstream]), c.downstream)), h("td", { text: c.repository || "" }), h("td", { text: pair.use.via + (pair.use.pinned ? ", pinned" : ", follows latest") }),
        h("td", null, h("ul", { "class": "plain" }, readersOf(pair.use).map(function (r) {
          return h("li", null, code(nodeName(r.model)), r.columns === null ? h("span", { "class": "muted", text: " (columns not known" + (r.reason ? ": " + r.reason : "") + ")" }) : h("span", { "class": "muted", text: " (" + r.columns.join(", ") + ")" }));
        }))),
        h("td", null, c.stale ? badge(ageText(c), "past") : ageText(c)));
    }), "consumers"));
    return sec;
  }

  function whatIfSection(entry, m, chosen) {
    var sec = section("What if a column were removed?", "whatif-title");
    sec.appendChild(h("p", { "class": "legend" }, "The consumer models ", code("meshkit check"), " would name for a pull request removing the column: worked out by meshkit from the consumer records when this page was written."));
    var form = h("form", { "class": "whatif", "aria-label": "What if a column were removed" });
    var sel = h("select", { id: "whatif-column" });
    sel.appendChild(h("option", { value: "", text: "choose a column" }));
    m.columns.forEach(function (c) { sel.appendChild(h("option", { value: c.name, selected: c.name === chosen, text: c.name })); });
    form.appendChild(h("label", { "for": "whatif-column", text: "Remove column " }));
    form.appendChild(sel);
    var out = h("div", { id: "whatif-result", "aria-live": "polite" });
    sel.addEventListener("change", function () {
      var route = versionRoute(entry.project, entry.env, m) + (sel.value ? "/whatif/" + enc(sel.value) : "");
      history.replaceState(null, "", "#" + route);
      renderWhatIf(out, entry, m, sel.value);
    });
    sec.appendChild(form);
    sec.appendChild(out);
    if (chosen) { renderWhatIf(out, entry, m, chosen); }
    return sec;
  }
  function renderWhatIf(out, entry, m, column) {
    out.textContent = "";
    if (!column) { return; }
    var found = whatIfOf(entry, m.unique_id, column);
    out.setAttribute("data-column", column);
    if (!found) {
      out.appendChild(h("p", { "class": "verdict none" }, "Removing ", code(column), ": " + NOBODY + "."));
      out.setAttribute("data-breaks", "0");
      return;
    }
    out.appendChild(h("p", { "class": "verdict " + found.severity }, badge(found.severity, found.severity), " ", code("[" + found.code + "]"), " ", h("span", { "class": "message", text: found.message })));
    out.appendChild(h("p", { "class": "affects" }, found.impacts.length ? "affects " : "", h("span", { text: found.affects })));
    out.setAttribute("data-breaks", String(found.impacts.length));
    if (found.impacts.length) {
      out.appendChild(table(["downstream", "repository", "models that break", "may break (lineage unknown)", "path", "record"], found.impacts.map(function (i) {
        return h("tr", { "class": "impact", "data-downstream": i.downstream }, h("td", null, link(routeOf(["p", i.downstream]), i.downstream)), h("td", { text: i.repository || "" }),
          h("td", { "class": "models" }, i.models.map(function (x, j) { return [j ? ", " : "", code(x)]; })),
          h("td", { "class": "may-break" }, i.may_break.map(function (x, j) { return [j ? ", " : "", code(x)]; })),
          h("td", { text: i.transitive ? i.path.join(" → ") : "" }), h("td", { text: (i.stale ? "stale, " : "") + i.age_days + " days old" }));
      }), "impacts"));
    }
  }

  function columnView(entry, m, name, trail) {
    var col = null;
    m.columns.forEach(function (c) { if (c.name === name) { col = c; } });
    if (!col) { return notFound("No column " + name + " in " + label(m) + "."); }
    var p = entry.project, env = entry.env;
    setCrumbs(trail.concat([[name, columnRoute(p, env, m, name)]]));
    view.appendChild(h("h1", null, "Column ", code(name), " of ", code(label(m)), " ", h("span", { "class": "muted", text: p + " / " + env })));
    view.appendChild(h("dl", { "class": "facts" }, h("dt", { text: "type" }), h("dd", null, code(col.data_type || "not declared")),
      h("dt", { text: "constraints" }), h("dd", { text: constraintsText(col) || "none" }), h("dt", { text: "description" }), h("dd", { text: col.description || "none" })));
    var readers = section("Who reads it", "readers-title");
    var rows = [];
    usesOf(entry, m.unique_id).forEach(function (pair) {
      readersOf(pair.use).forEach(function (r) {
        var read = reads(r, name);
        if (read === false) { return; }
        rows.push(h("tr", { "data-downstream": pair.consumer.downstream }, h("td", null, link(routeOf(["p", pair.consumer.downstream]), pair.consumer.downstream)), h("td", null, code(nodeName(r.model))),
          h("td", { text: read === null ? "may read it: " + (r.reason || "columns not known") : (r.direct ? "reads it" : "reads it through " + r.through.join(", ")) }), h("td", { text: ageText(pair.consumer) })));
      });
    });
    readers.appendChild(rows.length ? table(["project", "model", "how", "record"], rows, "readers") : h("p", { "class": "muted", text: NOBODY }));
    view.appendChild(readers);
    var wi = section("What if it were removed?", "column-whatif-title");
    var out = h("div", { id: "whatif-result", "aria-live": "polite" });
    renderWhatIf(out, entry, m, name);
    wi.appendChild(out);
    view.appendChild(wi);
    var sec = section("Column lineage", "column-lineage-title");
    sec.appendChild(h("p", { "class": "legend", text: "Where the column comes from (publishers' provenance) and which consumer models read it (their records' column lineage). Dashed: may read it, its columns are not known." }));
    var box = graphBox("lineage of column " + name);
    sec.appendChild(box);
    view.appendChild(sec);
    var g = columnGraph(env, p, m.unique_id, name);
    return drawGraph(box, g.nodes, g.edges, { label: "lineage of column " + name });
  }

  function searchView(query) {
    setCrumbs([["mesh", "/"], ["search", routeOf(["search", query])]]);
    input.value = query;
    var found = search(query, 0);
    view.appendChild(h("h1", null, found.total + " results for ", code(query)));
    var sec = h("section", { "class": "panel", "aria-label": "search results" });
    sec.appendChild(vlist(found.hits.length, 40, function (i) {
      var item = found.hits[i].item;
      return [h("span", { "class": "kind", text: item.kind }), link(item.route, item.title, { "class": "row-link" }), " ", h("span", { "class": "muted", text: item.sub })];
    }, "search results"));
    view.appendChild(sec);
    document.body.setAttribute("data-results", String(found.total));
    return Promise.resolve();
  }

  function notFound(text) {
    setCrumbs([["mesh", "/"]]);
    view.appendChild(h("h1", { text: "Not found" }));
    view.appendChild(h("p", null, text + " ", link("/", "Back to the mesh")));
    return Promise.resolve();
  }

  function render() {
    var parts = parseRoute();
    document.body.setAttribute("data-ready", "0");
    view.textContent = "";
    var done;
    try {
      if (!parts.length || parts[0] === "") { done = homeView(null); }
      else if (parts[0] === "mesh") { done = homeView(parts[1]); }
      else if (parts[0] === "search") { done = searchView(parts.slice(1).join("/")); }
      else if (parts[0] === "p" && parts.length === 2) { done = projectView(parts[1]); }
      else if (parts[0] === "p" && parts.length >= 3 && parts[3] !== "m") { done = envView(parts[1], parts[2], parts[3], parts[4], parts[5]); }
      else if (parts[0] === "p" && parts[3] === "m" && parts.length === 5) { done = modelView(parts[1], parts[2], parts[4]); }
      else if (parts[0] === "p" && parts[3] === "m" && parts[5] === "v") {
        done = versionView(parts[1], parts[2], parts[4], parts[6], parts[7] === "c" ? parts[8] : undefined, parts[7] === "whatif" ? parts[8] : undefined);
      } else { done = notFound("No such view."); }
    } catch (err) {
      done = Promise.reject(err);
    }
    var focusMain = !firstRender;
    return done.then(function () {
      document.body.setAttribute("data-ready", "1");
      document.body.setAttribute("data-route", location.hash || "#/");
      if (focusMain) { var heading = view.querySelector("h1"); if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); } }
      firstRender = false;
      document.querySelectorAll(".vlist").forEach(function (box) { box.redraw(); });
    }, function (err) {
      view.appendChild(h("p", { "class": "problem", text: "This view failed: " + err }));
      document.body.setAttribute("data-ready", "error");
      firstRender = false;
    });
  }
  window.addEventListener("hashchange", render);
  render();
})();
