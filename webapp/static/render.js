// Drawing results: transcript (fillers highlighted), delivery figures, pace band, pause timeline, scores,
// and the session report. Text always goes in as text nodes, never as HTML.

const SVG = "http://www.w3.org/2000/svg";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

// replaceChildren that skips the null/undefined a conditional section leaves behind.
export function fill(box, ...nodes) {
  box.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined));
}

export const secs = (s) => `${Number(s || 0).toFixed(1)} s`;
const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

// One streamed segment, shown while transcription runs.
export function appendSegment(container, segment) {
  container.append(el("p", { class: "segment", "data-segment": segment.id, text: segment.text.trim() }));
}

// The final transcript: each word a span; words inside a filler's time range are <mark>ed.
export function renderTranscript(container, segments, fillers = []) {
  container.replaceChildren();
  const isFiller = (w) => fillers.some((f) => w.start >= f.start - 0.02 && w.end <= f.end + 0.02);
  for (const seg of segments) {
    const p = el("p", { class: "segment", "data-segment": seg.id });
    const words = seg.words && seg.words.length ? seg.words : [{ text: seg.text, start: -1, end: -1 }];
    words.forEach((w, i) => {
      const word = w.text.trim();
      if (!word) return;
      if (i > 0) p.append(" "); // stored words are trimmed: the spaces between them are ours to put back
      p.append(isFiller(w) ? el("mark", { class: "filler", title: `filler at ${secs(w.start)}`, text: word })
        : el("span", { text: word }));
    });
    container.append(p);
  }
}

export function renderFigures(dl, d) {
  const rows = [
    ["Pace", `${Math.round(d.words_per_minute)} words per minute`],
    ["Words", String(d.word_count)],
    ["Filler words", `${d.fillers.count} (${d.fillers.per_minute} per minute)`],
    ["Pauses of 1.5 s or more", `${d.pauses.count_1_5s} (${d.pauses.count_3s} of 3 s or more)`],
    ["Longest pause", secs(d.pauses.longest_seconds)],
    ["Time to first word", secs(d.time_to_first_word_seconds)],
    ["Answer length", secs(d.duration_seconds)],
  ];
  const by = Object.entries(d.fillers.by_word || {});
  if (by.length) rows.splice(3, 0, ["Fillers used", by.map(([w, n]) => `“${w}” ×${n}`).join(", ")]);
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
}

// A horizontal scale 60–240 wpm with the good band shaded and the answer's pace marked.
export function renderPace(box, desc, wpm, band) {
  const lo = 60;
  const hi = 240;
  const x = (v) => 10 + ((Math.max(lo, Math.min(hi, v)) - lo) / (hi - lo)) * 380;
  const verdict = wpm < band.min ? "slower than" : wpm > band.max ? "faster than" : "within";
  const cls = verdict === "within" ? "good" : "warn";
  box.replaceChildren(svg("svg", { viewBox: "0 -6 400 60", class: "pace", "aria-hidden": "true", focusable: "false" },
    svg("rect", { x: 10, y: 18, width: 380, height: 12, rx: 6, class: "track" }),
    svg("rect", { x: x(band.min), y: 18, width: x(band.max) - x(band.min), height: 12, class: "band" }),
    svg("text", { x: x(band.min), y: 48, "text-anchor": "middle" }, String(band.min)),
    svg("text", { x: x(band.max), y: 48, "text-anchor": "middle" }, String(band.max)),
    svg("line", { x1: x(wpm), x2: x(wpm), y1: 10, y2: 38, class: `marker ${cls}` }),
    svg("text", { x: x(wpm), y: 9, "text-anchor": "middle", class: `value ${cls}` }, `${Math.round(wpm)}`)));
  desc.textContent = `${Math.round(wpm)} words per minute: ${verdict} the ${band.min}–${band.max} band.`;
}

