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

// Drawings are laid out in CSS pixels at the width they are shown at (one user unit = one pixel), so
// their text is the size the style sheet says (>= 12 px) on a phone and on a desktop alike; the page
// draws them again when the window is resized.
export function widthOf(box, fallback = 400) {
  const w = box.getBoundingClientRect().width;
  return Math.max(240, Math.round(w || fallback));
}

// Approximate width of a label in px (digits and colons of a 12 px system font are ~7 px wide).
export const labelWidth = (text, px = 12) => String(text).length * px * 0.62;
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
  const W = widthOf(box);
  const pad = 16;
  const x = (v) => pad + ((Math.max(lo, Math.min(hi, v)) - lo) / (hi - lo)) * (W - 2 * pad);
  const verdict = wpm < band.min ? "slower than" : wpm > band.max ? "faster than" : "within";
  const cls = verdict === "within" ? "good" : "warn";
  box.replaceChildren(svg("svg", { viewBox: `0 0 ${W} 68`, width: W, height: 68, class: "pace", "aria-hidden": "true", focusable: "false" },
    svg("rect", { x: pad, y: 24, width: W - 2 * pad, height: 12, rx: 6, class: "track" }),
    svg("rect", { x: x(band.min), y: 24, width: x(band.max) - x(band.min), height: 12, class: "band" }),
    svg("text", { x: x(band.min), y: 60, "text-anchor": "middle" }, String(band.min)),
    svg("text", { x: x(band.max), y: 60, "text-anchor": "middle" }, String(band.max)),
    svg("line", { x1: x(wpm), x2: x(wpm), y1: 18, y2: 44, class: `marker ${cls}` }),
    svg("text", { x: x(wpm), y: 14, "text-anchor": "middle", class: `value ${cls}` }, `${Math.round(wpm)} wpm`)));
  desc.textContent = `${Math.round(wpm)} words per minute: ${verdict} the ${band.min}–${band.max} band.`;
}

// The answer on a time axis: speech as bars (one per segment), long pauses as marked gaps.
// Tick step: the smallest "nice" step whose labels are at least a label and a gap apart.
function tickStep(duration, plotWidth) {
  const room = labelWidth(clock(duration)) + 32;
  const steps = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600];
  return steps.find((s) => (s / duration) * plotWidth >= room) || steps[steps.length - 1];
}

