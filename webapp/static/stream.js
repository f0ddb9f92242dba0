// Following a job's event stream (SSE) to its end, through dropped connections.
//
// The browser's EventSource reconnects by itself after a drop and sends Last-Event-ID; the server
// replays what was missed. Events are numbered 1, 2, 3… per stream, so anything at or below the
// last id handled is a duplicate (a replay overlapping what already arrived) and is skipped. When the
// server answers a reconnect with an error, EventSource gives up (readyState CLOSED): then we reopen
// it ourselves with ?last_event_id=, and after a few failures fall back to polling the job.

import { ApiError, api } from "./api.js";

const TYPES = ["queued", "started", "progress", "partial", "succeeded", "failed", "cancelled", "turn", "summary"];
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const MAX_REOPENS = 4;

function withParam(url, key, value) {
  const u = new URL(url, location.href);
  u.searchParams.set(key, String(value));
  return u.pathname + u.search;
}

function failure(type, data) {
  if (type === "cancelled") return new ApiError("the job was cancelled", { stage: "cancelled" });
  const err = data.error || {};
  return new ApiError(err.message || "the job failed", { stage: data.stage || err.stage || "job" });
}

// follow(links, {onEvent, onStatus}) → {done: Promise<result>, close()}; links has stream_url, status_url.
export function follow(links, { onEvent = () => {}, onStatus = () => {} } = {}) {
  let lastId = 0;
  let source = null;
  let reopens = 0;
  let finished = false;
  let resolve;
  let reject;
  const done = new Promise((res, rej) => { resolve = res; reject = rej; });

  const finish = (fn, value) => {
    if (finished) return;
    finished = true;
    if (source) source.close();
    fn(value);
  };

  const handle = (ev) => {
    const id = Number(ev.lastEventId);
    if (Number.isFinite(id) && id > 0) {
      if (id <= lastId) return; // already handled: a replay overlapped the live stream
      lastId = id;
    }
    reopens = 0;
    let payload;
    try {
      payload = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    const data = payload.data || {};
    onEvent(ev.type, data, id);
    if (ev.type === "succeeded") finish(resolve, data.result);
    else if (TERMINAL.has(ev.type)) finish(reject, failure(ev.type, data));
  };

  const poll = async () => {
    onStatus("Live updates are unavailable; checking the job instead…");
    while (!finished) {
      try {
        const { data: job } = await api("GET", links.status_url);
        if (job.status === "succeeded") finish(resolve, job.result);
        else if (TERMINAL.has(job.status)) finish(reject, failure(job.status, job));
      } catch (e) {
        if (e instanceof ApiError && e.status && e.status < 500) finish(reject, e);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  const open = (url) => {
    source = new EventSource(url);
    for (const t of TYPES) source.addEventListener(t, handle);
    source.addEventListener("open", () => {
      if (lastId > 0) onStatus(`Reconnected; resuming after event ${lastId}.`);
    });
    source.addEventListener("error", () => {
      if (finished) return;
      if (source.readyState === EventSource.CONNECTING) {
        onStatus("Connection to the live stream dropped; reconnecting…");
        return;
      }
      source.close();
      reopens += 1;
      if (reopens > MAX_REOPENS) {
        if (links.status_url) poll();
        else finish(reject, new ApiError("lost the live stream and could not reconnect", { stage: "stream" }));
        return;
      }
      onStatus(`Live stream closed; reopening (attempt ${reopens})…`);
      setTimeout(() => { if (!finished) open(withParam(links.stream_url, "last_event_id", lastId)); }, 1000 * reopens);
    });
  };

  open(links.stream_url);
  return { done, close: () => finish(() => {}, null), get lastId() { return lastId; } };
}
