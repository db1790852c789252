// scratchrun report: the run table (sort, filter, select), the selected runs' curves, and each study's and
// search's figures. Everything it shows comes from the JSON block the page carries; nothing is fetched. Text a user
// wrote (names, tags, notes) goes into the page as text (textContent), never as HTML.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const { meta, columns, runs, curves, groups } = data;
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf"];
  const MAX_SELECTED = 40; // curves drawn at once: more is unreadable
  const PLOT_CONFIG = { displaylogo: false, responsive: true };
  const BASE_LAYOUT = {
    margin: { l: 70, r: 20, t: 60, b: 55 }, font: { family: "system-ui, sans-serif", size: 12 },
    legend: { font: { size: 11 } }, hovermode: "closest",
  };
  const state = { sortKey: null, descending: false, filter: "", shown: runs.map((r) => r.id), selected: [] };
  const root = document.getElementById("report");

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // ---- values as a person reads them --------------------------------------------------------------------------
  function number(value) {
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? Number(value.toPrecision(4)).toExponential() : String(Number(value.toPrecision(4)));
  }
  function percent(value) { return value === null || value === undefined ? "" : (100 * value).toFixed(2) + "%"; }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 10) return seconds.toFixed(1) + " s";
    if (seconds < 60) return Math.round(seconds) + " s";
    const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
    return m < 60 ? `${m} m ${String(s).padStart(2, "0")} s` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} m`;
  }
  function configText(value) {
    if (value === undefined) return "";
    if (value === null) return "null";
    if (Array.isArray(value)) return "[" + value.map(configText).join(", ") + "]";
    return typeof value === "number" ? number(value) : String(value);
  }
  function value(run, column) {
    if (column.kind === "config") return run.config[column.key];
    if (column.key === "tags") return run.tags.join(", ");
    return run[column.key];
  }
  function cellText(run, column) {
    const v = value(run, column);
    switch (column.kind) {
      case "percent": return percent(v);
      case "duration": return duration(v);
      case "config": return configText(v);
      default: return v === null || v === undefined ? "" : String(v);
    }
  }
  const numericColumns = new Set(columns.filter((c) => ["percent", "duration"].includes(c.kind)
    || (c.kind === "config" && runs.some((r) => typeof r.config[c.key] === "number")
      && runs.every((r) => r.config[c.key] === undefined || typeof r.config[c.key] === "number"))).map((c) => c.key));

  // ---- header -----------------------------------------------------------------------------------------------
  function header() {
    const versions = Object.entries(meta.versions).map(([k, v]) => `${k} ${v}`).join(" · ");
    return el("header", {},
      el("h1", {}, meta.title),
      el("p", { class: "covers" }, `${meta.covers} from ${meta.runs_dir}`),
      el("p", { class: "provenance" },
        meta.command ? el("code", {}, meta.command) : "made from Python",
        ` · ${versions} · on ${meta.host}, ${meta.created.replace("T", " ")}`),
      el("nav", {}, el("a", { href: "#runs" }, "runs"), ...groups.map((g) => [" · ", el("a", { href: `#group-${g.id}` }, g.title)])));
  }

  // ---- the run table -----------------------------------------------------------------------------------------
  const tbody = el("tbody");
  const countLine = el("span", { class: "count" });
  const headCells = {};

  function table() {
    const head = el("tr", {}, el("th", { class: "pick", title: "select for the curves" }, ""),
      ...columns.map((column) => {
        const th = el("th", { "data-key": column.key, class: numericColumns.has(column.key) ? "num" : "",
          title: numericColumns.has(column.key) ? "sort (highest first, click again to reverse)" : "sort" },
        column.label);
        th.addEventListener("click", () => sortBy(column.key));
        headCells[column.key] = th;
        return th;
      }));
    const filter = el("input", { type: "search", id: "filter", placeholder: "filter: adam   status=completed   tag=baseline   val_acc>0.9   optimizer.lr<1e-3",
      oninput: (e) => setFilter(e.target.value), "aria-label": "filter the runs" });
    return el("section", { id: "runs" },
      el("h2", {}, "Runs"),
      el("div", { class: "toolbar" }, filter, countLine,
        el("button", { type: "button", onclick: () => select(state.shown.slice(0, MAX_SELECTED)) }, "select shown"),
        el("button", { type: "button", onclick: () => select([]) }, "clear selection")),
      el("div", { class: "table-wrap" }, el("table", { id: "run-table" }, el("thead", {}, head), tbody)),
      el("p", { class: "hint" }, "Click a run to show its curves; tick several to overlay them. Click a column to sort."),
      el("div", { class: "curves" }, el("div", { id: "curves-loss", class: "chart" }), el("div", { id: "curves-acc", class: "chart" })),
      el("div", { id: "run-details" }));
  }

  function renderRows() {
    const fragment = document.createDocumentFragment();
    const selected = new Set(state.selected);
    for (const id of state.shown) {
      const run = runs[id];
      const box = el("input", { type: "checkbox", "aria-label": `select ${run.name}` });
      box.checked = selected.has(id);
      box.addEventListener("click", (e) => { e.stopPropagation(); toggle(id); });
      const row = el("tr", { "data-run": id, class: (selected.has(id) ? "selected " : "") + "status-" + run.status },
        el("td", { class: "pick" }, box),
        ...columns.map((column) => {
          const text = cellText(run, column);
          return el("td", { class: numericColumns.has(column.key) ? "num" : column.kind,
            title: column.kind === "note" || column.kind === "config" ? text : null }, text);
        }));
      row.addEventListener("click", () => select([id]));
      fragment.append(row);
    }
    tbody.replaceChildren(fragment);
    countLine.textContent = state.shown.length === runs.length ? `${runs.length} runs`
      : `${state.shown.length} of ${runs.length} runs`;
  }

  const columnOf = Object.fromEntries(columns.map((c) => [c.key, c]));
  function sortValue(run, key) {
    const column = columnOf[key];
    const v = value(run, column);
    if (v === null || v === undefined || v === "") return null;
    return numericColumns.has(key) ? v : cellText(run, column).toLowerCase();
  }

  function sortBy(key, descending) {
    if (descending === undefined) descending = state.sortKey === key ? !state.descending : numericColumns.has(key);
    state.sortKey = key;
    state.descending = descending;
    for (const [k, th] of Object.entries(headCells)) {
      th.removeAttribute("aria-sort");
      if (k === key) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    }
    applyFilter();
  }

  function compare(a, b) {
    const key = state.sortKey;
    const x = sortValue(runs[a], key), y = sortValue(runs[b], key);
    if (x === null || y === null) return x === y ? a - b : x === null ? 1 : -1; // no value: last either way
    const order = x < y ? -1 : x > y ? 1 : a - b;
    return state.descending ? -order : order;
  }

  // ---- filtering: words match any cell; KEY=VALUE, KEY>NUMBER, KEY<NUMBER match a column, config key or tag -----
  function parseFilter(text) {
    return text.trim().split(/\s+/).filter(Boolean).map((term) => {
      const m = term.match(/^([\w.]+)(=|>=|<=|>|<)(.*)$/);
      return m ? { key: m[1], op: m[2], wanted: m[3] } : { word: term.toLowerCase() };
    });
  }
  function lookup(run, key) {
    if (key === "tag") return run.tags;
    if (key === "group") return run.group === null ? null : groups[run.group].name;
    const column = columnOf[key];
    if (column) return value(run, column);
    return run.details[key];
  }
  function matches(run, terms) {
    return terms.every((term) => {
      if (term.word) {
        const text = [run.name, run.status, run.note || "", run.tags.join(" "),
          ...columns.map((c) => cellText(run, c))].join(" ").toLowerCase();
        return text.includes(term.word);
      }
      const v = lookup(run, term.key);
      if (term.key === "tag") return v.includes(term.wanted);
      if (v === null || v === undefined) return false;
      if (term.op === "=") {
        const asNumber = Number(term.wanted);
        return typeof v === "number" && term.wanted !== "" && !Number.isNaN(asNumber) ? v === asNumber
          : configText(v).toLowerCase() === term.wanted.toLowerCase() || String(v).toLowerCase() === term.wanted.toLowerCase();
      }
      const limit = Number(term.wanted);
      if (typeof v !== "number" || Number.isNaN(limit)) return false;
      return { ">": v > limit, "<": v < limit, ">=": v >= limit, "<=": v <= limit }[term.op];
    });
  }
  function setFilter(text) {
    state.filter = text;
    const input = document.getElementById("filter");
    if (input && input.value !== text) input.value = text;
    applyFilter();
  }
  function applyFilter() {
    const terms = parseFilter(state.filter);
    state.shown = runs.filter((run) => matches(run, terms)).map((run) => run.id);
    if (state.sortKey) state.shown.sort(compare);
    renderRows();
  }

  // ---- the selected runs' curves -----------------------------------------------------------------------------
  function toggle(id) {
    select(state.selected.includes(id) ? state.selected.filter((s) => s !== id) : [...state.selected, id]);
  }
  function select(ids) {
    state.selected = ids.slice(0, MAX_SELECTED);
    renderRows();
    drawCurves();
    showDetails();
  }
  function drawCurves() {
    const loss = [], accuracy = [];
    state.selected.forEach((id, i) => {
      const run = runs[id], c = curves[id], color = PALETTE[i % PALETTE.length];
      loss.push({ type: "scatter", mode: "lines", x: c.loss.x, y: c.loss.y, name: run.name, legendgroup: String(id),
        line: { color, width: 1.6 }, hovertemplate: `${run.name}<br>update %{x}: %{y:.4f}<extra></extra>` });
      for (const [split, dash] of [["val", "solid"], ["train", "dash"]]) {
        const y = c.evals[`${split}_acc`];
        if (!y) continue;
        const points = c.evals.iteration.map((x, k) => [x, y[k]]).filter((p) => p[1] !== null);
        accuracy.push({ type: "scatter", mode: "lines+markers", x: points.map((p) => p[0]), y: points.map((p) => p[1]),
          name: `${run.name} ${split}`, legendgroup: String(id), line: { color, dash, width: 1.6 }, marker: { size: 4 },
          hovertemplate: `${run.name} ${split}<br>update %{x}: %{y:.2%}<extra></extra>` });
      }
    });
    const empty = state.selected.length === 0 ? "click a run in the table to draw its curves" : null;
    const annotations = empty ? [{ text: empty, showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] : [];
    const windows = [...new Set(state.selected.map((id) => curves[id].loss.window))];
    Plotly.react("curves-loss", loss, Object.assign({}, BASE_LAYOUT, {
      title: { text: "minibatch loss" + (windows.length === 1 ? ` (moving average of ${windows[0]})` : " (moving average)") },
      xaxis: { title: { text: "update" } }, yaxis: { title: { text: "loss" }, type: "log", dtick: 1 }, annotations, height: 380,
    }), PLOT_CONFIG);
    Plotly.react("curves-acc", accuracy, Object.assign({}, BASE_LAYOUT, {
      title: { text: "accuracy per evaluation (validation solid, training dashed)" },
      xaxis: { title: { text: "update" } }, yaxis: { title: { text: "accuracy" }, tickformat: ".0%" }, annotations,
      height: 380,
    }), PLOT_CONFIG);
  }
  function showDetails() {
    const box = document.getElementById("run-details");
    const id = state.selected[state.selected.length - 1];
    if (id === undefined) { box.replaceChildren(); return; }
    const run = runs[id];
    const facts = [["folder", run.folder], ["status", run.status + (run.problem ? ` (${run.problem})` : "")],
      ["train / val / test acc", [run.train_acc, run.val_acc, run.test_acc].map((v) => percent(v) || "–").join(" / ")],
      ["wall time", duration(run.wall_time_s)], ["tags", run.tags.join(", ")], ["note", run.note || ""]];
    box.replaceChildren(el("h3", {}, run.name),
      el("dl", {}, ...facts.filter(([, v]) => v).map(([k, v]) => [el("dt", {}, k), el("dd", { class: k === "note" ? "note" : "" }, v)])),
      el("details", {}, el("summary", {}, "config"),
        el("dl", { class: "config" }, ...Object.entries(run.details).map(([k, v]) => [el("dt", {}, k), el("dd", {}, configText(v))]))));
  }

  // ---- studies and searches: figures drawn when they scroll into view ----------------------------------------
  const pending = new Map();
  const observer = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    for (const entry of entries) if (entry.isIntersecting) draw(entry.target);
  }, { rootMargin: "400px" }) : null;
  function draw(node) {
    const figure = pending.get(node);
    if (!figure) return;
    pending.delete(node);
    if (observer) observer.unobserve(node);
    Plotly.newPlot(node, figure.data, Object.assign({}, BASE_LAYOUT, figure.layout), PLOT_CONFIG);
  }
  function groupSection(group) {
    const charts = group.figures.map((figure) => {
      const node = el("div", { class: "chart", "data-figure": figure.name });
      pending.set(node, figure);
      return node;
    });
    const section = el("section", { id: `group-${group.id}`, class: `group ${group.kind}`, "data-kind": group.kind },
      el("h2", {}, group.title, el("span", { class: "folder" }, group.name)),
      el("ul", { class: "facts" }, ...group.facts.map((f) => el("li", {}, f))),
      group.problem ? el("p", { class: "problem" }, group.problem) : null,
      el("button", { type: "button", onclick: () => { setFilter(`group=${group.name}`); document.getElementById("runs").scrollIntoView(); } },
        `show its ${group.runs.length} runs in the table`),
      ...charts,
      ...group.images.map((image) => el("figure", {}, el("img", { src: image.src, alt: image.title }), el("figcaption", {}, image.title))));
    return [section, charts];
  }

  function drawAll() { for (const node of [...pending.keys()]) draw(node); }

  // ---- the page -----------------------------------------------------------------------------------------------
  root.append(header(), table());
  const sections = groups.map(groupSection);
  for (const [section] of sections) root.append(section);
  for (const [, charts] of sections) for (const node of charts) observer ? observer.observe(node) : draw(node);
  sortBy("time", false);
  const best = runs.filter((r) => r.val_acc !== null).sort((a, b) => b.val_acc - a.val_acc || a.id - b.id);
  select((best.length ? best : runs).slice(0, 3).map((r) => r.id));
  window.scratchrunReport = { data, state, select, sortBy, setFilter, drawAll };
  document.documentElement.dataset.ready = "true";
})();
