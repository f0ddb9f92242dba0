"""What `/docs` shows a person for operations whose view says nothing itself: a human summary, and the
request / response examples of the seed documents (`../shared/seeds/`, quoted as printed) or of this
README. A view's own `@document(summary=…, example=…)` or docstring wins over this table.

Keys are "METHOD /path" as in `/openapi.json`. Response examples are the envelope's `data`.
"""
from __future__ import annotations

import re
from typing import Any

_RID = "550e8400-e29b-41d4-a716-446655440000"  # document 000's example request id

S: dict[str, str] = {
    "GET /": "The practice page (HTML)",
    "GET /ops": "The operator view (HTML; its figures come from /api/ops/*, admins only)",
    "GET /healthz": "Liveness: the process answers",
    "GET /readyz": "Readiness: database and Redis reachable (503 with the reason otherwise)",
    "GET /api/catalog": "Roles, focus areas, difficulties and limits the practice page offers",
    "POST /auth/guest": "Sign in as a guest (a 7-day token; where guests are allowed)",
    "GET /auth/me": "Who the token belongs to",
    "POST /session/start": "Start a voice practice session: session id, session token, first question",
    "GET /session/{session_id}": "A practice session with its turns, transcripts, delivery figures and scores",
    "DELETE /session/{session_id}": "Delete a practice session and its audio",
    "POST /session/{session_id}/end": "End a session and write its summary (a job)",
    "GET /session/{session_id}/events": "Follow a session's events (SSE)",
    "GET /api/v1/session-summary": "A session's summary (rate-limit headers; echoes Idempotency-Key)",
    "GET /api/progress": "Per-dimension scores and delivery figures over your sessions, with the trend",
    "GET /api/jobs": "Your jobs, filtered by status and kind, paginated",
    "DELETE /api/jobs/{job_id}": "Cancel a job",
    "GET /api/jobs/{job_id}/artifact": "Download a job's file (an export)",
    "GET /api/jobs/{job_id}/events": "Follow a job's events (SSE: replay after Last-Event-ID, closes when it ends)",
    "GET /api/interviews": "List your interviews (text interviews and voice sessions)",
    "POST /api/interviews": "Create an interview",
    "GET /api/interviews/{interview_id}": "An interview with its messages and scores",
    "DELETE /api/interviews/{interview_id}": "Delete an interview",
    "POST /api/interviews/{interview_id}/messages": "Add a message to an interview",
    "POST /api/interviews/{interview_id}/score": "Store scores (with a body) or start AI scoring (empty body)",
    "GET /api/interviews/{interview_id}/report": "The interview's report (202 with a job while it is computed)",
    "POST /api/interviews/{interview_id}/export": "Export an interview as json, text, markdown or pdf (a job)",
    "POST /api/interviews/{interview_id}/questions": "Generate questions for an interview (a job)",
    "POST /api/interviews/{interview_id}/difficulty": "Change an interview's difficulty",
    "POST /api/copilot/sessions/start": "Start a live copilot session",
    "POST /api/copilot/sessions/stop": "Stop a copilot session (its stream closes)",
    "GET /api/copilot/sessions/{session_id}": "A copilot session",
    "POST /api/copilot/sessions/{session_id}/events": "Send a transcript or audio chunk (suggestions follow on the stream)",
    "GET /api/copilot/sessions/{session_id}/stream": "Follow a copilot session's suggestions (SSE)",
    "GET /api/copilot/sessions/{session_id}/transcript": "A copilot session's transcript",
    "POST /api/copilot/sessions/{session_id}/summarize": "Write the session's debrief: scores and practice questions (a job)",
    "GET /api/copilot/sessions/history": "Your copilot sessions, newest first",
    "DELETE /api/copilot/sessions/purge": "Delete your old copilot sessions",
    "GET /api/resume": "List your resumes",
    "POST /api/resume": "Create a resume from text",
    "GET /api/resume/{resume_id}": "A resume with its parsed sections",
    "PUT /api/resume/{resume_id}": "Update a resume",
    "DELETE /api/resume/{resume_id}": "Delete a resume",
    "POST /api/resume/generate": "Tailor a resume, rewrite bullets or write a cover letter for a job description (a job)",
    "GET /api/resume/history": "Your generated resume content, newest first",
    "POST /api/resume/generate/batch": "Generate for many job descriptions at once (a batch of jobs)",
    "GET /api/batches/{batch_id}": "A batch's counts and progress",
    "POST /api/batches/{batch_id}/close": "Close an open batch (it completes when its items are done)",
    "GET /api/batches/{batch_id}/events": "Follow a batch (SSE: an item event per finished item, then succeeded)",
    "POST /api/batches/{batch_id}/items": "Add items to an open batch (a known key maps to its existing job)",
    "GET /api/batches/{batch_id}/items": "A batch's items with their status and results",
    "GET /api/settings/llm": "Your LLM provider, model and temperature (and which providers exist)",
    "PUT /api/settings/llm": "Change your LLM provider, model or temperature (fields sent change)",
    "POST /api/ops/canary": "Send a canary job through the pipeline (admins)",
    "GET /api/ops/jobs": "Running and failed jobs of every user (admins)",
    "GET /api/ops/queues": "Queue depths and dead letters (admins)",
}

