// The practice page: sign in, pick a session, answer by voice, watch the answer being processed,
// read the figures and scores, end the session, read the report, export it, and see progress.

import { ApiError, api, auth, describeError, download } from "./api.js";
import { follow } from "./stream.js";
import * as recorder from "./recorder.js";
import * as liveTurn from "./live.js";
import { appendSegment, renderFigures, renderPace, renderPauses, renderReport, renderScores, renderTranscript } from "./render.js";
import { normalize, renderChart } from "./chart.js";

const $ = (id) => document.getElementById(id);
const state = { catalog: null, me: null, session: null, recording: null, result: null, stream: null };

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
  for (const id of ["signin", "practice-setup", "practice", "report", "progress"]) $(id).hidden = !ids.includes(id);
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
  show("practice-setup", "progress");
  phase("setup");
  loadProgress();
}

function signOut(clearMessage = true) {
  auth.token = null;
  state.me = null;
  state.session = null;
  $("signout").hidden = true;
  $("ops-link").hidden = true;
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
  setStatus("Signed in as a guest.");
}));

$("signout").addEventListener("click", () => signOut());

$("setup-form").addEventListener("submit", (e) => {
  e.preventDefault();
  guarded($("start"), async () => {
    const body = {
      job_type: $("role").value, focus_area: $("focus").value, difficulty: $("difficulty").value,
      question_count: Number($("count").value),
    };
    const { data } = await api("POST", "/session/start", { json: body });
    state.session = { id: data.session_id, token: data.token, count: data.question_count, answered: 0 };
    show("practice", "progress");
    showQuestion(data.first_question);
  });
});

// ---- one question ------------------------------------------------------------------------------

function showQuestion(q) {
  state.session.question = q;
  state.result = null;
  $("question-meta").textContent = `Question ${q.position} of ${state.session.count} · ${q.type.replace("_", " ")} · ${q.difficulty}`;
  $("question-h").textContent = q.text;
  $("key-points").replaceChildren(...(q.key_points || []).map((k) => Object.assign(document.createElement("li"), { textContent: k })));
  $("answer-card").hidden = false;
  $("processing").hidden = true;
  $("results").hidden = true;
  $("end-early").hidden = false;
  $("record").disabled = false;
  $("stop").disabled = true;
  $("question-h").focus();
  phase("question");
  setStatus(`Question ${q.position}: ${q.text}`);
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
  $("record").disabled = true;
  setStatus(live ? "Finishing the live answer…" : "Uploading your answer…");
  let links = live ? await live.finish() : null; // null: the live path failed, upload it whole
  try {
    if (!links) ({ data: links } = await api("POST", "/turn", { form, auth: false, headers: { "X-Session-Token": s.token } }));
  } catch (err) {
    $("record").disabled = false;
    throw err;
  }
  $("answer-card").hidden = true;
  $("processing").hidden = false;
  $("transcript").replaceChildren();
  $("progress-bar").value = 0;
  $("stage-label").textContent = "Queued…";
  phase("processing");
  setStatus("Answer uploaded; transcribing.");
  const seen = new Set();
  state.stream = follow(links, {
    onStatus: setStatus,
    onEvent: (type, data) => {
      if (type === "partial" && data.segment && !seen.has(data.segment.id)) {
        seen.add(data.segment.id);
        appendSegment($("transcript"), data.segment);
      } else if (type === "progress") {
        $("progress-bar").value = Math.round((data.pct || 0) * 100);
        $("stage-label").textContent = data.stage === "retrying" ? "Retrying after a passing fault…"
          : `Stage: ${String(data.stage).replace("_", " ")} (${Math.round((data.pct || 0) * 100)}%)`;
        if (data.stage !== "transcription") setStatus(`Processing: ${String(data.stage).replace("_", " ")}.`);
      }
    },
  });
  try {
    showResult(await state.stream.done);
  } catch (err) {
    $("answer-card").hidden = false;
    $("record").disabled = false;
    phase("question");
    throw err;
  }
}