// The answer on a time axis: speech as bars (one per segment), long pauses as marked gaps.
export function renderPauses(box, desc, segments, delivery) {
  const duration = Math.max(delivery.duration_seconds || 0, ...segments.map((s) => s.end), 1);
  const x = (t) => 10 + (t / duration) * 380;
  const items = delivery.pauses.items || [];
  const speech = segments.flatMap((s) => (s.words && s.words.length ? s.words : [s]))
    .map((w) => svg("rect", { x: x(w.start), y: 14, width: Math.max(0.8, x(w.end) - x(w.start)), height: 16, class: "speech" }));
  const pauses = items.map((p) => svg("g", { class: p.seconds >= 3 ? "pause long" : "pause" },
    svg("rect", { x: x(p.start), y: 8, width: Math.max(2, x(p.end) - x(p.start)), height: 28 }),
    svg("title", {}, `pause of ${secs(p.seconds)} at ${clock(p.start)}`)));
  const ticks = [];
  const step = duration > 60 ? 15 : duration > 20 ? 5 : 2;
  for (let t = 0; t <= duration; t += step) {
    const anchor = t === 0 ? "start" : t + step > duration ? "end" : "middle";
    ticks.push(svg("text", { x: x(t), y: 52, "text-anchor": anchor }, clock(t)));
  }
  box.replaceChildren(svg("svg", { viewBox: "0 0 400 58", class: "timeline", "aria-hidden": "true", focusable: "false" },
    svg("rect", { x: 10, y: 20, width: 380, height: 4, class: "track" }), speech, pauses, ticks));
  desc.textContent = items.length
    ? `${items.length} pause${items.length === 1 ? "" : "s"} of 1.5 s or more: ${items.map((p) => `${secs(p.seconds)} at ${clock(p.start)}`).join(", ")}.`
    : "No pauses of 1.5 s or more.";
}

function scoreBar(label, score, feedback) {
  const value = Math.round(score);
  return el("div", { class: "score" },
    el("div", { class: "score-head" }, el("span", { text: label }), el("strong", { text: `${value}/100` })),
    el("meter", { min: 0, max: 100, low: 50, high: 75, optimum: 100, value, "aria-label": `${label} score` }),
    feedback ? el("p", { class: "feedback", text: feedback }) : null);
}

export function renderScores(box, scores) {
  const dims = ["content", "structure", "delivery"].filter((k) => scores[k]);
  fill(box,
    scoreBar("Overall", scores.overall ?? 0, null),
    ...dims.map((k) => scoreBar(k[0].toUpperCase() + k.slice(1), scores[k].score, scores[k].feedback)),
  );
  const missing = scores.content && scores.content.missing;
  if (missing && missing.length) box.append(el("p", { class: "muted", text: `Points you could add: ${missing.join(", ")}.` }));
}

function list(title, items) {
  if (!items || !items.length) return null;
  return el("div", {}, el("h3", { text: title }), el("ul", {}, items.map((t) => el("li", { text: String(t) }))));
}

// A report (issue 3's /report) or the session summary job's result: both carry these fields.
export function renderReport(box, report) {
  const dims = report.dimensions || report.scores || {};
  const d = report.delivery || {};
  const overall = report.overall_score;
  fill(box,
    el("p", { class: "overall", text: overall === null || overall === undefined ? "No answers were scored."
      : `Overall score: ${Math.round(overall)}/100` }),
    report.answered !== undefined ? el("p", { class: "muted", text: `${report.answered} answer(s) scored.` }) : null,
    Object.keys(dims).length ? el("div", { class: "scores" }, Object.entries(dims)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => scoreBar(k[0].toUpperCase() + k.slice(1), typeof v === "object" ? v.score : v, null))) : null,
    d.words_per_minute !== undefined ? el("p", { text: `Average pace ${Math.round(d.words_per_minute || 0)} wpm, `
      + `${d.filler_count ?? 0} filler word(s), ${d.long_pauses ?? 0} pause(s) of 3 s or more.` }) : null,
    list("Strengths", report.strengths),
    list("To work on", report.weaknesses),
    list("Recommendations", report.recommendations),
  );
}
