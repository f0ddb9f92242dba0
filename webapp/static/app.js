// The practice page: sign in, pick a session (tailored to a job description or resume if you like),
// answer by voice (re-record any answer; a silent one is refused), watch it being processed, read the
// figures and scores, end the session, read the report, export it, reopen past sessions, see progress.
// A session in progress survives a reload: its id and token are kept in localStorage.

import { ApiError, api, auth, describeError } from "./api.js";
import { follow } from "./stream.js";
import * as recorder from "./recorder.js";
import * as liveTurn from "./live.js";
import { appendSegment, renderFigures, renderPace, renderPauses, renderScores, renderTranscript } from "./render.js";
import { normalize, renderChart } from "./chart.js";
import { renderHistory, saved, waitForJob, wireResumes } from "./history.js";
import { initReport } from "./report.js";

const $ = (id) => document.getElementById(id);
const state = { catalog: null, me: null, session: null, recording: null, result: null, stream: null, progress: null };

// What each pipeline stage is called on the page: one status, in words, never two that disagree.
const STAGES = { queued: "Waiting for a worker", decode: "Reading the audio", transcription: "Transcribing",
  delivery: "Measuring pace, fillers and pauses", scoring: "Scoring", next_question: "Choosing the next question",
  retrying: "Retrying after a passing fault" };
const stageText = (stage) => STAGES[stage] || String(stage).replaceAll("_", " ");

// ---- status and errors -------------------------------------------------------------------------

function setStatus(text) {
  $("status").textContent = text;
}

function showError(err) {
  const box = $("error");
  box.textContent = typeof err === "string" ? err : describeError(err);
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function phase(name) {
  document.body.dataset.phase = name;
}

// Run an action with its button disabled; errors are shown in words, never swallowed.
async function guarded(button, fn) {
  clearError();
  if (button) button.disabled = true;
  try {
    await fn();
  } catch (err) {
    showError(err);
    setStatus("");
    if (err instanceof ApiError && err.status === 401) signOut(false);
  } finally {
    if (button) button.disabled = false;
  }
}

function show(...ids) {
  for (const id of ["signin", "practice-setup", "practice", "report", "history", "progress"]) $(id).hidden = !ids.includes(id);
}

// ---- sign-in and set-up ------------------------------------------------------------------------

function fillSelect(select, options, value) {
  select.replaceChildren(...options.map((o) => new Option(o.label, o.value, false, o.value === value)));
}

async function loadCatalog() {
  const { data } = await api("GET", "/api/catalog", { auth: false });
  state.catalog = data;
  fillSelect($("role"), data.roles, data.defaults.job_type);
  fillSelect($("focus"), data.focus_areas, data.defaults.focus_area);
  fillSelect($("difficulty"), data.difficulties, data.defaults.difficulty);
  const count = $("count");
  Object.assign(count, { min: data.question_count.min, max: data.question_count.max, value: data.question_count.default });
}

async function signedIn() {
  const { data: me } = await api("GET", "/auth/me");
  state.me = me;
  $("whoami").textContent = me.is_guest ? "Signed in as a guest." : `Signed in as ${me.email || me.id}.`;
  $("ops-link").hidden = !me.is_admin;
  $("signout").hidden = false;
  $("history-link").hidden = false;
  toSetup();
  loadResumes();
  const kept = saved.get();
  if (kept && kept.id) await resumeSession(kept);
}

function toSetup() {
  state.session = null;
  show("practice-setup", "history", "progress");
  phase("setup");
  loadHistory();
  loadProgress();
}

function signOut(clearMessage = true) {
  auth.token = null;
  saved.set(null);
  state.me = null;
  state.session = null;
  $("signout").hidden = true;
  $("ops-link").hidden = true;
  $("history-link").hidden = true;
  $("signout-warning").hidden = true;
  show("signin");
  phase("signin");
  if (clearMessage) setStatus("Signed out.");
}

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const value = $("token").value.trim();
  if (!value) {
    showError("Paste an access token first, or continue as a guest.");
    return;
  }
  guarded($("token-signin"), async () => {
    auth.token = value;
    await signedIn();
    $("token").value = "";
    setStatus("Signed in.");
  });
});

