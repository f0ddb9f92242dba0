// What the page keeps and lists besides the answer at hand: the session in progress (across reloads),
// the caller's past sessions (the history), and the caller's resumes (for tailored practice).

import { api, describeError } from "./api.js";
import { el } from "./render.js";
import { follow } from "./stream.js";

// The session in progress, kept across reloads (never the answers themselves: the server has those).
const SESSION_KEY = "voicemock.session";
export const saved = {
  get() {
    try { return JSON.parse(localStorage.getItem(SESSION_KEY)); } catch (e) { return null; }
  },
  set(s) {
    if (s) localStorage.setItem(SESSION_KEY, JSON.stringify({ id: s.id, token: s.token, count: s.count }));
    else localStorage.removeItem(SESSION_KEY);
  },
};

export const dateText = (iso) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "");

// The caller's voice sessions, newest first: "Resume" for one in progress, "Open report" for the others.
export async function renderHistory(box, { resume, open }) {
  try {
    const { data } = await api("GET", "/api/interviews?mode=voice&per_page=20");
    const rows = data.interviews || [];
    if (!rows.length) {
      box.replaceChildren(el("p", { class: "muted", text: "No sessions yet: the ones you practise are listed here." }));
      return;
    }
    box.replaceChildren(el("ul", { class: "history-list" }, rows.map((i) => {
      const active = i.status === "active";
      const score = i.overall_score === null || i.overall_score === undefined ? "" : ` · overall ${Math.round(i.overall_score)}/100`;
      const title = i.title || i.job_type || "Practice session";
      const button = el("button", { type: "button", class: "secondary", "data-session": i.id,
        "aria-label": `${active ? "Resume" : "Open report of"} ${title}, ${dateText(i.created_at)}`,
        text: active ? "Resume" : "Open report" });
      button.addEventListener("click", () => (active ? resume : open)(i.id, button));
      return el("li", { "data-session": i.id },
        el("div", {}, el("strong", { text: title }),
          el("div", { class: "meta", text: `${dateText(i.created_at)} · ${active ? "in progress" : "ended"}${score}` })),
        button);
    })));
  } catch (err) {
    box.replaceChildren(el("p", { class: "muted", text: `History is unavailable: ${describeError(err)}` }));
  }
}

// Fill the resume picker with the caller's parsed resumes; `select` picks one.
export async function listResumes(select, selectId) {
  const { data } = await api("GET", "/api/resume?limit=50");
  const ready = (data.resumes || []).filter((r) => r.status === "ready");
  select.replaceChildren(new Option("No resume", ""), ...ready.map((r) => new Option(r.name || r.title || r.filename || r.id, r.id)));
  if (selectId) select.value = selectId;
}

// The resume picker (#resume) and its upload control; returns loadResumes(selectId?) to refill it.
export function wireResumes(guarded) {
  const say = (t) => { document.getElementById("resume-status").textContent = t; };
  const loadResumes = async (selectId) => {
    try {
      await listResumes(document.getElementById("resume"), selectId);
    } catch (err) {
      say(`Resumes are unavailable: ${describeError(err)}`);
    }
  };
  const button = document.getElementById("resume-upload-button");
  button.addEventListener("click", () => guarded(button, async () => {
    const file = document.getElementById("resume-file").files[0];
    if (!file) throw new Error("choose a PDF or DOCX resume first");
    await loadResumes(await uploadResume(file, say));
    say(`${file.name} is ready and selected.`);
  }));
  return loadResumes;
}

// Upload a PDF/DOCX resume and wait for it to be parsed; resolves to its id.
export async function uploadResume(file, say) {
  const form = new FormData();
  form.append("file", file, file.name);
  say("Uploading your resume…");
  const { data: links } = await api("POST", "/api/resume/upload", { form });
  say("Reading your resume…");
  await follow(links, { onStatus: say }).done;
  return links.resume_id;
}

// Poll a job until it is finished (an answer still being processed when the page was reloaded).
export async function waitForJob(jobId) {
  for (;;) {
    const { data: job } = await api("GET", `/api/jobs/${jobId}`);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 1000));
  }
}
