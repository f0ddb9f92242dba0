// The progress chart: per-dimension scores across sessions (oldest first), drawn as an inline SVG,
// with the same figures in a table for screen readers and for anyone who prefers numbers.

import { el, labelWidth, svg, widthOf } from "./render.js";

const SERIES = [
  ["overall", "Overall"],
  ["content", "Content"],
  ["structure", "Structure"],
  ["delivery", "Delivery"],
];

const num = (v) => (typeof v === "number" ? v : v && typeof v === "object" && typeof v.score === "number" ? v.score : null);

// Accepts the shapes /api/progress may answer with: {sessions: […]}, {points: […]}, {items: […]} or a list.
export function normalize(data) {
  const rows = Array.isArray(data) ? data : (data && (data.sessions || data.points || data.items || data.history)) || [];
  return rows.map((p, i) => {
    const dims = p.dimensions || p.scores || p;
    const delivery = p.delivery || {};
    const when = p.ended_at || p.finished_at || p.created_at || p.date || p.at || null;
    return {
      label: when ? new Date(when).toLocaleDateString(undefined, { month: "short", day: "numeric" }) : `#${i + 1}`,
      when,
      overall: num(p.overall_score ?? p.overall ?? dims.overall),
      content: num(dims.content),
      structure: num(dims.structure),
      delivery: num(dims.delivery),
      wpm: delivery.words_per_minute ?? p.words_per_minute ?? null,
      fillers: delivery.fillers_per_minute ?? p.fillers_per_minute ?? null,
    };
  });
}

export function renderChart(box, tableBox, points) {
  if (!points.length) {
    box.replaceChildren(el("p", { class: "muted", text: "No finished sessions yet: your scores will be charted here." }));
    tableBox.replaceChildren();
    return;
  }
  const W = widthOf(box); // drawn at its shown width: 12 px text stays 12 px (see render.js)
  const H = 220;
  const left = 36;
  const right = 16;
  const top = 12;
  const bottom = 32;
  const x = (i) => (points.length === 1 ? left + (W - left - right) / 2 : left + (i / (points.length - 1)) * (W - left - right));
  const y = (v) => top + (1 - v / 100) * (H - top - bottom);
  const grid = [0, 25, 50, 75, 100].map((v) => svg("g", { class: "grid" },
    svg("line", { x1: left, x2: W - right, y1: y(v), y2: y(v) }),
    svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, String(v))));
  // As many date labels as fit without touching: at least a label and a gap apart.
  const room = Math.max(...points.map((p) => labelWidth(p.label))) + 16;
  const fit = Math.max(1, Math.floor((W - left - right) / room));
  const every = Math.ceil(points.length / fit);
  const shown = (i) => i === points.length - 1 || (i % every === 0 && points.length - 1 - i >= every);
  const anchor = (i, label) => (x(i) - labelWidth(label) / 2 < 0 ? "start" : x(i) + labelWidth(label) / 2 > W ? "end" : "middle");
  const labels = points.map((p, i) => (shown(i)
    ? svg("text", { x: x(i), y: H - 10, "text-anchor": anchor(i, p.label) }, p.label) : null));
  const lines = SERIES.map(([key, name]) => {
    const pts = points.map((p, i) => [i, p[key]]).filter(([, v]) => v !== null && v !== undefined);
    if (!pts.length) return null;
    return svg("g", { class: `series s-${key}` },
      svg("polyline", { points: pts.map(([i, v]) => `${x(i)},${y(v)}`).join(" ") }),
      pts.map(([i, v]) => svg("circle", { cx: x(i), cy: y(v), r: 3 }, svg("title", {}, `${name} ${Math.round(v)} on ${points[i].label}`))));
  });
  box.replaceChildren(
    svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "chart", role: "img",
      "aria-label": `Scores over ${points.length} session(s); the table below lists them.` }, grid, labels, lines),
    el("ul", { class: "legend-list", "aria-hidden": "true" },
      SERIES.map(([key, name]) => el("li", { class: `s-${key}` }, el("span", { class: "swatch" }), name))));

  const cell = (v, digits = 0) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
  tableBox.replaceChildren(el("details", {}, el("summary", { text: "Show the figures" }),
    el("div", { class: "table-wrap" }, el("table", {},
      el("caption", { text: "Scores and delivery per session, oldest first" }),
      el("thead", {}, el("tr", {}, ["Session", ...SERIES.map(([, n]) => n), "Pace (wpm)", "Fillers/min"]
        .map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, points.map((p) => el("tr", {},
        el("th", { scope: "row", text: p.label }),
        SERIES.map(([k]) => el("td", { text: cell(p[k]) })),
        el("td", { text: cell(p.wpm) }), el("td", { text: cell(p.fillers, 1) }))))))));
}