$("guest").addEventListener("click", () => guarded($("guest"), async () => {
  const { data } = await api("POST", "/auth/guest", { auth: false });
  auth.token = data.token;
  await signedIn();
  setStatus("Signed in. Set up a practice session below.");
}));

// A guest's history is reachable only through the guest token in this browser: warn before dropping it.
$("signout").addEventListener("click", () => {
  if (!(state.me && state.me.is_guest)) {
    signOut();
    return;
  }
  $("signout-warning").hidden = false;
  $("signout-cancel").focus();
  setStatus("Signing out of a guest account loses its history; confirm or stay signed in.");
});
$("signout-cancel").addEventListener("click", () => {
  $("signout-warning").hidden = true;
  setStatus("Still signed in as a guest.");
  $("signout").focus();
});
$("signout-confirm").addEventListener("click", () => signOut());

$("setup-form").addEventListener("submit", (e) => {
  e.preventDefault();
  guarded($("start"), async () => {
    const body = {
      job_type: $("role").value, focus_area: $("focus").value, difficulty: $("difficulty").value,
      question_count: Number($("count").value),
    };
    const jd = $("jd").value.trim();
    if (jd) body.job_description = jd;
    if ($("resume").value) body.resume_id = $("resume").value;
    const { data } = await api("POST", "/session/start", { json: body });
    state.session = { id: data.session_id, token: data.token, count: data.question_count, answered: 0 };
    saved.set(state.session);
    show("practice", "progress");
    showQuestion(data.first_question);
  });
});


// ---- tailoring: the caller's resumes ------------------------------------------------------------

const loadResumes = wireResumes(guarded); // the picker and its upload (history.js)

// ---- one question ------------------------------------------------------------------------------

function showQuestion(q, { again = false } = {}) {
  state.session.question = q;
  if (!again) state.result = null;
  $("question-meta").textContent = `Question ${q.position} of ${state.session.count} · ${q.type.replace("_", " ")} · ${q.difficulty}`
    + (again ? " · recording it again (your earlier answer stays in the session's history)" : "");
  $("question-h").textContent = q.text;
  $("key-points").replaceChildren(...(q.key_points || []).map((k) => Object.assign(document.createElement("li"), { textContent: k })));
  $("answer-card").hidden = false;
  $("processing").hidden = true;
  $("results").hidden = true;
  $("end-early").hidden = false;
  $("record").disabled = false;
  $("stop").disabled = true;
  $("timer").textContent = "0:00";
  $("question-h").focus();
  phase("question");
  setStatus(again ? `Record question ${q.position} again: ${q.text}` : `Question ${q.position}: ${q.text}`);
}

let timer = 0;

