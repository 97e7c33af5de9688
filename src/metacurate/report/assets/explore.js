/* metacurate report: entry explorer and sortable tables. Inline, no network, no library.
   Reads the JSON block #explore-data written by metacurate/report/explore.py. Untrusted text
   (entries, captions) is only ever set with textContent, never parsed as HTML. */
(function () {
  "use strict";

  var SHOWN = 200; // result rows drawn at once
  var nf = new Intl.NumberFormat("en-US");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pct(x) {
    if (x === null || x === undefined || isNaN(x)) return "–";
    var v = 100 * x;
    return (v !== 0 && v < 0.01 ? v.toPrecision(2) : v.toFixed(2)) + "%";
  }

  function pfmt(p) {
    return p === 1 ? "1" : Number(p).toPrecision(4);
  }

  /* --- sortable static tables (class "sortable") ------------------------------------ */

  function cellValue(td) {
    var raw = td.getAttribute("data-sort");
    if (raw === null) raw = td.textContent;
    var num = Number(String(raw).replace(/[,%\s]/g, ""));
    return raw.trim() !== "" && !isNaN(num) ? num : String(raw).toLowerCase();
  }

  function makeSortable(table) {
    var heads = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(heads, function (th, col) {
      th.classList.add("sort");
      th.title = "sort by this column";
      th.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a.cells[col]), y = cellValue(b.cells[col]);
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          return x < y ? -dir : x > y ? dir : 0;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);

  /* --- the explorer ------------------------------------------------------------------ */

  var block = document.getElementById("explore-data");
  if (!block) return;
  var D = JSON.parse(block.textContent);
  var E = D.entries;
  var n = E.id.length;
  var lower = E.s.map(function (s) { return s.toLowerCase(); });
  var posOf = {};
  for (var i = 0; i < n; i++) posOf[E.id[i]] = i;

  var input = document.getElementById("entry-search");
  var status = document.getElementById("entry-status");
  var table = document.getElementById("entry-table");
  var tbody = table.tBodies[0];
  var detail = document.getElementById("entry-detail");
  var heads = table.querySelectorAll("thead th");
  var sortKey = null; // null: relevance to the query, then count
  var sortDir = -1;
  var current = [];
  var selected = null;

  if (!D.balanced) {
    Array.prototype.forEach.call(heads, function (th) {
      if (["a", "k", "p", "sa"].indexOf(th.getAttribute("data-col")) >= 0) th.hidden = true;
    });
  }

  function value(j, key) {
    switch (key) {
      case "s": return lower[j];
      case "id": return E.id[j];
      case "c": case "sh": return E.c[j];
      case "a": case "sa": return E.a ? E.a[j] : 0;
      case "k": return E.a ? E.a[j] / E.c[j] : 0;
      case "p": return E.p ? E.p[j] : 1;
    }
    return 0;
  }

  function relevance(j, q) {
    if (!q) return 0;
    var s = lower[j];
    return s === q ? 0 : s.indexOf(q) === 0 ? 1 : 2;
  }

  function search(q) {
    var out = [];
    for (var j = 0; j < n; j++) if (!q || lower[j].indexOf(q) >= 0) out.push(j);
    out.sort(function (a, b) {
      if (sortKey === null) {
        var r = relevance(a, q) - relevance(b, q);
        if (r) return r;
        return E.c[b] - E.c[a] || a - b; // embedded order: count desc, then id
      }
      var x = value(a, sortKey), y = value(b, sortKey);
      return (x < y ? -sortDir : x > y ? sortDir : 0) || a - b;
    });
    return out;
  }

  function row(j) {
    var tr = el("tr");
    tr.setAttribute("data-entry-id", E.id[j]);
    tr.tabIndex = 0;
    if (selected === j) tr.className = "selected";
    tr.appendChild(el("td", "mono", E.s[j]));
    tr.appendChild(el("td", "num", E.id[j]));
    tr.appendChild(el("td", "num", nf.format(E.c[j])));
    if (D.balanced) {
      tr.appendChild(el("td", "num", nf.format(E.a[j])));
      tr.appendChild(el("td", "num", pct(E.a[j] / E.c[j])));
      tr.appendChild(el("td", "num", pfmt(E.p[j])));
    }
    tr.appendChild(el("td", "num", pct(E.c[j] / D.total_before)));
    if (D.balanced) tr.appendChild(el("td", "num", pct(E.a[j] / D.total_after)));
    tr.addEventListener("click", function () { select(j, "click"); });
    tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter") select(j, "click"); });
    return tr;
  }

  function render() {
    var q = input.value.trim().toLowerCase();
    current = search(q);
    tbody.textContent = "";
    var frag = document.createDocumentFragment();
    for (var k = 0; k < Math.min(SHOWN, current.length); k++) frag.appendChild(row(current[k]));
    tbody.appendChild(frag);
    var shown = Math.min(SHOWN, current.length);
    var what = q
      ? nf.format(current.length) + " entries containing \u201c" + q + "\u201d"
      : "all entries";
    status.textContent = "showing " + nf.format(shown) + " of " + what + " (" + nf.format(n) +
      " embedded; " + nf.format(D.entries_hit) + " hit)";
    Array.prototype.forEach.call(heads, function (th) {
      var key = th.getAttribute("data-col");
      if (key === sortKey) th.setAttribute("aria-sort", sortDir === 1 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
  }

  function caption(r, a, b) {
    var li = el("li");
    var span = el("span", "cap");
    var text = D.rows.text[r];
    if (a >= 0) {
      span.appendChild(document.createTextNode(text.slice(0, a)));
      span.appendChild(el("mark", null, text.slice(a, b)));
      span.appendChild(document.createTextNode(text.slice(b)));
    } else {
      span.textContent = text;
    }
    li.appendChild(span);
    var k = D.rows.kept[r];
    if (k !== null) li.appendChild(el("span", k ? "kept" : "dropped", k ? " kept" : " dropped"));
    return li;
  }

  function fact(dl, term, val) {
    dl.appendChild(el("dt", null, term));
    dl.appendChild(el("dd", "num", val));
  }

  /* Show entry j in the panel. how: "first" (the page opens: a hint on top, the address
     untouched), "click" (a row: the address names it; a stacked panel scrolls into view) or
     "address" (#entry=ID opened the page). */
  function select(j, how) {
    selected = j;
    Array.prototype.forEach.call(tbody.rows, function (tr) {
      tr.classList.toggle("selected", Number(tr.getAttribute("data-entry-id")) === E.id[j]);
    });
    detail.textContent = "";
    if (how === "first") {
      detail.appendChild(el("p", "note explore-hint", (j === 0 ? "The largest entry" :
        "The largest entry with example captions") + ", shown until you pick one: click a " +
        "row (or search and press Enter) to see its numbers and captions here."));
    }
    var h = el("h3");
    h.appendChild(document.createTextNode("entry "));
    h.appendChild(el("span", "mono entry-name", E.s[j]));
    detail.appendChild(h);
    var dl = el("dl", "facts");
    fact(dl, "entry_id", E.id[j]);
    fact(dl, "count (pool)", nf.format(E.c[j]));
    fact(dl, "share of matches", pct(E.c[j] / D.total_before));
    if (D.balanced) {
      fact(dl, "count after balancing", nf.format(E.a[j]));
      fact(dl, "share after", pct(E.a[j] / D.total_after));
      fact(dl, "p_e", pfmt(E.p[j]));
      fact(dl, "kind", E.c[j] < D.t ? "tail (count < t: all kept)" : "head (count \u2265 t: sampled)");
    }
    fact(dl, "rows in the sample", nf.format(E.n[j]) +
      (D.balanced ? " (" + nf.format(E.k[j]) + " kept)" : ""));
    detail.appendChild(dl);
    var ex = D.examples[String(j)] || [];
    var sides = D.balanced ? [[1, "kept"], [0, "dropped"]] : [[null, "captions"]];
    sides.forEach(function (side) {
      var ul = el("ul", "examples");
      for (var k = 0; k < ex.length; k += 3) {
        var r = ex[k], kept = D.rows.kept[r];
        if (side[0] === null || kept === side[0]) ul.appendChild(caption(r, ex[k + 1], ex[k + 2]));
      }
      var box = el("div", "side side-" + side[1]);
      box.appendChild(el("h4", null, side[1] + " (" + ul.children.length + " shown)"));
      if (ul.children.length) box.appendChild(ul);
      else box.appendChild(el("p", "note", "none among the captions embedded"));
      detail.appendChild(box);
    });
    if (how !== "first" && history.replaceState) {
      history.replaceState(null, "", "#entry=" + E.id[j]);
    }
    if (how === "address") detail.scrollIntoView({ block: "nearest" });
    if (how === "click" && stacked() && detail.getBoundingClientRect().top > innerHeight - 120) {
      detail.scrollIntoView({ block: "start" }); // below the table: bring it up
    }
  }

  function stacked() { // a narrow window: the panel sits below the table, not beside it
    return detail.getBoundingClientRect().top >= table.parentNode.getBoundingClientRect().bottom;
  }

  /* Before any click the panel shows the largest entry that has example captions. */
  function selectFirst() {
    if (!n) {
      detail.textContent = "";
      detail.appendChild(el("p", "note", "No entry matched a caption: nothing to explore."));
      return;
    }
    var j = 0;
    while (j < n && !D.examples[String(j)]) j++;
    select(j < n ? j : 0, "first");
  }

  Array.prototype.forEach.call(heads, function (th) {
    th.classList.add("sort");
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-col");
      if (sortKey === key) sortDir = -sortDir;
      else { sortKey = key; sortDir = key === "s" ? 1 : -1; }
      render();
    });
  });

  input.addEventListener("input", function () { sortKey = null; render(); });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && current.length) select(current[0], "click");
  });

  // rows of the static tables that name an entry open it here
  Array.prototype.forEach.call(document.querySelectorAll("[data-open-entry]"), function (node) {
    node.classList.add("opens");
    node.addEventListener("click", function () {
      var j = posOf[node.getAttribute("data-open-entry")];
      if (j === undefined) return;
      input.value = E.s[j];
      sortKey = null;
      render();
      select(j, "link");
      document.getElementById("explore").scrollIntoView();
    });
  });

  render();
  var m = /^#entry=(\d+)$/.exec(location.hash);
  if (m && posOf[m[1]] !== undefined) select(posOf[m[1]], "address");
  else selectFirst();
})();
