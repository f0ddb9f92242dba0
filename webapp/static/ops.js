// The operator view: queue depths, running and failed jobs (every user's) with retry, retention receipts.

import { ApiError, api, auth, describeError } from "./api.js";
import { el } from "./render.js";

const $ = (id) => document.getElementById(id);
auth.key = "voicemock.ops.token"; // never the practice page's identity (see api.js)
const REFRESH_MS = 10_000;
let refreshTimer = 0;

function setStatus(text) { $("status").textContent = text; }
function showError(err) {
  $("error").textContent = typeof err === "string" ? err : describeError(err);
  $("error").hidden = false;
}
function clearError() { $("error").hidden = true; }

function table(caption, headers, rows, empty) {
  if (!rows.length) return el("p", { class: "muted", text: empty });
  return el("table", {}, el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows));
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
const count = (v) => (v === null || v === undefined ? "n/a" : String(v));

function renderQueues(data) {
  $("queues").replaceChildren(table(`Broker: ${data.broker}. Ready, delayed and dead messages per queue; job rows by status.`,
    ["Queue", "Ready", "Delayed", "Dead letters", "Jobs queued", "Jobs running"],
    data.queues.map((q) => el("tr", {}, el("th", { scope: "row", text: q.name }),
      [q.ready, q.delayed, q.dead, q.jobs_queued, q.jobs_running].map((v) => el("td", { text: count(v) })))),
    "No queues."));
}

function jobRows(jobs, withRetry) {
  return jobs.map((j) => {
    const err = j.error ? `[${j.error.stage}] ${j.error.message}` : j.stage || "";
    const cells = [
      el("td", { class: "id", text: j.id }), el("td", { text: j.kind }), el("td", { text: j.user_email || j.user_id || "–" }),
      el("td", { text: String(j.attempts) }), el("td", { class: "wrap", text: err }),
      el("td", { text: when(j.finished_at || j.started_at || j.created_at) }),
    ];
    if (withRetry) {
      const b = el("button", { type: "button", class: "secondary", "aria-label": `Retry job ${j.id}`, text: "Retry" });
      b.addEventListener("click", () => retry(j.id, b));
      cells.push(el("td", {}, b));
    }
    return el("tr", { "data-job": j.id }, cells);
  });
}

async function retry(id, button) {
  clearError();
  button.disabled = true;
  try {
    const { data } = await api("POST", `/api/ops/jobs/${id}/retry`);
    setStatus(`Job ${id} re-queued${data.sent ? "" : " (the sweeper will send it when the broker is back)"}.`);
    await refresh();
  } catch (err) {
    button.disabled = false;
    showError(err);
  }
}

function renderReceipts(data) {
  const rows = Array.isArray(data) ? data : (data && (data.receipts || data.items)) || [];
  if (!rows.length) {
    $("receipts").replaceChildren(el("p", { class: "muted", text: "None yet." }));
    return;
  }
  const keys = Object.keys(rows[0]).slice(0, 6);
  const fmt = (v) => (v && typeof v === "object" ? JSON.stringify(v) : v === null || v === undefined ? "–" : String(v));
  $("receipts").replaceChildren(table("The most recent retention runs", keys,
    rows.slice(0, 10).map((r) => el("tr", {}, keys.map((k) => el("td", { class: "wrap", text: fmt(r[k]) })))), "None yet."));
}

async function refresh() {
  const [queues, running, failed] = await Promise.all([
    api("GET", "/api/ops/queues"),
    api("GET", "/api/ops/jobs?status=running"),
    api("GET", "/api/ops/jobs?status=failed"),
  ]);
  renderQueues(queues.data);
  $("running").replaceChildren(table("Jobs running now, every user", ["Job", "Kind", "User", "Attempts", "Stage", "Started"],
    jobRows(running.data.jobs, false), "No jobs running."));
  $("failed").replaceChildren(table("Failed jobs (dead letters), newest first", ["Job", "Kind", "User", "Attempts", "Error", "Failed", "Action"],
    jobRows(failed.data.jobs, true), "No failed jobs."));
  try {
    renderReceipts((await api("GET", "/api/retention/receipts?limit=10")).data);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) renderReceipts([]);
    else $("receipts").replaceChildren(el("p", { class: "muted", text: `Unavailable: ${describeError(err)}` }));
  }
  $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

async function enter() {
  const { data: me } = await api("GET", "/auth/me");
  if (!me.is_admin) {
    $("signin").hidden = false;
    showError("This view is for administrators only; sign in with an administrator's token.");
    return;
  }
  $("signin").hidden = true;
  $("ops").hidden = false;
  document.body.dataset.phase = "ops";
  await refresh();
  clearInterval(refreshTimer);
  refreshTimer = setInterval(() => refresh().catch(showError), REFRESH_MS);
}

async function start(fn) {
  clearError();
  try {
    await fn();
  } catch (err) {
    showError(err);
    if (err instanceof ApiError && err.status === 401) {
      auth.token = null;
      $("signin").hidden = false;
      $("ops").hidden = true;
    }
  }
}

$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  auth.token = $("token").value.trim();
  $("token").value = "";
  start(enter);
});
$("refresh").addEventListener("click", () => start(refresh));

// An administrator already signed in on the practice page is let in with that token (read, never
// replaced: /ops keeps its own copy under its own key); anyone else signs in here.
async function adoptPracticeSignIn() {
  const practice = localStorage.getItem("voicemock.token");
  if (!practice) return false;
  try {
    const { data: me } = await api("GET", "/auth/me", { auth: false, headers: { Authorization: `Bearer ${practice}` } });
    if (!me.is_admin) return false;
  } catch (err) {
    return false;
  }
  auth.token = practice;
  return true;
}

if (auth.token) start(enter);
else adoptPracticeSignIn().then((ok) => (ok ? start(enter) : ($("signin").hidden = false)));
