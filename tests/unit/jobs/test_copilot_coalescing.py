"""Coalescing of suggestion jobs, on a scratch SQLite database."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from core.db import Base, Database
from core.models import CopilotChunk, CopilotSession, Job, User
from jobs import copilot


@pytest.fixture()
def session() -> Iterator[Session]:
    db = Database("sqlite://")
    Base.metadata.create_all(db.engine)
    with db.Session() as s:
        s.add(User(id="usr_1", subject="u1"))
        s.commit()
        s.add(CopilotSession(id="cop_1", user_id="usr_1", role="software_engineer"))
        s.commit()
        yield s
    db.dispose()


def _finish(s: Session, job: Job) -> None:
    job.status = "succeeded"
    s.flush()


def test_a_second_chunk_marks_dirty_instead_of_enqueuing(session: Session) -> None:
    first = copilot.request_suggestion(session, "cop_1", user_id="usr_1")
    assert first is not None and first.kind == "copilot.suggest" and first.args == {"session_id": "cop_1"}
    assert copilot.request_suggestion(session, "cop_1", user_id="usr_1") is None
    cop = session.get(CopilotSession, "cop_1", populate_existing=True)
    assert cop.suggest_job_id == first.id and cop.dirty


def test_handoff_waits_for_a_terminal_row_then_passes_the_slot_once(session: Session) -> None:
    first = copilot.request_suggestion(session, "cop_1", user_id="usr_1")
    copilot.request_suggestion(session, "cop_1", user_id="usr_1")
    assert copilot.handoff(session, "cop_1", first.id) is None, "a running (or retrying) job keeps the slot"
    _finish(session, first)
    second = copilot.handoff(session, "cop_1", first.id)
    assert second is not None and second.id != first.id
    assert copilot.handoff(session, "cop_1", first.id) is None, "a duplicate callback does nothing"
    _finish(session, second)
    assert copilot.handoff(session, "cop_1", second.id) is None
    cop = session.get(CopilotSession, "cop_1", populate_existing=True)
    assert cop.suggest_job_id is None and not cop.dirty


def test_a_finished_holder_whose_handoff_was_lost_is_taken_over(session: Session) -> None:
    first = copilot.request_suggestion(session, "cop_1", user_id="usr_1")
    _finish(session, first)
    second = copilot.request_suggestion(session, "cop_1", user_id="usr_1")
    assert second is not None and second.id != first.id
    assert copilot.handoff(session, "cop_1", first.id) is None, "the late hand-off sees it lost the slot"


def test_a_stopped_session_gets_no_more_suggestions(session: Session) -> None:
    session.get(CopilotSession, "cop_1").status = "stopped"
    session.flush()
    assert copilot.request_suggestion(session, "cop_1", user_id="usr_1") is None


def test_local_suggestion_targets_the_last_question(session: Session) -> None:
    cop = session.get(CopilotSession, "cop_1")
    chunks = [CopilotChunk(session_id="cop_1", content="Thanks for coming in."),
              CopilotChunk(session_id="cop_1", content="Tell me about a time you disagreed with your manager?")]
    s = copilot.local_suggestion(cop, chunks)
    assert s.question == "Tell me about a time you disagreed with your manager?"
    assert s.points and s.tip
