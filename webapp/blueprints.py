"""Every blueprint, one per resource."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from webapp import auth_api, health, jobs_api, ops_api, page, practice
    from webapp import interviews, llm_api, progress, summaries

    for module in (health, auth_api, practice, jobs_api, ops_api, page, interviews, llm_api, progress, summaries):
        app.register_blueprint(module.bp)
    from webapp import analytics, billing, retention_api  # issue 5: billing, retention, analytics

    for module in (billing, retention_api, analytics):
        app.register_blueprint(module.bp)
    from webapp import batches, copilot, resumes  # issue 4: copilot, resumes, batches

    for module in (copilot, resumes, batches):
        app.register_blueprint(module.bp)
    from webapp import openai_compat  # issue 15: OpenAI-compatible /v1

    app.register_blueprint(openai_compat.bp)
    from webapp import live_turns  # issue 16: live answers

    app.register_blueprint(live_turns.bp)