EXAMPLES: dict[str, dict[str, Any]] = {
    # document 000
    "POST /session/start": {"example": {"job_type": "Backend Engineer", "focus_area": "System Design"},
                            "response": {"session_id": "sess_abc123", "token": "eyJhbGciOi..."}},
    # document 004
    "GET /api/interviews": {"response": {"interviews": [
        {"id": "uuid", "user_id": "uuid", "role": "Software Engineer", "type": "technical", "status": "completed",
         "created_at": "2026-02-16T00:00:00Z"}]}},
    "POST /api/interviews": {"example": {"role": "Software Engineer", "type": "technical", "difficulty": "medium"}},
    "POST /api/interviews/{interview_id}/messages": {
        "example": {"role": "assistant", "content": "Tell me about a time you solved a difficult problem."}},
    "POST /api/interviews/{interview_id}/score": {
        "example": {"scores": {"technical": 85, "communication": 90, "problem_solving": 80},
                    "feedback": "Great explanation of the system design."}},
    "GET /api/interviews/{interview_id}/report": {"response": {
        "overall_score": 85, "strengths": ["Clear communication", "Structured approach"],
        "weaknesses": ["Could elaborate on trade-offs"], "recommendations": ["Practice more system design questions"]}},
    "POST /api/interviews/{interview_id}/questions": {"example": {"count": 5, "type": "behavioral"}},
    "POST /api/interviews/{interview_id}/difficulty": {"example": {"difficulty": "hard"}},
    "POST /api/copilot/sessions/start": {
        "example": {"mode": "interview", "role": "Software Engineer", "company": "Google"},
        "response": {"session_id": "uuid", "stream_url": "/api/copilot/sessions/[id]/stream"}},
    "POST /api/copilot/sessions/stop": {"example": {"session_id": "uuid"}},
    "POST /api/copilot/sessions/{session_id}/events": {
        "example": {"type": "transcript", "content": "I would approach this by...", "timestamp": 1234567890}},
    "POST /api/resume": {"example": {"name": "Software Engineer Resume", "content": "..."}},
    "POST /api/resume/generate": {"example": {"job_description": "Looking for a React developer...",
                                              "resume_id": "uuid", "type": "bullet_rewrite"}},
    "POST /api/llm": {"example": {"messages": [{"role": "user", "content": "Hello"}], "model": "gpt-4"}},
    "GET /api/settings/llm": {"response": {"provider": "openai", "model": "gpt-4", "temperature": 0.7}},
    "PUT /api/settings/llm": {"example": {"model": "gpt-4-turbo", "temperature": 0.5}},
    # this README
    "POST /api/resume/generate/batch": {"example": {"resume_id": "res_abc123", "type": "tailor", "job_descriptions": [
        "We are hiring a Backend Engineer to build services with Python, Flask and Redis."]}},
    "POST /api/ops/canary": {"example": {"sleep_seconds": 0.5, "steps": 3}},
}

_FALLBACK = re.compile(r"^[a-z_]+\.[a-z_]+$")


def annotate(op: dict[str, Any], method: str, path: str) -> None:
    key = f"{method.upper()} {path}"
    if _FALLBACK.match(op.get("summary", "")) and key in S:
        op["summary"] = S[key]
    extra = EXAMPLES.get(key, {})
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and "example" in extra and "example" not in body:
        body["example"] = extra["example"]
    if "response" in extra:
        success = next((r for code, r in op["responses"].items() if code[0] == "2" and code != "2XX"), None)
        content = (success or {}).get("content", {}).get("application/json")
        if content is not None and "example" not in content:
            content["example"] = {"data": extra["response"], "error": None, "request_id": _RID}


def statuses(op: dict[str, Any], path: str) -> None:
    """The error statuses every operation of its kind really answers, each with its description."""
    from webapp.ratelimit import EXEMPT

    error = op["responses"].get("default", {})
    found: dict[str, str] = {}
    if op.get("requestBody") or any(p["in"] == "query" for p in op.get("parameters", [])):
        found["400"] = "Validation failed (details name each field)"
    if op.get("security"):
        found["401"] = "Missing, invalid or expired credentials"
    if any(p["in"] == "path" for p in op.get("parameters", [])):
        found["404"] = "Not found (another user's objects are not found either)"
    if not path.startswith(EXEMPT):
        found["429"] = "Rate limited: retry after Retry-After seconds"
    for code, desc in found.items():
        op["responses"].setdefault(code, {**error, "description": desc})
    if any("text/event-stream" in r.get("content", {}) for r in op["responses"].values()) and \
            any(p["in"] == "path" for p in op.get("parameters", [])):
        # webapp/sse.py: a reconnect whose Last-Event-ID is the stream's final event (an EventSource stops)
        op["responses"].setdefault("204", {"description": "The stream has ended: Last-Event-ID was its final event"})
