// The dashboard page: standings, a unit, the report matrix and the findings, drawn from the
// JSON API. Inside Telegram it signs every call with the Mini App's init data
// (Authorization: tma …); on a desk the session cookie of a one-time link does.
"use strict";

(function () {
  const state = { init: "", me: null, texts: {}, year: null, asOf: "" };
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  // --- Telegram: init data and theme from the launch fragment --------------------------------
  function readTelegram() {
    const hash = window.location.hash.slice(1);
    const params = new URLSearchParams(hash);
    const data = params.get("tgWebAppData");
    if (data) {
      sessionStorage.setItem("kaohe-init", data);
      const theme = params.get("tgWebAppThemeParams");
      if (theme) sessionStorage.setItem("kaohe-theme", theme);
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    state.init = sessionStorage.getItem("kaohe-init") || "";
    const theme = sessionStorage.getItem("kaohe-theme");
    if (theme) {
      try {
        const colours = JSON.parse(theme);
        for (const [name, value] of Object.entries(colours)) {
          if (/^#[0-9a-fA-F]{3,8}$/.test(String(value))) {
            document.documentElement.style.setProperty("--tg-" + name.replace(/_color$/, "").replace(/_/g, "-"), value);
          }
        }
      } catch (e) { /* a theme we cannot read leaves the defaults */ }
    }
  }

  // --- helpers --------------------------------------------------------------------------------
  function t(key, params) {
    let text = state.texts[key] !== undefined ? state.texts[key] : key;
    for (const [name, value] of Object.entries(params || {})) text = text.split("{" + name + "}").join(String(value));
    return text;
  }

  // Two decimals, half away from zero, as the bot's messages (templates.formatting.num).
  function num(value, places) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    const p = places === undefined ? 2 : places;
    const sign = value < 0 ? -1 : 1;
    const rounded = Number(Math.round(Number(Math.abs(value) + "e" + p)) + "e-" + p) * sign;
    return rounded.toFixed(p);
  }

  const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function escape(text) { return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]); }

  function pct(value) { return value === null || value === undefined ? "–" : num(value * 100, 1) + "%"; }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  class ApiError extends Error {
    constructor(status, body) { super((body && body.message) || String(status)); this.status = status; this.body = body; }
  }

  async function api(path, raw) {
    const headers = {};
    if (state.init) headers.Authorization = "tma " + state.init;
    const response = await fetch(path, { headers, credentials: "same-origin", cache: "no-store" });
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (e) { body = null; }
      throw new ApiError(response.status, body);
    }
    return raw ? response.blob() : response.json();
  }

  function query(extra) {
    const params = new URLSearchParams();
    params.set("year", String(state.year));
    if (state.asOf) params.set("as_of", state.asOf);
    for (const [k, v] of Object.entries(extra || {})) params.set(k, v);
    return "?" + params.toString();
  }

  function show(...nodes) {
    const main = $("main");
    main.replaceChildren(...nodes);
  }

  function failure(error) {
    if (error.status === 401) return el("p", { class: "error", id: "unauthorized", text: t("unauthorized") });
    if (error.status === 403) return el("p", { class: "error", id: "forbidden", text: (error.body && error.body.message) || t("forbidden") });
    // Not there yet (standings not published, a unit not ranked): said as it is.
    if (error.status === 404 && error.body) return el("p", { class: "note", id: "not-found", text: error.body.message });
    return el("p", { class: "error", id: "failed", text: t("failed", { message: error.message }) });
  }

  function isManager() { return state.me && ["coordinator", "admin"].includes(state.me.user.role); }
  function isViewerRole() { return state.me && ["coordinator", "admin", "viewer"].includes(state.me.user.role); }

  function groupName(group) { return t("year.group_" + group); }
  function flagWords(flags) { return (flags || []).map((f) => t("year.flag_" + f)).join(t("year.flag_separator")); }

  function tierClass(plan, tier) {
    const index = plan.tiers.indexOf(tier);
    return "tier tier-" + Math.min(Math.max(index, 0), 3);
  }

  function navigate(path) {
    history.pushState(null, "", path);
    route();
  }

  // --- standings -----------------------------------------------------------------------------
  const CHUNK = 200;
  // Tables still drawing their rows; body[data-complete] once none is.
  const pending = new Set();
  function drawn(table) {
    pending.delete(table);
    if (!pending.size) document.body.dataset.complete = "1";
  }

  function standingsColumns(data, group) {
    const cols = [
      { key: "rank", label: t("col_rank"), num: true, value: (e) => e.rank, text: (e) => String(e.rank) },
      { key: "name", label: t("col_unit"), value: (e) => e.name, text: (e) => e.name },
      { key: "tier", label: t("col_tier"), value: (e) => data.plan.tiers.indexOf(e.tier), text: (e) => e.tier, tier: true },
      { key: "total", label: t("col_total"), num: true, value: (e) => e.total, text: (e) => num(e.total) },
    ];
    if (group === "town") cols.push({ key: "development", label: t("col_development"), num: true, wide: true, value: (e) => e.development, text: (e) => num(e.development) });
    for (const item of data.plan.items) {
      cols.push({ key: item.code, label: item.name, num: true, wide: true, value: (e) => e[item.code], text: (e) => num(e[item.code]) });
    }
    cols.push({ key: "bonus", label: t("col_bonus"), num: true, wide: true, value: (e) => e.bonus, text: (e) => num(e.bonus) });
    cols.push({ key: "deductions", label: t("col_deductions"), num: true, wide: true, value: (e) => e.deductions, text: (e) => num(e.deductions) });
    return cols;
  }

  function standingsTable(data, group, entries) {
    const cols = standingsColumns(data, group);
    const table = el("table", { class: "standings", "data-group": group });
    const headRow = el("tr");
    for (const col of cols) {
      headRow.append(el("th", {
        class: "sortable" + (col.num ? " num" : "") + (col.wide ? " wide-only" : ""),
        "data-key": col.key, scope: "col", tabindex: "0", text: col.label,
        "aria-sort": col.key === "rank" ? "ascending" : null,
      }));
    }
    table.append(el("thead", {}, headRow));
    let order = { key: "rank", dir: 1 };
    let generation = 0;
    // Rows as markup (every value escaped): a table of 2,000 units is made several times
    // faster than cell by cell.
    const classes = cols.map((c) => (c.num ? "num" : "") + (c.wide ? " wide-only" : ""));
    function row(entry) {
      let html = '<tr class="unit-row" tabindex="0" data-unit="' + escape(entry.unit) + '">';
      cols.forEach((c, i) => {
        const cls = classes[i] + (c.tier ? " " + tierClass(data.plan, entry.tier) : "");
        html += '<td class="' + cls + '" data-key="' + escape(c.key) + '">' + escape(c.text(entry)) + "</td>";
      });
      return html + "</tr>";
    }
    // The first rows at once, the rest in chunks after it (a table of 2,000 units is usable
    // before it is complete); each chunk is a tbody the browser lays out only when it shows.
    function fill() {
      const col = cols.find((c) => c.key === order.key);
      const sorted = entries.slice().sort((a, b) => {
        const x = col.value(a), y = col.value(b);
        if (x === y) return a.rank - b.rank;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (typeof x === "string" ? x.localeCompare(y, "zh-CN") : x - y) * order.dir;
      });
      for (const old of table.querySelectorAll("tbody")) old.remove();
      const mine = ++generation;
      let next = 0;
      pending.add(table);
      function chunk() {
        if (mine !== generation) return;
        const tbody = el("tbody", { class: next ? "chunk" : "" });
        tbody.innerHTML = sorted.slice(next, next + CHUNK).map(row).join("");
        table.append(tbody);
        next += CHUNK;
        if (next < sorted.length) setTimeout(chunk, 0);
        else drawn(table);
      }
      chunk();
    }
    headRow.addEventListener("click", (event) => {
      const th = event.target.closest("th");
      if (!th) return;
      const key = th.dataset.key;
      const numeric = cols.find((c) => c.key === key).num;
      order = order.key === key ? { key, dir: -order.dir } : { key, dir: numeric && key !== "rank" ? -1 : 1 };
      for (const cell of headRow.children) cell.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", order.dir === 1 ? "ascending" : "descending");
      fill();
    });
    table.addEventListener("click", (event) => {
      const tr = event.target.closest("tr.unit-row");
      if (tr) navigate("/unit/" + encodeURIComponent(tr.dataset.unit) + query());
    });
    table.addEventListener("keydown", (event) => {
      const tr = event.target.closest("tr.unit-row");
      if (tr && event.key === "Enter") navigate("/unit/" + encodeURIComponent(tr.dataset.unit) + query());
    });
    fill();
    return el("div", { class: "scroll" }, table);
  }

  // A horizontal bar chart of the totals, drawn here as SVG (no library, no CDN).
  function barChart(data, group, entries) {
    const shown = entries.slice(0, 60);
    const maximum = data.plan.maximum[group] || Math.max(...shown.map((e) => e.total), 1);
    const top = Math.max(maximum, ...shown.map((e) => e.total));
    // Room for the longest name (CJK characters are about one em wide at 12px).
    const longest = Math.max(...shown.map((e) => e.name.length), 2);
    const rowHeight = 20, label = Math.min(220, 14 + longest * 12.5), width = 640, right = 60;
    const height = shown.length * rowHeight + 24;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "chart");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", groupName(group) + " " + t("chart_title"));
    const title = document.createElementNS(SVG, "text");
    title.setAttribute("x", "0"); title.setAttribute("y", "14");
    title.textContent = t("chart_title");
    svg.append(title);
    shown.forEach((entry, i) => {
      const y = 22 + i * rowHeight;
      const name = document.createElementNS(SVG, "text");
      name.setAttribute("x", String(label - 6)); name.setAttribute("y", String(y + 13));
      name.setAttribute("text-anchor", "end");
      name.textContent = entry.name;
      const bar = document.createElementNS(SVG, "rect");
      bar.setAttribute("x", String(label)); bar.setAttribute("y", String(y + 2));
      bar.setAttribute("height", String(rowHeight - 6));
      bar.setAttribute("width", String(Math.max(0, (width - label - right) * entry.total / top)));
      bar.setAttribute("class", "bar-" + Math.min(Math.max(data.plan.tiers.indexOf(entry.tier), 0), 3));
      const value = document.createElementNS(SVG, "text");
      value.setAttribute("x", String(label + 4 + (width - label - right) * entry.total / top));
      value.setAttribute("y", String(y + 13));
      value.textContent = num(entry.total);
      svg.append(name, bar, value);
    });
    return svg;
  }

  async function standingsPage() {
    setCurrent("standings");
    const data = await api("/api/standings" + query({ view: "table" }));
    const parts = [el("p", { class: "note", id: "as-of-note", text: t("as_of_note", { as_of: data.as_of }) })];
    if (state.me.user.role === "liaison") parts.push(el("p", { class: "note", text: t("liaison_note") }));
    else parts.push(el("p", { class: "note", text: data.published ? t("published_note") : t("not_published_note") }));
    parts.push(el("p", { class: "note", text: t("sort_hint") }));
    for (const [group, entries] of Object.entries(data.groups)) {
      const section = el("section", { class: "group", "data-group": group });
      section.append(el("h2", { text: groupName(group) + " · " + t("units_count", { count: entries.length }) }));
      if (!entries.length) {
        section.append(el("p", { class: "note", text: t("empty_group") }));
      } else {
        section.append(standingsTable(data, group, entries));
        if (state.me.user.role !== "liaison") section.append(barChart(data, group, entries));
      }
      parts.push(section);
    }
    show(...parts);
  }

  // --- a unit --------------------------------------------------------------------------------
  function table(headers, rows, cls) {
    const kind = (h) => (h.num ? "num" : "") + (h.wide ? " wide-only" : "") + (h.long ? " long" : "");
    const head = el("tr", {}, ...headers.map((h) => el("th", { class: kind(h), text: h.label })));
    const body = el("tbody");
    for (const row of rows) body.append(el("tr", {}, ...row.map((cell, i) => el("td", { class: kind(headers[i]), text: cell }))));
    return el("div", { class: "scroll" }, el("table", { class: cls || "" }, el("thead", {}, head), body));
  }

  async function unitPage(code) {
    setCurrent("");
    const data = await api("/api/units/" + encodeURIComponent(code) + query());
    const x = data.explanation, r = x.result;
    const parts = [
      el("p", {}, el("a", { href: "/" + query(), "data-link": "", text: "← " + t("back") })),
      el("h2", { id: "unit-name", text: r.name }),
      el("p", { id: "unit-rank", text: t("unit_rank", {
        group: groupName(r.group), rank: r.rank, size: x.group_size, tier: r.tier,
        total: num(r.total), max: num(x.max_without_bonus), share: pct(r.share),
      }) }),
      el("p", { class: "note", text: t("as_of_note", { as_of: data.as_of }) + (r.flags.length ? " · " + flagWords(r.flags) : "") }),
    ];
    if (x.indicators.length) {
      parts.push(el("h2", { text: t("indicators") }));
      parts.push(table(
        [{ label: t("col_indicator") }, { label: t("col_value"), num: true }, { label: t("col_best"), num: true, wide: true },
         { label: t("col_worst"), num: true, wide: true }, { label: t("col_ratio"), num: true, wide: true }, { label: t("col_points"), num: true },
         { label: t("col_weight"), num: true }, { label: t("col_flags"), wide: true }],
        x.indicators.map((i) => [i.name, num(i.value), num(i.best), num(i.worst), num(i.ratio, 3), num(i.points), num(i.weight), flagWords(i.flags)]),
        "indicators"));
    }
    parts.push(el("h2", { text: t("items") }));
    parts.push(table(
      [{ label: t("col_item") }, { label: t("col_coef"), num: true }, { label: t("col_daily"), num: true, wide: true },
       { label: t("col_year_end"), num: true, wide: true }, { label: t("col_deducted"), num: true }, { label: t("col_points"), num: true },
       { label: t("col_weight"), num: true }, { label: t("col_grades"), wide: true, long: true }],
      x.items.map((i) => [i.name, num(i.coef, 3), num(i.daily, 3), num(i.year_end, 3), num(i.deducted), num(i.points), num(i.weight),
        [...i.deductions.map((d) => t("year.event_" + d.event) + " ×" + d.count + " −" + num(d.total)),
         ...i.grades.map((g) => t("year.period_" + g.period) + " " + g.rater + " " + t("coord.unit_grade_" + g.grade))].join(t("coord.unit_grade_separator"))]),
      "items"));
    const b = x.bonus;
    parts.push(el("h2", { text: t("bonus") }));
    parts.push(el("p", { text: t("bonus_line", { approved: b.approved.length, each: num(b.points_per_item), cap: num(b.cap), points: num(b.points) }) + (b.capped ? t("bonus_capped") : "") }));
    if (b.approved.length) parts.push(el("ul", {}, ...b.approved.map((title) => el("li", { text: title }))));
    parts.push(el("h2", { text: t("findings") }));
    parts.push(findingsTable(data.findings));
    show(...parts);
  }

  // --- findings ------------------------------------------------------------------------------
  function thumbnails(ids) {
    const box = el("div", { class: "thumbs" });
    for (const id of ids) {
      const img = el("img", { alt: "#" + id, "data-evidence": id, loading: "lazy" });
      box.append(img);
      api("/api/evidence/" + id, true)
        .then((blob) => { img.src = URL.createObjectURL(blob); })
        .catch(() => { img.replaceWith(el("span", { class: "note", text: "#" + id })); });
    }
    return box;
  }

  function findingsTable(findings) {
    if (!findings.length) return el("p", { class: "note", text: t("no_findings") });
    const head = el("tr", {}, ...[t("col_unit"), t("col_description"), t("col_deadline"), t("col_status"), t("col_evidence")].map((h) => el("th", { text: h })));
    const body = el("tbody");
    for (const f of findings) {
      body.append(el("tr", { "data-finding": f.id },
        el("td", { text: f.unit_name }), el("td", { text: f.description }), el("td", { class: "num", text: f.deadline }),
        el("td", { class: "status-" + f.status, text: t("status_" + f.status) }),
        el("td", {}, f.evidence.length && isViewerRole() ? thumbnails(f.evidence) : "")));
    }
    return el("div", { class: "scroll" }, el("table", { class: "findings" }, el("thead", {}, head), body));
  }

  async function findingsPage() {
    setCurrent("findings");
    const data = await api("/api/findings" + query());
    const parts = [el("h2", { text: t("findings") }), findingsTable(data.findings)];
    if (isManager()) {
      parts.push(el("h2", { text: t("awaiting_review") }));
      if (!data.awaiting_review.length) parts.push(el("p", { class: "note", text: t("no_awaiting") }));
      else {
        const body = el("tbody");
        for (const r of data.awaiting_review) {
          body.append(el("tr", {}, el("td", { text: r.unit_name }), el("td", { text: r.finding_description }),
            el("td", { text: r.text }), el("td", { text: r.receipt }), el("td", { text: r.on_time ? t("yes") : t("no") }),
            el("td", {}, thumbnails(r.evidence))));
        }
        const head = el("tr", {}, ...[t("col_unit"), t("col_description"), "", t("col_receipt"), t("col_on_time"), t("col_evidence")].map((h) => el("th", { text: h })));
        parts.push(el("div", { class: "scroll" }, el("table", {}, el("thead", {}, head), body)));
      }
    }
    show(...parts);
  }

  // --- the matrix ----------------------------------------------------------------------------
  const STATES = ["on_time", "late", "overdue", "missing", "not_due_yet"];
  // A mark per state, so that twelve months fit a phone; the legend says them in words.
  const MARKS = { on_time: "✓", late: "!", overdue: "✗", missing: "●", not_due_yet: "·" };

  async function matrixPage() {
    setCurrent("matrix");
    const data = await api("/api/matrix" + query());
    const parts = [el("h2", { text: t("matrix_title", { year: data.year }) })];
    parts.push(el("p", { class: "legend" }, ...STATES.map((s) => el("span", { class: "state-" + s, text: MARKS[s] + " " + t("state_" + s) }))));
    if (!data.rows.length) {
      parts.push(el("p", { class: "note", text: t("matrix_empty") }));
      show(...parts);
      return;
    }
    const head = el("tr", {}, el("th", { text: t("col_unit") }));
    for (let m = 1; m <= 12; m++) head.append(el("th", { class: "month", text: String(m) }));
    const body = el("tbody");
    const detail = el("div", { class: "detail", id: "cell-detail", hidden: true });
    for (const row of data.rows) {
      const tr = el("tr", {}, el("td", { class: "name", text: row.name }));
      for (let m = 1; m <= 12; m++) {
        const cell = row.months[String(m)];
        const td = el("td", { class: "cell" + (cell ? " state-" + cell.state : ""), "data-unit": row.unit, "data-month": m, text: cell ? MARKS[cell.state] : "" });
        if (cell) td.title = t("state_" + cell.state);
        tr.append(td);
      }
      body.append(tr);
    }
    body.addEventListener("click", (event) => {
      const td = event.target.closest("td.cell");
      if (!td) return;
      const row = data.rows.find((r) => r.unit === td.dataset.unit);
      const cell = row && row.months[td.dataset.month];
      if (!cell) return;
      detail.hidden = false;
      detail.replaceChildren(
        el("strong", { text: row.name + " · " + t("month", { month: td.dataset.month }) + " · " + t("state_" + cell.state) }),
        el("div", { text: t("col_deadline") + ": " + cell.due }));
      if (!cell.version) {
        detail.append(el("p", { class: "note", text: t("no_report") }));
        return;
      }
      // The report itself, every version, with its evidence.
      api("/api/reports/" + encodeURIComponent(row.unit) + "/" + td.dataset.month + query())
        .then((report) => {
          for (const v of report.versions) {
            detail.append(el("div", { class: "version", text: t("report_version", { version: v.version, receipt: v.receipt, submitted: v.submitted.slice(0, 16).replace("T", " ") }) }));
            detail.append(el("ul", {}, ...v.entries.map((e) => el("li", { text: e.title + " · " + t("entry_" + e.status) + (e.figure ? " · " + e.figure : "") + (e.note ? " · " + e.note : "") }))));
            if (v.evidence.length) detail.append(thumbnails(v.evidence));
          }
        })
        .catch((error) => detail.append(failure(error)));
    });
    parts.push(detail);
    parts.push(el("div", { class: "scroll" }, el("table", { class: "matrix" }, el("thead", {}, head), body)));
    show(...parts);
  }

  // --- the report workbook ---------------------------------------------------------------------
  async function downloadReport() {
    try {
      const blob = await api("/api/report.xlsx" + query(), true);
      const link = el("a", { href: URL.createObjectURL(blob), download: "kaohe-report-" + state.year + ".xlsx" });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      show(failure(error));
    }
  }

  // --- the frame -------------------------------------------------------------------------------
  function setCurrent(name) {
    for (const a of document.querySelectorAll("nav a")) a.classList.toggle("current", a.dataset.nav === name);
  }

  async function route() {
    const params = new URLSearchParams(window.location.search);
    const year = parseInt(params.get("year") || "", 10);
    state.year = Number.isFinite(year) ? year : state.me.year;
    state.asOf = params.get("as_of") || "";
    $("year").value = String(state.year);
    $("as-of").value = state.asOf;
    const path = window.location.pathname;
    delete document.body.dataset.ready;
    delete document.body.dataset.complete;
    pending.clear();
    show(el("p", { class: "note", id: "loading", text: t("loading") }));
    try {
      if (path.startsWith("/unit/")) await unitPage(decodeURIComponent(path.slice(6)));
      else if (path === "/matrix") await matrixPage();
      else if (path === "/findings") await findingsPage();
      else await standingsPage();
    } catch (error) {
      show(failure(error));
    }
    document.body.dataset.ready = "1";
    // Milliseconds from the navigation's start (the benchmark reads it).
    document.body.dataset.readyAt = String(Math.round(performance.now()));
    if (!pending.size) document.body.dataset.complete = "1";
  }

  function label() {
    document.documentElement.lang = state.me && state.me.language === "en" ? "en" : "zh-CN";
    document.title = t("title");
    $("title").textContent = t("title");
    $("nav-standings").textContent = t("nav_standings");
    $("nav-matrix").textContent = t("nav_matrix");
    $("nav-findings").textContent = t("nav_findings");
    $("nav-report").textContent = t("nav_report");
    $("sign-out-button").textContent = t("nav_sign_out");
    $("year-label").textContent = t("year_label");
    $("as-of-label").textContent = t("as_of_label");
    $("show").textContent = t("show");
  }

  async function start() {
    readTelegram();
    try {
      state.me = await api("/api/me");
    } catch (error) {
      let language = (navigator.language || "zh").toLowerCase().startsWith("en") ? "en" : "zh";
      try { state.texts = (await (await fetch("/api/texts?lang=" + language)).json()).texts; } catch (e) { state.texts = {}; }
      label();
      show(failure(error));
      document.body.dataset.ready = "1";
      document.body.dataset.complete = "1";
      return;
    }
    state.texts = state.me.texts;
    label();
    const role = state.me.user.role;
    $("nav").hidden = false;
    $("filters").hidden = false;
    $("nav-matrix").hidden = !isManager();
    $("nav-findings").hidden = !(isManager() || role === "liaison");
    $("nav-report").hidden = !isViewerRole();
    $("as-of-field").hidden = role === "liaison";
    $("sign-out").hidden = Boolean(state.init);
    document.addEventListener("click", (event) => {
      const a = event.target.closest("a[data-nav], a[data-link]");
      if (!a || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      const target = new URL(a.href, window.location.href);
      navigate(target.pathname + (a.dataset.nav ? query() : target.search));
    });
    $("nav-report").addEventListener("click", downloadReport);
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      state.year = parseInt($("year").value, 10) || state.me.year;
      state.asOf = $("as-of").value;
      navigate(window.location.pathname + query());
    });
    window.addEventListener("popstate", route);
    await route();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