function showResult(result) {
  state.result = result;
  state.session.answered += 1;
  const d = result.delivery;
  $("progress-bar").value = 100;
  $("stage-label").textContent = "Done.";
  renderTranscript($("transcript"), result.segments, d.fillers.items);
  renderFigures($("figures"), d);
  renderPace($("pace"), $("pace-desc"), d.words_per_minute, state.catalog.wpm_band);
  renderPauses($("pauses"), $("pauses-desc"), result.segments, d);
  renderScores($("scores"), result.scores);
  $("results").hidden = false;
  $("end-early").hidden = true;
  $("next").hidden = !result.next_question;
  $("end").className = result.next_question ? "secondary" : "";
  phase("result");
  setStatus(`Scored: overall ${Math.round(result.scores.overall)} out of 100. `
    + `${Math.round(d.words_per_minute)} words per minute, ${d.fillers.count} filler word${d.fillers.count === 1 ? "" : "s"}.`
    + (result.next_question ? "" : " That was the last question; end the session for your report."));
  (result.next_question ? $("next") : $("end")).focus();
}

$("next").addEventListener("click", () => {
  clearError();
  if (state.result && state.result.next_question) showQuestion(state.result.next_question);
});

// ---- end, report, export -----------------------------------------------------------------------

async function endSession(button) {
  await guarded(button, async () => {
    const s = state.session;
    if (state.recording) state.recording.cancel();
    clearInterval(timer);
    setStatus("Ending the session and writing your summary…");
    const { data: links } = await api("POST", `/session/${s.id}/end`);
    const summary = await follow(links, { onStatus: setStatus }).done;
    show("report", "progress");
    renderReport($("report-body"), summary);
    $("report-h").focus();
    // The export renders the full report; let it be written first rather than computed twice at once.
    $("pdf").disabled = true;
    $("pdf-status").textContent = "Preparing the full report…";
    setStatus("Your session summary is ready; preparing the full report…");
    try {
      await loadReport(s.id, summary);
    } finally {
      $("pdf").disabled = false;
      $("pdf-status").textContent = "";
    }
    phase("report");
    setStatus("Your session report is ready.");
    loadProgress();
  });
}

$("end").addEventListener("click", () => endSession($("end")));
$("end-now").addEventListener("click", () => endSession($("end-now")));

// The full report (when the server has one) supersedes the summary; while it is computed: 202 + job.
async function loadReport(id, summary) {
  try {
    let { status, data } = await api("GET", `/api/interviews/${id}/report`);
    if (status === 202) {
      await follow(data, { onStatus: setStatus }).done;
      ({ data } = await api("GET", `/api/interviews/${id}/report`));
    }
    renderReport($("report-body"), { ...summary, ...data });
  } catch (err) {
    if (!(err instanceof ApiError && (err.status === 404 || err.status === 405))) showError(err);
  }
}

$("pdf").addEventListener("click", () => guarded($("pdf"), async () => {
  const id = state.session.id;
  $("pdf-status").textContent = "Preparing the PDF…";
  let links;
  try {
    ({ data: links } = await api("POST", `/api/interviews/${id}/export?format=pdf`));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      $("pdf-status").textContent = "PDF export is not available on this server yet.";
      return;
    }
    $("pdf-status").textContent = "";
    throw err;
  }
  await follow(links, { onStatus: (t) => { $("pdf-status").textContent = t; } }).done;
  const name = await download(`/api/jobs/${links.job_id}/artifact`, `voicemock-${id}.pdf`);
  $("pdf-status").textContent = `Downloaded ${name}.`;
  setStatus(`Downloaded ${name}.`);
}));

$("again").addEventListener("click", () => {
  state.session = null;
  show("practice-setup", "progress");
  phase("setup");
  $("role").focus();
});

// ---- progress ----------------------------------------------------------------------------------

async function loadProgress() {
  try {
    const { data } = await api("GET", "/api/progress");
    renderChart($("chart"), $("progress-table"), normalize(data));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      renderChart($("chart"), $("progress-table"), []);
    } else {
      $("chart").textContent = `Progress is unavailable: ${describeError(err)}`;
    }
  }
}

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
