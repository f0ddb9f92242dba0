// Live answers: the recording goes to the server while it is made (numbered chunks of a live turn),
// the words appear as they are spoken (committed text, then the tentative tail in grey), with a
// live pace meter and filler count; on stop only the tail is left to transcribe, so the scores come
// right away. If anything on the live path fails (network, server, worker) the caller falls back to
// uploading the whole recording, and the page says so.
//
// begin(session, {onStatus}) → {push(blob), finish(): Promise<links|null>, cancel(), failed}
// app.js passes push as the recorder's onChunk and asks finish() for the turn's links on stop.

import { ApiError, api, auth } from "./api.js";
import { follow } from "./stream.js";

const RETRIES = 3;

function headersFor(session) {
  if (session.token) return { "X-Session-Token": session.token };
  return auth.token ? { Authorization: `Bearer ${auth.token}` } : {};
}

function panel() {
  let box = document.getElementById("live");
  if (!box) {
    box = document.createElement("section");
    box.id = "live";
    box.className = "live";
    box.setAttribute("aria-label", "Live transcript");
    box.innerHTML = '<p class="live-meta"><span id="live-pace">— words per minute</span> · '
      + '<span id="live-fillers">0 filler words</span></p>'
      + '<p id="live-text" class="transcript"><span class="committed"></span> <span class="tentative"></span></p>';
    const card = document.getElementById("answer-card");
    (card || document.body).appendChild(box);
  }
  box.hidden = false;
  box.querySelector(".committed").textContent = "";
  box.querySelector(".tentative").textContent = "";
  return box;
}

function show(box, data) {
  box.querySelector(".committed").textContent = data.committed || "";
  const tail = box.querySelector(".tentative");
  tail.textContent = data.tentative || "";
  tail.style.opacity = "0.55";
  tail.style.fontStyle = "italic";
  const d = data.delivery || {};
  if (d.words_per_minute) {
    const band = d.wpm_band ? ` (${d.wpm_band})` : "";
    box.querySelector("#live-pace").textContent = `${Math.round(d.words_per_minute)} words per minute${band}`;
  }
  const n = d.fillers || 0;
  box.querySelector("#live-fillers").textContent = `${n} filler word${n === 1 ? "" : "s"}`;
}

// Said where the person looks after stop (the processing card), not only in the passing status line.
function note(text) {
  let p = document.getElementById("live-note");
  if (!p) {
    p = document.createElement("p");
    p.id = "live-note";
    p.className = "note";
    p.setAttribute("role", "status");
    const processing = document.getElementById("processing");
    (processing || document.body).prepend(p);
  }
  p.textContent = text || "";
  p.hidden = !text;
}

async function postChunk(url, headers, blob) {
  for (let attempt = 1; ; attempt += 1) {
    let resp;
    try {
      resp = await fetch(url, { method: "POST", headers: { ...headers, "Content-Type": "application/octet-stream" }, body: blob });
    } catch (e) {
      resp = null; // network: try again
    }
    if (resp && resp.ok) return;
    if (resp && resp.status < 500 && resp.status !== 429) {
      let msg = `the server refused a chunk (${resp.status})`;
      try { msg = (await resp.json()).error || msg; } catch (e) { /* not JSON */ }
      throw new ApiError(msg, { status: resp.status, stage: "upload" });
    }
    if (attempt >= RETRIES) throw new ApiError("the live upload lost its connection", { stage: "network" });
    await new Promise((r) => setTimeout(r, 300 * attempt));
  }
}

export function begin(session, { onStatus = () => {} } = {}) {
  const headers = headersFor(session);
  const blobs = [];
  let turn = null;
  let failed = null;
  let chain = Promise.resolve();
  let stream = null;
  const box = panel();
  note("");

  const fail = (err) => {
    if (!failed) failed = err instanceof Error ? err : new Error(String(err));
  };

  const opened = api("POST", `/session/${session.id}/turns`, {
    json: { question_id: session.question.id }, auth: !session.token, headers,
  }).then(({ data }) => {
    turn = data;
    stream = follow(data, {
      onEvent: (type, ev) => {
        if (type === "partial" && ev.stage === "live") show(box, ev);
        else if (type === "failed" || type === "cancelled") fail(new Error("the live transcription stopped"));
      },
    });
    stream.done.catch(fail);
  }).catch(fail);

  const send = (seq, blob) => {
    chain = chain.then(async () => {
      await opened;
      if (failed || !turn) return;
      await postChunk(`${turn.chunk_url}?seq=${seq}`, headers, blob);
    }).catch(fail);
  };

  return {
    get failed() { return failed; },
    push(blob) {
      blobs.push(blob);
      send(blobs.length - 1, blob);
    },
    // The turn's links once it is finished; null when the live path failed (the caller uploads).
    async finish() {
      box.hidden = true; // the answer card gives way to the results; a stale live text must not linger
      await opened;
      await chain;
      if (stream) stream.close();
      if (failed || !turn) {
        const text = `Live transcription was unavailable (${failed ? failed.message : "no turn"}); uploaded the whole recording instead.`;
        onStatus(text);
        note(text);
        return null;
      }
      try {
        for (let round = 0; ; round += 1) {
          try {
            const { data } = await api("POST", turn.finish_url, { json: { last_seq: blobs.length - 1 }, auth: !session.token, headers });
            return { ...turn, ...data };
          } catch (err) {
            const missing = err instanceof ApiError && err.status === 409 && err.details && err.details.missing;
            if (!missing || round >= 2) throw err;
            for (const seq of missing) await postChunk(`${turn.chunk_url}?seq=${seq}`, headers, blobs[seq]);
          }
        }
      } catch (err) {
        const text = `Live transcription could not be finished (${err.message}); uploaded the whole recording instead.`;
        onStatus(text);
        note(text);
        return null;
      }
    },
    cancel() {
      if (stream) stream.close();
      box.hidden = true;
    },
  };
}
