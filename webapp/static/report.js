// The end of a session and its report: end it (the summary job), show the full report when it is
// written (202 + a job while it is computed), export it as a PDF, and reopen a past session's report.
//
// initReport(deps) → {endSession(button), openReport(id)}; deps are app.js's state and helpers.

import { ApiError, api, download } from "./api.js";
import { el, renderReport } from "./render.js";
import { follow } from "./stream.js";

const $ = (id) => document.getElementById(id);

export function initReport({ state, guarded, setStatus, showError, show, phase, saved, stopRecording, refresh }) {
  // The full report (when the server has one) supersedes the summary.
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

  async function endSession(button) {
    await guarded(button, async () => {
      const s = state.session;
      stopRecording();
      setStatus("Ending the session and writing your summary…");
      const { data: links } = await api("POST", `/session/${s.id}/end`);
      saved.set(null);
      const summary = await follow(links, { onStatus: setStatus }).done;
      show("report", "history", "progress");
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
      refresh();
    });
  }

  // A past session's report, reopened from the history (the PDF button exports it).
  async function openReport(id) {
    state.session = { id, token: null, count: 0, answered: 0 };
    show("report", "history", "progress");
    $("report-body").replaceChildren(el("p", { class: "muted", text: "Loading the report…" }));
    $("pdf-status").textContent = "";
    $("report-h").focus();
    setStatus("Loading the report…");
    await loadReport(id, {});
    phase("report");
    setStatus("The session report is open.");
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
    const name = await download(`/api/jobs/${links.job_id}/artifact`, "voicemock-report.pdf");
    $("pdf-status").textContent = `Downloaded ${name}.`;
    setStatus(`Downloaded ${name}.`);
  }));

  return { endSession, openReport };
}