export function renderPauses(box, desc, segments, delivery) {
  const duration = Math.max(delivery.duration_seconds || 0, ...segments.map((s) => s.end), 1);
  const W = widthOf(box);
  const pad = 12;
  const plot = W - 2 * pad;
  const x = (t) => pad + (t / duration) * plot;
  const items = delivery.pauses.items || [];
  const speech = segments.flatMap((s) => (s.words && s.words.length ? s.words : [s]))
    .map((w) => svg("rect", { x: x(w.start), y: 14, width: Math.max(0.8, x(w.end) - x(w.start)), height: 16, class: "speech" }));
  const pauses = items.map((p) => svg("g", { class: p.seconds >= 3 ? "pause long" : "pause" },
    svg("rect", { x: x(p.start), y: 8, width: Math.max(2, x(p.end) - x(p.start)), height: 28 }),
    svg("title", {}, `pause of ${secs(p.seconds)} at ${clock(p.start)}`)));
  const ticks = [];
  const step = tickStep(duration, plot);
  for (let t = 0; t <= duration; t += step) {
    // The first label starts at its tick; one that would run past the right edge ends at its tick.
    const half = labelWidth(clock(t)) / 2;
    const anchor = t === 0 ? "start" : x(t) + half > W ? "end" : "middle";
    ticks.push(svg("g", { class: "tick" }, svg("line", { x1: x(t), x2: x(t), y1: 38, y2: 42 }),
      svg("text", { x: x(t), y: 58, "text-anchor": anchor }, clock(t))));
  }
  box.replaceChildren(svg("svg", { viewBox: `0 0 ${W} 64`, width: W, height: 64, class: "timeline", "aria-hidden": "true", focusable: "false" },
    svg("rect", { x: pad, y: 20, width: plot, height: 4, class: "track" }), speech, pauses, ticks));
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

const DIMENSIONS = ["overall", "content", "structure", "delivery"];
const SKIP = new Set(["id", "question_id", "turn_id", "position", "at", "version", "scores", "dimensions", "question",
  "text", "type", "difficulty", "key_points", "engine", "provider", "on_topic", "answer", "answer_seconds", "fillers",
  ...DIMENSIONS]);
const LABELS = { fix: "One thing to fix", one_thing_to_fix: "One thing to fix", to_fix: "One thing to fix",
  sample_answer: "A stronger answer", stronger_answer: "A stronger answer", sample: "A stronger answer",
  outline: "Outline of a stronger answer", feedback: "Feedback", transcript: "Your answer" };
const human = (key) => LABELS[key] || (key[0].toUpperCase() + key.slice(1)).replaceAll("_", " ");
const scoreOf = (v) => (typeof v === "number" ? v : v && typeof v === "object" && typeof v.score === "number" ? v.score : null);

// The per-question breakdown, whatever the report names it and whichever fields its entries carry.
function breakdownOf(report) {
  for (const key of ["per_question", "breakdown", "questions", "answers"]) {
    const v = report[key];
    if (Array.isArray(v) && v.length && v[0] && typeof v[0] === "object") return v;
  }
  return [];
}

function fieldNode(key, value) {
  if (value === null || value === undefined || value === "") return null;
  if (Array.isArray(value)) {
    const items = value.filter((v) => typeof v === "string" || typeof v === "number");
    return items.length ? el("div", { class: "q-field" }, el("strong", { text: `${human(key)}:` }),
      el("ul", {}, items.map((t) => el("li", { text: String(t) })))) : null;
  }
  if (typeof value === "object") return null;
  return el("p", { class: "q-field" }, el("strong", { text: `${human(key)}: ` }), String(value));
}

// The answer as said, its filler words marked as in the transcript.
function answerNode(item) {
  if (!item.answer) return null;
  const fillers = new Set((item.fillers || []).map((f) => String(f).toLowerCase()));
  const p = el("p", { class: "q-field q-answer" },
    el("strong", { text: `Your answer${item.answer_seconds ? ` (${secs(item.answer_seconds)})` : ""}: ` }));
  for (const part of String(item.answer).split(/(\s+)/)) {
    const bare = part.toLowerCase().replace(/[^a-z']/g, "");
    p.append(bare && fillers.has(bare) ? el("mark", { class: "filler", text: part }) : part);
  }
  return p;
}

export function renderBreakdown(items) {
  if (!items.length) return null;
  return el("div", { class: "breakdown" }, el("h3", { text: "Question by question" }), items.map((item, i) => {
    const q = item.question;
    const text = typeof q === "string" ? q : (q && q.text) || item.text || "";
    const dims = item.scores || item.dimensions || item;
    const scores = DIMENSIONS.map((d) => [d, scoreOf(dims[d])]).filter(([, v]) => v !== null);
    return el("section", { class: "q-breakdown", "data-question": String(i + 1) },
      el("h4", { text: `Question ${i + 1}${text ? `: ${text}` : ""}` }),
      item.on_topic === false ? el("p", { class: "badge failed", text: "Off topic: this answer did not address the question" }) : null,
      scores.length ? el("p", { class: "q-scores" }, scores.map(([d, v], n) =>
        el("span", { text: `${n ? " · " : ""}${human(d)} ${Math.round(v)}` }))) : null,
      Object.entries(item).filter(([k]) => !SKIP.has(k) && !k.endsWith("_id")).map(([k, v]) => fieldNode(k, v)),
      answerNode(item));
  }));
}

// What of the job description the answers covered (any report field about the job description).
function coverageOf(report) {
  const key = Object.keys(report).find((k) => /job_description|jd_|coverage/.test(k));
  const v = key ? report[key] : null;
  if (!v) return null;
  const title = "What of the job description your answers covered";
  if (typeof v === "string") return el("div", { class: "coverage" }, el("h3", { text: title }), el("p", { text: v }));
  if (Array.isArray(v)) return list(title, v.map((t) => (typeof t === "object" ? JSON.stringify(t) : t)));
  const terms = (key, label) => (Array.isArray(v[key]) && v[key].length
    ? el("p", { class: "q-field" }, el("strong", { text: `${label}: ` }), v[key].join(", ")) : null);
  return el("div", { class: "coverage" }, el("h3", { text: title }),
    v.summary ? el("p", { text: String(v.summary) }) : null,
    terms("covered", "Covered"), terms("missing", "Not covered yet"));
}

// A report (issue 3's /report) or the session summary job's result: both carry these fields.
export function renderReport(box, report) {
  const dims = report.dimensions || report.scores || {};
  const d = report.delivery || {};
  const overall = report.overall_score;
  fill(box,
    el("p", { class: "overall", text: overall === null || overall === undefined ? "No answers were scored."
      : `Overall score: ${Math.round(overall)}/100` }),
    report.answered !== undefined ? el("p", { class: "muted", text: `${plural(report.answered, "answer")} scored.` }) : null,
    Object.keys(dims).length ? el("div", { class: "scores" }, Object.entries(dims)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => scoreBar(k[0].toUpperCase() + k.slice(1), typeof v === "object" ? v.score : v, null))) : null,
    d.words_per_minute !== undefined ? el("p", { text: `Average pace ${Math.round(d.words_per_minute || 0)} wpm, `
      + `${plural(d.filler_count ?? 0, "filler word")}, ${plural(d.long_pauses ?? 0, "pause")} of 3 s or more.` }) : null,
    list("Strengths", report.strengths),
    list("To work on", report.weaknesses),
    list("Recommendations", report.recommendations),
    coverageOf(report),
    renderBreakdown(breakdownOf(report)),
  );
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
