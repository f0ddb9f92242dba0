// Talking to the VoiceMock API: the envelope, the bearer token, and errors in words.

// The practice page keeps its identity under "voicemock.token"; /ops sets auth.key to its own key, so
// an operator signing in there never replaces the practice page's (often a guest's) identity.

export class ApiError extends Error {
  constructor(message, { status = 0, stage = null, details = null, requestId = null } = {}) {
    super(message);
    this.status = status;
    this.stage = stage;
    this.details = details;
    this.requestId = requestId;
  }
}

export const auth = {
  key: "voicemock.token",
  get token() { return localStorage.getItem(this.key); },
  set token(value) {
    if (value) localStorage.setItem(this.key, value);
    else localStorage.removeItem(this.key);
  },
};

// Validation details are a list of {path, message}; anything else is shown as it came.
function detailText(details) {
  if (Array.isArray(details)) return details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join("; ");
  return "";
}

// "Upload failed at the decode stage: audio could not be decoded (request 1a2b…)".
export function describeError(err) {
  if (!(err instanceof ApiError)) return `Something went wrong: ${err && err.message ? err.message : err}`;
  const parts = [err.message];
  const extra = detailText(err.details);
  if (extra) parts.push(`(${extra})`);
  let text = parts.join(" ");
  if (err.stage) text = `Failed at the ${err.stage} stage: ${text}`;
  if (err.requestId) text += ` — request ${err.requestId}`;
  return text;
}

// One request; resolves to {status, data} for 2xx, throws ApiError otherwise.
export async function api(method, path, { json, form, headers = {}, auth: useAuth = true } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (useAuth && auth.token) h.Authorization = `Bearer ${auth.token}`;
  let body;
  if (json !== undefined) {
    h["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers: h, body });
  } catch (e) {
    throw new ApiError("the server cannot be reached; check your connection and try again", { stage: "network" });
  }
  let payload = null;
  try {
    payload = await resp.json();
  } catch (e) {
    payload = null;
  }
  if (!resp.ok) {
    const p = payload || {};
    throw new ApiError(p.error || `HTTP ${resp.status} ${resp.statusText}`, {
      status: resp.status, stage: p.stage || resp.headers.get("X-Stage"), details: p.details,
      requestId: p.request_id || resp.headers.get("X-Request-ID"),
    });
  }
  return { status: resp.status, data: payload ? payload.data : null };
}

// Download an authenticated file (an export artifact) and hand it to the browser as a file.
export async function download(path, fallbackName) {
  const h = auth.token ? { Authorization: `Bearer ${auth.token}` } : {};
  const resp = await fetch(path, { headers: h });
  if (!resp.ok) {
    let p = {};
    try { p = await resp.json(); } catch (e) { /* not JSON */ }
    throw new ApiError(p.error || `HTTP ${resp.status}`, { status: resp.status, stage: p.stage || "artifact" });
  }
  const disposition = resp.headers.get("Content-Disposition") || "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}