$("record").addEventListener("click", () => guarded(null, async () => {
  if (!recorder.supported()) throw new Error("this browser cannot record audio; upload a recording instead");
  $("record").disabled = true;
  try {
    const live = liveTurn.begin(state.session, { onStatus: setStatus }); // words while speaking (live.js)
    state.recording = await recorder.start({ onLevel: (v) => { $("level-bar").style.width = `${Math.round(v * 100)}%`; },
      onChunk: live.push });
    state.recording.live = live;
  } catch (err) {
    $("record").disabled = false;
    throw err;
  }
  const began = Date.now();
  $("timer").textContent = "0:00";
  timer = setInterval(() => {
    const s = Math.floor((Date.now() - began) / 1000);
    $("timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }, 250);
  $("stop").disabled = false;
  $("stop").focus();
  phase("recording");
  setStatus("Recording. Answer the question, then press Stop and submit.");
}));

$("stop").addEventListener("click", () => guarded($("stop"), async () => {
  clearInterval(timer);
  const rec = state.recording;
  state.recording = null;
  if (!rec) return;
  const blob = await rec.stop();
  await submitAnswer(blob, `answer.${recorder.extensionFor(rec.mimeType)}`, rec.live);
}));

$("upload").addEventListener("click", () => guarded($("upload"), async () => {
  const file = $("file").files[0];
  if (!file) throw new Error("choose an audio file first");
  await submitAnswer(file, file.name);
}));

async function submitAnswer(blob, name, live = null) {
  const s = state.session;
  const form = new FormData();
  form.append("audio", blob, name);
  form.append("question_id", s.question.id);
  // The session token when we have it; a session reopened from the history uses the sign-in token.
  if (!s.token) form.append("session_id", s.id);
  $("record").disabled = true;
  setStatus(live ? "Finishing the live answer…" : "Uploading your answer…");
  let links = live ? await live.finish() : null; // null: the live path failed, upload it whole
  try {
    if (!links) ({ data: links } = await api("POST", "/turn", s.token
      ? { form, auth: false, headers: { "X-Session-Token": s.token } } : { form }));
  } catch (err) {
    $("record").disabled = false;
    throw err;
  }
  $("answer-card").hidden = true;
  $("processing").hidden = false;
  $("transcript").replaceChildren();
  $("progress-bar").value = 0;
  $("stage-label").textContent = `${stageText("queued")}…`;
  phase("processing");
  setStatus("Answer uploaded; waiting for a worker.");
  const seen = new Set();
  let stage = "queued";
  state.stream = follow(links, {
    onStatus: setStatus,
    onEvent: (type, data) => {
      if (type === "partial" && data.segment && !seen.has(data.segment.id)) {
        seen.add(data.segment.id);
        appendSegment($("transcript"), data.segment);
      } else if (type === "progress") {
        // One status: the label under the bar and the announced status name the same stage.
        const pct = Math.round((data.pct || 0) * 100);
        $("progress-bar").value = pct;
        $("stage-label").textContent = `${stageText(data.stage)}… ${pct}%`;
        if (data.stage !== stage) setStatus(`${stageText(data.stage)}…`);
        stage = data.stage;
      }
    },
  });
  try {
    showResult(await state.stream.done);
  } catch (err) {
    // Refused (no speech) or failed: back to the same question, which is still open.
    $("answer-card").hidden = false;
    $("processing").hidden = true;
    $("record").disabled = false;
    $("timer").textContent = "0:00";
    phase("question");
    throw err;
  }
}

function showResult(result) {
  state.result = result;
  if ((result.attempt || 1) === 1) state.session.answered += 1;
  const d = result.delivery;
  $("answer-card").hidden = true;
  $("processing").hidden = false;
  $("progress-bar").value = 100;
  $("stage-label").textContent = "Done.";
  renderTranscript($("transcript"), result.segments, d.fillers.items);
  renderFigures($("figures"), d);
  $("results").hidden = false; // shown before drawing: drawings are laid out at their shown width
  drawResult();
  renderScores($("scores"), result.scores);
  $("end-early").hidden = true;
  $("next").hidden = !result.next_question;
  $("end").className = result.next_question ? "secondary" : "";
  phase("result");
  setStatus(`Scored: overall ${Math.round(result.scores.overall)} out of 100. `
    + `${Math.round(d.words_per_minute)} words per minute, ${d.fillers.count} filler word${d.fillers.count === 1 ? "" : "s"}.`
    + (result.next_question ? "" : " That was the last question; end the session for your report."));
  (result.next_question ? $("next") : $("end")).focus();
}

function drawResult() {
  const result = state.result;
  if (!result || $("results").hidden) return;
  renderPace($("pace"), $("pace-desc"), result.delivery.words_per_minute, state.catalog.wpm_band);
  renderPauses($("pauses"), $("pauses-desc"), result.segments, result.delivery);
}

$("next").addEventListener("click", () => {
  clearError();
  if (state.result && state.result.next_question) showQuestion(state.result.next_question);
});

// Record the same question again: the new answer is scored; the earlier one stays in the history.
$("rerecord").addEventListener("click", () => {
  clearError();
  if (state.session && state.session.question) showQuestion(state.session.question, { again: true });
});

// ---- end, report, export (report.js) -------------------------------------------------------------

const report = initReport({ state, guarded, setStatus, showError, show, phase, saved,
  stopRecording: () => {
    if (state.recording) state.recording.cancel();
    state.recording = null;
    clearInterval(timer);
  },
  refresh: () => { loadHistory(); loadProgress(); } });
$("end").addEventListener("click", () => report.endSession($("end")));
$("end-now").addEventListener("click", () => report.endSession($("end-now")));



$("again").addEventListener("click", () => {
  saved.set(null);
  toSetup();
  $("role").focus();
});

// ---- resuming a session in progress, and the history of past sessions --------------------------------

// Reopen a session that is still active (after a reload, or from the history) where it was left.
async function resumeSession(kept) {
  let data;
  try {
    ({ data } = await api("GET", `/session/${kept.id}`, kept.token
      ? { auth: false, headers: { "X-Session-Token": kept.token } } : {}));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 401)) {
      saved.set(null);
      return;
    }
    throw err;
  }
  if (data.status !== "active" || !data.current_question) {
    saved.set(null);
    return;
  }
  const pending = data.turns.find((t) => t.status === "queued" || t.status === "running");
  if (pending && pending.job_id) {
    setStatus("Your last answer is still being processed…");
    await waitForJob(pending.job_id);
    ({ data } = await api("GET", `/session/${kept.id}`, kept.token
      ? { auth: false, headers: { "X-Session-Token": kept.token } } : {}));
  }
  const answered = new Set(data.turns.filter((t) => t.status === "succeeded").map((t) => t.question_id));
  state.session = { id: data.session_id, token: kept.token || null, count: data.question_count, answered: answered.size };
  saved.set(state.session);
  show("practice", "progress");
  const q = data.current_question;
  const done = data.turns.filter((t) => t.status === "succeeded" && t.question_id === q.id).pop();
  if (done) {
    // The current question is answered and is the last one: its result, with End session.
    state.session.question = q;
    state.session.answered -= 1; // showResult counts it again
    showQuestion(q);
    showResult({ ...done, next_question: null, attempt: 1 });
  } else {
    showQuestion(q);
  }
  setStatus(`Resumed your session: question ${q.position} of ${data.question_count}. ${q.text}`);
}

function loadHistory() {
  return renderHistory($("history-list"), {
    resume: (id, button) => guarded(button, () => resumeSession(id === (saved.get() || {}).id ? saved.get() : { id })),
    open: (id, button) => guarded(button, () => report.openReport(id)),
  });
}


// ---- progress ----------------------------------------------------------------------------------

async function loadProgress() {
  try {
    const { data } = await api("GET", "/api/progress");
    state.progress = normalize(data);
    renderChart($("chart"), $("progress-table"), state.progress);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      renderChart($("chart"), $("progress-table"), []);
    } else {
      $("chart").textContent = `Progress is unavailable: ${describeError(err)}`;
    }
  }
}

// Drawings are laid out at their shown width: draw them again when that changes.
let resizeTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    drawResult();
    if (state.progress && !$("progress").hidden) renderChart($("chart"), $("progress-table"), state.progress);
  }, 150);
});

// ---- start -------------------------------------------------------------------------------------

async function init() {
  phase("loading");
  try {
    await loadCatalog();
  } catch (err) {
    showError(err);
    return;
  }
  if (auth.token) {
    await guarded(null, signedIn);
    if (state.me) return;
  }
  show("signin");
  phase("signin");
}

init();
