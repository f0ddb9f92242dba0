"""Tailored practice: bank questions drawn for a job description, provider questions with a bank fallback."""
from __future__ import annotations

from typing import Any

from jobs import question_bank, tailoring

JD = ("Site reliability for payments: you will own incident response and on-call, lead postmortems, "
      "find root causes of outages and improve detection and monitoring.")


def test_terms_come_from_the_job_description_first_then_the_resume_without_repeats() -> None:
    terms = tailoring.terms_for("Python PostgreSQL Python Kafka", "Kafka Terraform")
    assert terms[:3] == ["Python", "PostgreSQL", "Kafka"] and terms.count("Kafka") == 1 and "Terraform" in terms
    assert tailoring.terms_for(None, None) == []


def test_the_draw_prefers_the_bank_question_the_job_description_is_about() -> None:
    terms = tailoring.terms_for(JD)
    picked = tailoring.draw("software_engineer", "behavioral", "medium", exclude_ids=[], terms=terms, seed=1)
    pool = question_bank.pick_questions("software_engineer", "behavioral", "medium", 12, seed=1)
    assert picked["id"] in {q["id"] for q in pool}
    assert tailoring.overlap(picked, terms) == max(tailoring.overlap(q, terms) for q in pool) > 0
    assert "incident" in picked["text"].lower() or "incident" in " ".join(picked["key_points"]).lower()
    again = tailoring.draw("software_engineer", "behavioral", "medium", exclude_ids=[picked["id"]], terms=terms, seed=1)
    assert again["id"] != picked["id"], "an asked question is never drawn again"


class _Provider:
    name = "openai"

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.prompts: list[str] = []

    def structured(self, task: str, messages: list[dict], schema: Any, *, local: Any) -> Any:
        self.prompts.append(messages[-1]["content"])
        if self.fail:
            return local()
        return schema(text="How would you run the on-call rotation for the payments team?", type="behavioral",
                      key_points=["rota", "escalation"])


def test_a_provider_writes_the_question_and_a_failing_one_falls_back_to_the_bank_draw() -> None:
    bank = question_bank.pick_questions("software_engineer", "behavioral", "medium", 1, seed=2)[0]
    kw = dict(job_type="software_engineer", focus_area="behavioral", difficulty="medium", job_description=JD,
              resume_text="Ran on-call for checkout.", asked=["Tell me about yourself."], local=lambda: bank)
    provider = _Provider(fail=False)
    q = tailoring.generate(provider, **kw)
    assert q["source"] == "llm" and q["id"] is None and q["text"].startswith("How would you run")
    assert JD in provider.prompts[0] and "Tell me about yourself." in provider.prompts[0]
    assert "Ran on-call for checkout." in provider.prompts[0]
    assert tailoring.generate(_Provider(fail=True), **kw) == bank, "the bank question itself, id and all"
    local = type("L", (), {"name": "local"})()
    assert tailoring.generate(local, **kw) == bank
