// netlab report viewer: draws one run's data object into a page element.
//
// Hand-written, no framework, nothing fetched: report.html embeds this file, its style sheet
// and the data object (src/report/html/data.rs says what the object holds). Any page that has
// such an object can show it: NetlabReport.render(data, element).
//
// The request table, the timeline and the per-server load are computed here from the
// requests' columns, so zooming re-bins at any scale and 100,000 rows stay one typed array.
// A longer run's page holds its first 100,000 requests only, and says so.
"use strict";

var NetlabReport = (function () {
  var SVG_NS = "http://www.w3.org/2000/svg";
  // Okabe-Ito, as the SVG charts; per outcome in report order (ok first).
  var OUTCOME_COLOURS = ["#009E73", "#CC79A7", "#E69F00", "#D55E00", "#0072B2", "#56B4E9", "#000000"];
  var PAGE_ROWS = 50;
  var BINS = 120;

  // An HTML element with attributes and children (strings become text).
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  // An SVG element with attributes.
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setAttrs(node, attrs) {
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "onclick") node.addEventListener("click", attrs[k]);
      else if (k === "onchange") node.addEventListener("change", attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
  }

  function seconds(us) {
    return (us / 1e6).toFixed(6);
  }

  function fmt(x) {
    return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
  }

  function section(root, id, title) {
    var s = el("section", { id: id }, [el("h2", {}, [title])]);
    root.appendChild(s);
    return s;
  }

  // A long run's page holds only its first requests (data.requests_total says how many the
  // run had): say so wherever they are counted.
  function subsetNote(s, m) {
    var total = m.data.requests_total;
    if (total === undefined) return;
    s.appendChild(el("p", { class: "note" }, ["This page holds the first " + m.n + " of the run's " +
      total + " requests (by start time); requests.csv and summary.json count them all."]));
  }

  // The run's facts every part shares.
  function model(data) {
    var r = data.requests;
    var n = r.start_us.length;
    var markers = data.events.map(function (e, i) {
      return { n: i + 1, at: e[0], target: e[1], event: e[2], detail: e[3] };
    });
    return { data: data, req: r, n: n, markers: markers, end: Math.max(data.end_us, 1) };
  }

  // --- Timeline and load ------------------------------------------------------------------

  // Counts per bin of the requests started in [from, to): per outcome, and per server.
  function bin(m, from, to) {
    var width = (to - from) / BINS;
    var outcomes = m.data.outcomes.map(function () { return new Float64Array(BINS); });
    var servers = m.data.servers.map(function () { return new Float64Array(BINS); });
    var r = m.req;
    for (var i = 0; i < m.n; i++) {
      var t = r.start_us[i];
      if (t < from || t >= to) continue;
      var b = Math.min(BINS - 1, Math.floor((t - from) / width));
      outcomes[r.outcome[i]][b] += 1;
      if (r.server[i] >= 0) servers[r.server[i]][b] += 1;
    }
    var perSecond = 1e6 / width;
    [outcomes, servers].forEach(function (rows) {
      rows.forEach(function (row) {
        for (var b = 0; b < BINS; b++) row[b] *= perSecond;
      });
    });
    return { width: width, outcomes: outcomes, servers: servers };
  }

  // Axes, fault windows and numbered markers of a time plot; returns the x scale. A panel of
  // one server (`only`) shades that server's faults and marks nothing.
  function frame(plot, m, view, box, top, label, only) {
    var x = function (t) { return box.x + ((t - view[0]) / (view[1] - view[0])) * box.w; };
    var y = function (v) { return box.y + box.h - (v / top) * box.h; };
    m.data.faults.forEach(function (f) {
      if (only !== undefined && f[2] !== only) return;
      var a = Math.max(f[0], view[0]);
      var b = Math.min(f[1] === null ? view[1] : f[1], view[1]);
      if (b <= a) return;
      plot.appendChild(svg("rect", { class: "fault", x: x(a), y: box.y, width: Math.max(1, x(b) - x(a)), height: box.h },
        ""));
      plot.lastChild.appendChild(svg("title", {}, f[2] + " " + f[3]));
    });
    for (var k = 0; k <= 4; k++) {
      var v = (top * k) / 4;
      plot.appendChild(svg("line", { class: "grid", x1: box.x, x2: box.x + box.w, y1: y(v), y2: y(v) }));
      plot.appendChild(svg("text", { class: "tick", x: box.x - 4, y: y(v) + 4, "text-anchor": "end" }, fmt(v)));
    }
    for (var j = 0; j <= 6; j++) {
      var t = view[0] + ((view[1] - view[0]) * j) / 6;
      plot.appendChild(svg("text", { class: "tick", x: x(t), y: box.y + box.h + 14, "text-anchor": "middle" },
        (t / 1e6).toFixed(view[1] - view[0] < 6e6 ? 2 : 0)));
    }
    if (label) {
      plot.appendChild(svg("text", { class: "axis", x: box.x + box.w / 2, y: box.y + box.h + 30, "text-anchor": "middle" }, label));
    }
    // Numbers above the plot, moved up a row when they would touch their neighbour.
    var lastX = [-1e9, -1e9, -1e9, -1e9];
    m.markers.forEach(function (mk) {
      if (only !== undefined || mk.at < view[0] || mk.at > view[1]) return;
      var mx = x(mk.at);
      plot.appendChild(svg("line", { class: "marker", x1: mx, x2: mx, y1: box.y, y2: box.y + box.h }));
      if (!label) return;
      // The lowest row with room, else the row that ends first, the number moved right.
      var row = 0;
      while (row < 4 && mx - lastX[row] < 16) row++;
      if (row === 4) row = lastX.indexOf(Math.min.apply(null, lastX));
      var tx = Math.max(mx, lastX[row] + 16);
      lastX[row] = tx;
      var tag = svg("text", { class: "marker-no", x: tx, y: box.y - 4 - row * 11, "text-anchor": "middle" }, String(mk.n));
      tag.appendChild(svg("title", {}, seconds(mk.at) + " s " + mk.target + " " + mk.event));
      plot.appendChild(tag);
    });
    return x;
  }

  // Stacked bars, one stack per bin.
  function bars(plot, rows, colours, x, view, width, box, top) {
    for (var b = 0; b < BINS; b++) {
      var base = 0;
      for (var k = 0; k < rows.length; k++) {
        var v = rows[k][b];
        if (!v) continue;
        var x0 = x(view[0] + b * width);
        var h = (v / top) * box.h;
        plot.appendChild(svg("rect", {
          class: "bar", x: x0, width: Math.max(0.5, x(view[0] + (b + 1) * width) - x0 - 0.3),
          y: box.y + box.h - ((base / top) * box.h) - h, height: h, fill: colours[k],
        }));
        base += v;
      }
    }
  }

  function maxOf(rows, stacked) {
    var top = 0;
    for (var b = 0; b < BINS; b++) {
      var sum = 0;
      rows.forEach(function (row) { sum = stacked ? sum + row[b] : Math.max(sum, row[b]); });
      top = Math.max(top, sum);
    }
    return top > 0 ? top * 1.1 : 1;
  }

  function timeline(root, m, ui) {
    var s = section(root, "timeline", "Timeline");
    subsetNote(s, m);
    var tools = el("div", { class: "tools" });
    var plotBox = el("div", { class: "plot" });
    var legend = el("div", { class: "legend" });
    var markerList = el("ol", { class: "markers" });
    s.appendChild(tools);
    s.appendChild(plotBox);
    s.appendChild(legend);
    s.appendChild(markerList);
    var load = section(root, "load", "Load per server");
    var facets = el("div", { class: "facets" });
    load.appendChild(el("p", { class: "note" }, ["Responses per second from each server, by request start; same scale in every panel; shaded while a fault hit that server."]));
    load.appendChild(facets);

    function zoom(factor) {
      var mid = (ui.view[0] + ui.view[1]) / 2;
      var half = Math.min(m.end, (ui.view[1] - ui.view[0]) * factor) / 2;
      setView([mid - half, mid + half]);
    }
    function pan(direction) {
      var w = ui.view[1] - ui.view[0];
      setView([ui.view[0] + direction * w / 2, ui.view[1] + direction * w / 2]);
    }
    function setView(v) {
      var w = Math.max(v[1] - v[0], 1000);
      var a = Math.max(0, Math.min(v[0], m.end - w));
      ui.view = [a, Math.min(m.end, a + w)];
      draw();
    }
    [["zoom in", function () { zoom(0.5); }], ["zoom out", function () { zoom(2); }],
      ["◀", function () { pan(-1); }], ["▶", function () { pan(1); }],
      ["whole run", function () { setView([0, m.end]); }],
      ["show these requests", function () { ui.filterTime(ui.view); }]].forEach(function (b) {
      tools.appendChild(el("button", { type: "button", onclick: b[1] }, [b[0]]));
    });
    var span = el("span", { class: "view" });
    tools.appendChild(span);
    tools.appendChild(el("span", { class: "note" }, ["Drag across the chart to zoom into a time window."]));

    m.data.outcomes.forEach(function (o, k) {
      legend.appendChild(el("span", { class: "key" }, [el("i", { style: "background:" + OUTCOME_COLOURS[k] }), o]));
    });
    legend.appendChild(el("span", { class: "key" }, [el("i", { class: "fault-key" }), "fault in force"]));
    m.markers.forEach(function (mk) {
      markerList.appendChild(el("li", { value: mk.n }, [seconds(mk.at) + " s  " + mk.target + "  " + mk.event +
        (mk.detail ? "  (" + mk.detail + ")" : "")]));
    });

    function draw() {
      var view = ui.view;
      span.textContent = seconds(view[0]) + " s – " + seconds(view[1]) + " s";
      var bins = bin(m, view[0], view[1]);
      var W = 900, H = 270, box = { x: 50, y: 46, w: 830, h: 180 };
      var plot = svg("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "requests per second by outcome" });
      var top = maxOf(bins.outcomes, true);
      var x = frame(plot, m, view, box, top, "time (s), by request start; requests per second");
      bars(plot, bins.outcomes, OUTCOME_COLOURS, x, view, bins.width, box, top);
      brush(plot, box, x, view, setView);
      plotBox.textContent = "";
      plotBox.appendChild(plot);
      // Small multiples: one panel per server, a shared scale.
      facets.textContent = "";
      var sTop = maxOf(bins.servers, false);
      m.data.servers.forEach(function (name, k) {
        var panel = svg("svg", { class: "facet", viewBox: "0 0 300 110", role: "img", "aria-label": name });
        var fb = { x: 36, y: 18, w: 256, h: 70 };
        var fx = frame(panel, m, view, fb, sTop, null, name);
        panel.appendChild(svg("text", { class: "facet-title", x: fb.x, y: 12 }, name));
        bars(panel, [bins.servers[k]], ["#0072B2"], fx, view, bins.width, fb, sTop);
        brush(panel, fb, fx, view, setView);
        facets.appendChild(panel);
      });
    }
    ui.setView = setView;
    draw();
  }

  // Drag across a plot to zoom into the dragged window.
  function brush(plot, box, x, view, setView) {
    var band = svg("rect", { class: "brush", x: 0, y: box.y, width: 0, height: box.h });
    plot.appendChild(band);
    var start = null;
    function local(ev) {
      var r = plot.getBoundingClientRect();
      var vb = plot.viewBox.baseVal;
      return ((ev.clientX - r.left) / r.width) * vb.width;
    }
    function time(px) {
      return view[0] + ((px - box.x) / box.w) * (view[1] - view[0]);
    }
    plot.addEventListener("mousedown", function (ev) { start = local(ev); ev.preventDefault(); });
    plot.addEventListener("mousemove", function (ev) {
      if (start === null) return;
      var now = local(ev);
      band.setAttribute("x", Math.min(start, now));
      band.setAttribute("width", Math.abs(now - start));
    });
    plot.addEventListener("mouseup", function (ev) {
      if (start === null) return;
      var a = time(Math.min(start, local(ev))), b = time(Math.max(start, local(ev)));
      start = null;
      band.setAttribute("width", 0);
      if (b - a > (view[1] - view[0]) / 200) setView([a, b]);
    });
  }

  // --- Requests ---------------------------------------------------------------------------

  var COLUMNS = [
    ["id", function (m, i) { return i; }],
    ["client", function (m, i) { return m.data.clients[m.req.client[i]]; }],
    ["start_s", function (m, i) { return m.req.start_us[i]; }, seconds],
    ["latency_ms", function (m, i) { return m.req.latency_us[i]; }, function (v) { return (v / 1000).toFixed(3); }],
    ["outcome", function (m, i) { return m.data.outcomes[m.req.outcome[i]]; }],
    ["server", function (m, i) { return m.req.server[i] < 0 ? "" : m.data.servers[m.req.server[i]]; }],
    ["status", function (m, i) { return m.req.status[i] || ""; }],
  ];

  function requestTable(root, m, ui) {
    var s = section(root, "requests", "Requests");
    subsetNote(s, m);
    var f = { outcome: -1, client: -1, server: -2, from: null, to: null };
    var sort = { col: 0, dir: 1 };
    var rows = new Int32Array(0);
    var page = 0;
    function select(name, options, onPick) {
      var sel = el("select", { name: name, onchange: function () { onPick(Number(sel.value)); refilter(); } });
      options.forEach(function (o) { sel.appendChild(el("option", { value: o[0] }, [o[1]])); });
      return el("label", {}, [name + " ", sel]);
    }
    var filters = el("div", { class: "filters" });
    filters.appendChild(select("outcome", [[-1, "any"]].concat(m.data.outcomes.map(function (o, k) { return [k, o]; })),
      function (v) { f.outcome = v; }));
    filters.appendChild(select("client", [[-1, "any"]].concat(m.data.clients.map(function (c, k) { return [k, c]; })),
      function (v) { f.client = v; }));
    filters.appendChild(select("server", [[-2, "any"], [-1, "none"]].concat(m.data.servers.map(function (c, k) { return [k, c]; })),
      function (v) { f.server = v; }));
    var from = el("input", { type: "number", step: "any", min: 0, name: "from", placeholder: "0" });
    var to = el("input", { type: "number", step: "any", min: 0, name: "to", placeholder: seconds(m.end) });
    [from, to].forEach(function (input) {
      input.addEventListener("change", function () {
        f.from = from.value === "" ? null : Number(from.value) * 1e6;
        f.to = to.value === "" ? null : Number(to.value) * 1e6;
        refilter();
      });
    });
    filters.appendChild(el("label", {}, ["started from ", from, " s to ", to, " s"]));
    s.appendChild(filters);
    var count = el("p", { id: "request-count", class: "note" });
    s.appendChild(count);
    var table = el("table", { class: "requests" });
    var head = el("tr");
    COLUMNS.forEach(function (c, k) {
      head.appendChild(el("th", { onclick: function () {
        sort = { col: k, dir: sort.col === k ? -sort.dir : 1 };
        resort();
      } }, [c[0]]));
    });
    table.appendChild(el("thead", {}, [head]));
    var body = el("tbody");
    table.appendChild(body);
    s.appendChild(table);
    var pager = el("div", { class: "pager" });
    var pageNote = el("span");
    pager.appendChild(el("button", { type: "button", onclick: function () { turn(-1); } }, ["previous"]));
    pager.appendChild(pageNote);
    pager.appendChild(el("button", { type: "button", onclick: function () { turn(1); } }, ["next"]));
    s.appendChild(pager);

    function keep(i) {
      var r = m.req;
      return (f.outcome < 0 || r.outcome[i] === f.outcome) &&
        (f.client < 0 || r.client[i] === f.client) &&
        (f.server === -2 || r.server[i] === f.server) &&
        (f.from === null || r.start_us[i] >= f.from) &&
        (f.to === null || r.start_us[i] <= f.to);
    }
    function refilter() {
      var kept = [];
      for (var i = 0; i < m.n; i++) if (keep(i)) kept.push(i);
      rows = Int32Array.from(kept);
      resort();
    }
    function resort() {
      var get = COLUMNS[sort.col][1];
      var keys = new Array(m.n);
      rows.forEach(function (i) { keys[i] = get(m, i); });
      var dir = sort.dir;
      rows.sort(function (a, b) {
        var x = keys[a], y = keys[b];
        return x < y ? -dir : x > y ? dir : a - b;
      });
      page = 0;
      show();
    }
    function turn(step) {
      var pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
      page = Math.max(0, Math.min(pages - 1, page + step));
      show();
    }
    function show() {
      body.textContent = "";
      var pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
      for (var k = page * PAGE_ROWS; k < Math.min(rows.length, (page + 1) * PAGE_ROWS); k++) {
        body.appendChild(row(rows[k]));
      }
      count.textContent = rows.length + " of " + m.n + " requests";
      count.setAttribute("data-rows", rows.length);
      count.setAttribute("data-total", m.n);
      pageNote.textContent = " page " + (page + 1) + " of " + pages + " ";
      Array.prototype.forEach.call(head.children, function (th, k) {
        th.className = k === sort.col ? (sort.dir > 0 ? "up" : "down") : "";
      });
    }
    function row(i) {
      var tr = el("tr", { "data-id": i, class: "outcome-" + m.data.outcomes[m.req.outcome[i]] +
        (m.data.stories[i] ? " told" : "") });
      COLUMNS.forEach(function (c) {
        var v = c[1](m, i);
        tr.appendChild(el("td", {}, [String(c[2] ? c[2](v) : v)]));
      });
      tr.addEventListener("click", function () { ui.open(i); });
      return tr;
    }
    ui.filterTime = function (view) {
      from.value = (view[0] / 1e6).toFixed(3);
      to.value = (view[1] / 1e6).toFixed(3);
      f.from = view[0];
      f.to = view[1];
      refilter();
      s.scrollIntoView();
    };
    refilter();
  }

  // --- One request ------------------------------------------------------------------------

  function detail(root, m, ui) {
    var s = section(root, "request", "Request");
    var body = el("div", { id: "request-detail" }, [el("p", { class: "note" },
      ["Click a request in the table to see why it ended as it did. Narrated requests are marked ●."])]);
    s.appendChild(body);
    ui.open = function (id) {
      if (ui.hash && location.hash !== "#request=" + id) {
        location.hash = "request=" + id;
        return; // the hashchange comes back here
      }
      show(id);
    };
    function show(id) {
      ui.asked = null;
      body.textContent = "";
      if (!(id >= 0 && id < m.n)) {
        body.appendChild(el("p", { class: "error" }, ["There is no request " + id + "."]));
        return;
      }
      var r = m.req;
      body.appendChild(el("p", {}, ["Request " + id + ": " + m.data.clients[r.client[id]] + ", started " +
        seconds(r.start_us[id]) + " s, " + m.data.outcomes[r.outcome[id]] +
        (r.server[id] >= 0 ? " from " + m.data.servers[r.server[id]] : "") + ", " +
        (r.latency_us[id] / 1000).toFixed(3) + " ms."]));
      var story = m.data.stories[id];
      var command = m.data.explain + " " + id;
      if (!story && ui.explain) {
        ask(id, command);
        return;
      }
      if (!story) {
        body.appendChild(el("p", {}, ["This request's story is not in the page (it narrates every failed request, the first ones and a sample; see the book's report page). Ask netlab for it:"]));
        body.appendChild(el("pre", { id: "explain-command" }, [command]));
        return;
      }
      body.appendChild(el("p", { class: "note" }, ["The same text as ", el("code", {}, [command]), ":"]));
      body.appendChild(el("pre", { id: "explanation" }, [story.text]));
      body.appendChild(el("h3", {}, ["Sequence diagram"]));
      body.appendChild(sequence(story));
      s.scrollIntoView();
    }
    // A page that can run netlab (the playground) tells any request's story on demand:
    // `ui.explain(id)` is a promise of the text `netlab explain --request` prints.
    function ask(id, command) {
      var asked = ui.asked = {};
      var wait = el("p", { class: "note", id: "explain-wait" }, ["Asking netlab in this page for its story (",
        el("code", {}, [command]), ")…"]);
      body.appendChild(wait);
      ui.explain(id).then(function (text) {
        if (ui.asked !== asked) return;
        body.removeChild(wait);
        body.appendChild(el("p", { class: "note" }, ["The same text as ", el("code", {}, [command]), ":"]));
        body.appendChild(el("pre", { id: "explanation", "data-request": id }, [text]));
      }, function (error) {
        if (ui.asked !== asked) return;
        body.removeChild(wait);
        body.appendChild(el("pre", { class: "error" }, [String(error)]));
      });
      s.scrollIntoView();
    }
    ui.show = show;
  }

  // Lanes across, one row per step line: a frame is an arrow between lanes, a decision a dot.
  function sequence(story) {
    var lines = story.text.split("\n").slice(2, 2 + story.arrows.length);
    var laneW = 110, rowH = 16, top = 30, left = 10;
    var textX = left + story.lanes.length * laneW + 10;
    var width = textX + 10 + 7 * lines.reduce(function (w, l) { return Math.max(w, l.length); }, 0);
    var height = top + rowH * (lines.length + 1);
    var d = svg("svg", { class: "sequence", width: width, height: height, viewBox: "0 0 " + width + " " + height });
    var defs = svg("defs");
    var head = svg("marker", { id: "arrow", viewBox: "0 0 8 8", refX: 8, refY: 4, markerWidth: 7, markerHeight: 7, orient: "auto" });
    head.appendChild(svg("path", { d: "M0,0 L8,4 L0,8 z", class: "arrow-head" }));
    defs.appendChild(head);
    d.appendChild(defs);
    var laneX = function (k) { return left + laneW * k + laneW / 2; };
    story.lanes.forEach(function (name, k) {
      d.appendChild(svg("text", { class: "lane", x: laneX(k), y: 16, "text-anchor": "middle" }, name));
      d.appendChild(svg("line", { class: "lifeline", x1: laneX(k), x2: laneX(k), y1: 22, y2: height }));
    });
    story.arrows.forEach(function (a, i) {
      var y = top + rowH * i + rowH / 2;
      if (a[0] === a[1]) {
        d.appendChild(svg("circle", { class: "decision", cx: laneX(a[0]), cy: y, r: 4 }));
      } else {
        d.appendChild(svg("line", { class: "frame", x1: laneX(a[0]), x2: laneX(a[1]), y1: y, y2: y, "marker-end": "url(#arrow)" }));
      }
      d.appendChild(svg("text", { class: "step", x: textX, y: y + 4 }, lines[i] || ""));
    });
    return el("div", { class: "sequence-box" }, [d]);
  }

  // --- The rest ---------------------------------------------------------------------------

  function simpleTable(headers, rows) {
    var t = el("table", {}, [el("thead", {}, [el("tr", {}, headers.map(function (h) { return el("th", {}, [h]); }))])]);
    var b = el("tbody");
    rows.forEach(function (r) {
      b.appendChild(el("tr", {}, r.map(function (c) { return el("td", {}, [String(c)]); })));
    });
    t.appendChild(b);
    return t;
  }

  function ipvsadm(root, m) {
    var snaps = m.data.ipvsadm;
    if (!snaps.length) return;
    var s = section(root, "ipvsadm", "ipvsadm snapshots");
    var pre = el("pre", { class: "ipvsadm" });
    var sel = el("select", { name: "snapshot", onchange: function () { pick(Number(sel.value)); } });
    snaps.forEach(function (snap, k) {
      sel.appendChild(el("option", { value: k }, [seconds(snap[0]) + " s  " + snap[1]]));
    });
    var stats = el("input", { type: "checkbox", onchange: function () { pick(Number(sel.value)); } });
    s.appendChild(el("div", { class: "filters" }, [el("label", {}, ["at ", sel]), el("label", {}, [stats, " --stats"])]));
    s.appendChild(pre);
    function pick(k) {
      pre.textContent = "# ipvsadm -Ln" + (stats.checked ? " --stats" : "") + "  (" + snaps[k][1] + ", " +
        seconds(snaps[k][0]) + " s)\n" + snaps[k][stats.checked ? 3 : 2];
    }
    pick(0);
  }

  function dns(root, m) {
    if (!m.data.dns.length) return;
    var s = section(root, "dns", "DNS servers and caches");
    s.appendChild(el("p", { class: "note" }, ["Questions each DNS server handled; a cache miss is when a resolver's cache was (re)filled."]));
    s.appendChild(simpleTable(["server", "name", "answered as authority", "cache hits", "cache misses", "misses at (s)"],
      m.data.dns.map(function (d) {
        return [d[0], d[1], d[2], d[3], d[4], d[5].map(function (t) { return (t / 1e6).toFixed(3); }).join(" ")];
      })));
  }

  function events(root, m) {
    var s = section(root, "events", "Events");
    if (!m.markers.length) {
      s.appendChild(el("p", { class: "note" }, ["Nothing happened to the system: no fault, no state change."]));
      return;
    }
    s.appendChild(simpleTable(["#", "time (s)", "target", "event", "detail"], m.markers.map(function (mk) {
      return [mk.n, seconds(mk.at), mk.target, mk.event, mk.detail];
    })));
  }

  // Draws `data` (report.html's data object) into `root`. With `options.hash`, the page's
  // `#request=ID` opens that request, and opening one sets it. With `options.explain(id)`
  // (a promise of a story's text), a request whose story the data lacks is told by it.
  // Returns the handle whose `open(id)` opens a request.
  function render(data, root, options) {
    var m = model(data);
    var ui = { view: [0, m.end], hash: !!(options && options.hash), explain: options && options.explain };
    root.textContent = "";
    root.classList.add("netlab-report");
    root.appendChild(el("h1", {}, [data.scenario]));
    root.appendChild(el("p", { class: "description" }, [data.description]));
    root.appendChild(el("p", { class: "note" }, ["Scenario file " + data.source_file + ", seed " + data.seed +
      ", netlab " + data.version + ". " + m.n + " requests, " + seconds(data.end_us) + " s of virtual time."]));
    var summary = section(root, "summary", "Summary");
    summary.appendChild(el("pre", { class: "summary" }, [data.table]));
    timeline(root, m, ui);
    requestTable(root, m, ui);
    detail(root, m, ui);
    ipvsadm(root, m);
    dns(root, m);
    events(root, m);
    if (ui.hash) {
      var fromHash = function () {
        var found = /^#request=(\d+)$/.exec(location.hash);
        if (found) ui.show(Number(found[1]));
      };
      window.addEventListener("hashchange", fromHash);
      fromHash();
    }
    return ui;
  }

  // report.html's entry: reads the embedded data, renders it, and writes any error (and the
  // time the page took to draw) where a reader and a test can see them.
  function start(dataId, rootId, errorsId) {
    var errors = document.getElementById(errorsId);
    function fail(message) {
      errors.hidden = false;
      errors.textContent += message + "\n";
    }
    window.addEventListener("error", function (ev) { fail("error: " + ev.message); });
    var consoleError = console.error;
    console.error = function () {
      fail("console.error: " + Array.prototype.join.call(arguments, " "));
      consoleError.apply(console, arguments);
    };
    try {
      var data = JSON.parse(document.getElementById(dataId).textContent);
      render(data, document.getElementById(rootId), { hash: true });
    } catch (e) {
      fail("error: " + (e && e.stack ? e.stack : e));
    }
    document.documentElement.setAttribute("data-rendered-ms", performance.now().toFixed(0));
  }

  return { render: render, start: start };
})();
