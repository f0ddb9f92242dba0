"""The shipped question bank: its data is well-formed and selection always finds enough questions."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from jobs import question_bank as qb


def test_bank_has_enough_well_formed_questions():
    bank = qb.load_bank()
    assert len(bank) >= 150
    ids = [q["id"] for q in bank]
    assert len(ids) == len(set(ids))
    for q in bank:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", q["id"]), q["id"]
        assert q["role"] in qb.ROLES and q["type"] in qb.TYPES and q["difficulty"] in qb.DIFFICULTIES
        assert q["text"].strip() and q["text"][-1] in ".?"
        assert 3 <= len(q["key_points"]) <= 6


def test_every_role_and_type_and_difficulty_is_represented():
    bank = qb.load_bank()
    assert set(Counter(q["role"] for q in bank)) == set(qb.list_roles())
    assert set(Counter(q["type"] for q in bank)) == set(qb.list_types())
    assert set(Counter(q["difficulty"] for q in bank)) == set(qb.DIFFICULTIES)


def test_load_bank_returns_copies():
    qb.load_bank()[0]["text"] = "changed"
    assert qb.load_bank()[0]["text"] != "changed"


def test_pick_prefers_exact_matches():
    picked = qb.pick_questions("software_engineer", "system_design", "hard", 3, seed=1)
    assert len(picked) == 3
    assert all((q["role"], q["type"], q["difficulty"]) == ("software_engineer", "system_design", "hard") for q in picked)


def test_pick_is_deterministic_for_a_seed_and_never_repeats():
    a = qb.pick_questions("data_scientist", "technical", "medium", 8, seed=42)
    b = qb.pick_questions("data_scientist", "technical", "medium", 8, seed=42)
    assert [q["id"] for q in a] == [q["id"] for q in b]
    assert len({q["id"] for q in a}) == 8


def test_pick_falls_back_to_neighbouring_difficulty_then_other_types():
    picked = qb.pick_questions("designer", "system_design", "easy", 5, seed=3)
    assert len(picked) == 5
    assert picked[0]["type"] == "system_design"  # no easy ones: nearest difficulty first
    assert all(q["role"] in ("designer", "general") for q in picked)


def test_unknown_role_falls_back_to_general_and_job_titles_are_mapped():
    assert qb.normalize_role("astronaut") == "general"
    assert qb.normalize_role("Senior Backend Engineer") == "software_engineer"
    assert qb.normalize_role("Engineering Manager") == "engineering_manager"
    assert qb.normalize_role("UX Designer") == "designer"
    picked = qb.pick_questions("astronaut", "behavioral", "medium", 4, seed=0)
    assert [q["role"] for q in picked] == ["general"] * 4


def test_unknown_focus_area_and_difficulty_mean_any_type_and_medium():
    assert qb.normalize_type("mixed") is None
    assert qb.normalize_type("System Design") == "system_design"
    assert qb.normalize_difficulty(None) == "medium"
    assert len(qb.pick_questions("sales", None, None, 5, seed=0)) == 5


def test_pick_returns_count_whenever_the_bank_has_enough():
    everything = qb.pick_questions("sales", "technical", "hard", 1000)
    assert len(everything) == len(qb.load_bank())
    exclude = [q["id"] for q in everything[:-3]]
    assert len(qb.pick_questions("sales", "technical", "hard", 10, exclude_ids=exclude)) == 3


@pytest.mark.parametrize("overall, expected", [(85, "hard"), (80, "hard"), (65, "medium"), (49, "easy"), (None, "medium")])
def test_adapt_difficulty_moves_one_step(overall, expected):
    assert qb.adapt_difficulty("medium", overall) == expected


def test_next_question_raises_difficulty_after_a_strong_answer_and_lowers_after_a_weak_one():
    harder = qb.next_question("software_engineer", "technical", "medium", [], {"overall": 90}, seed=1)
    easier = qb.next_question("software_engineer", "technical", "medium", [], {"overall": 30}, seed=1)
    assert harder["difficulty"] == "hard" and easier["difficulty"] == "easy"


def test_next_question_skips_asked_ones_and_ends_when_exhausted():
    asked = [q["id"] for q in qb.load_bank()]
    assert qb.next_question("general", None, "easy", asked[1:])["id"] == asked[0]
    assert qb.next_question("general", None, "easy", asked) is None


def test_get_question_by_id():
    first = qb.load_bank()[0]
    assert qb.get_question(first["id"]) == first
    assert qb.get_question("no-such-question") is None
