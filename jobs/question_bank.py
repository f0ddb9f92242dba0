"""The curated interview question bank used by the built-in `local` engine.

Questions ship as data (`jobs/data/questions.json`): each has a stable `id`, `text`, `role`, `type`,
`difficulty` and `key_points` (what a strong answer mentions; scoring checks coverage of them).
Selection never fails for want of an exact match: it widens step by step (neighbouring difficulty,
then the `general` role, then any type) so a session always gets the number of questions it asked
for while the bank has that many it has not asked yet.
"""
from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

_BANK_PATH = Path(__file__).parent / "data" / "questions.json"

ROLES = (
    "software_engineer", "data_scientist", "product_manager", "engineering_manager", "designer", "sales",
    "general",
)
TYPES = ("behavioral", "technical", "system_design", "situational", "leadership", "culture")
DIFFICULTIES = ("easy", "medium", "hard")
DEFAULT_ROLE = "general"
DEFAULT_DIFFICULTY = "medium"
# Adaptive thresholds on the 0..100 overall score of the previous answer.
STRONG_ANSWER = 80
WEAK_ANSWER = 50

# Free-text job titles people type ("Backend Engineer", "Staff SRE", "Sr. PM"), mapped to a bank role.
# Patterns run on `_words(text)` (lower case, punctuation gone, " s.r.e. " → " sre "); first match wins,
# so order matters: "engineering manager" before "engineer", "ml engineer" before "engineer".
_ROLE_HINTS: tuple[tuple[str, str], ...] = (
    (r"engineering manager|eng manager|engineering lead|head of engineering|director of engineering|"
     r"vp (of )?engineering|\bcto\b|team lead|tech lead manager|\bem\b|\btlm\b", "engineering_manager"),
    (r"data scien|machine learning|\bml\b|\bai\b|analyst|analytics|statistic|\bds\b|data engineer",
     "data_scientist"),
    (r"product manager|product owner|product lead|head of product|program manager|\bpm\b|\btpm\b|\bapm\b|"
     r"\bgpm\b|\bpo\b", "product_manager"),
    (r"design|\bux\b|\bui\b|user research", "designer"),
    (r"sales|account exec|account manager|\bae\b|\bsdr\b|\bbdr\b|business development|customer success|"
     r"solutions consultant|pre sales", "sales"),
    (r"engineer|developer|programmer|coder|\bswe\b|\bsde\b|\bsre\b|\bdev\b|devops|sysadmin|software|"
     r"backend|back end|frontend|front end|full ?stack|mobile|\bios\b|android|\bqa\b|\bsdet\b|architect|"
     r"site reliability|infrastructure|platform|security|\bsec ?ops\b|web", "software_engineer"),
)
# Focus areas people type ("System Design", "SQL", "Behavioural", "Coding"), mapped to a bank type.
_TYPE_HINTS: tuple[tuple[str, str], ...] = (
    (r"system ?s? design|systems?\b|architecture|distributed|scalab|high level design|\bhld\b|"
     r"\blld\b|low level design|infrastructure", "system_design"),
    (r"behaviou?r|\bstar\b|soft skill|teamwork|communication|conflict|\bhr\b|competenc|experience|"
     r"tell me about|general", "behavioral"),
    (r"leader|management|managing|people|mentor|executive|strategy", "leadership"),
    (r"culture|values|motivation|fit\b|why (us|this company)", "culture"),
    (r"situation|scenario|hypothetical|case|judg(e)?ment|product sense|estimation", "situational"),
    (r"technical|tech\b|coding|code|algorithm|data structure|\bdsa\b|leetcode|programming|\bsql\b|"
     r"database|debug|python|java|javascript|typescript|golang|\bgo\b|rust|c\+\+|react|frontend|backend|api|"
     r"cloud|aws|devops|kubernetes|security|statistic|machine learning|\bml\b|math|analytics|"
     r"troubleshoot|networking|linux|testing", "technical"),
)
_TYPE_ALIASES = {"behavioural": "behavioral", "system": "system_design", "design": "system_design",
                 "systems_design": "system_design", "cultural": "culture", "culture_fit": "culture"}



@lru_cache(maxsize=1)
def _bank() -> tuple[dict[str, Any], ...]:
    with _BANK_PATH.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return tuple(data["questions"])


def load_bank() -> list[dict[str, Any]]:
    """All questions (copies: callers may annotate them without touching the cached bank)."""
    return copy.deepcopy(list(_bank()))


def list_roles() -> list[str]:
    return list(ROLES)


def list_types() -> list[str]:
    return list(TYPES)


def list_difficulties() -> list[str]:
    return list(DIFFICULTIES)


def get_question(question_id: str) -> dict[str, Any] | None:
    for q in _bank():
        if q["id"] == question_id:
            return copy.deepcopy(q)
    return None


def _slug(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (value or "").strip().lower()).strip("_")


def _words(text: str | None) -> str:
    """Lower case, dotted abbreviations joined ("S.R.E." → "sre"), other punctuation as spaces."""
    text = (text or "").lower().replace("&", " and ")
    text = re.sub(r"\b([a-z])\.(?=[a-z]\b\.?)", r"\1", text)  # s.r.e. → sre.
    text = re.sub(r"[^a-z0-9+#]+", " ", text)
    return f" {' '.join(text.split())} "


def normalize_role(role: str | None) -> str:
    """A bank role for any job title; unknown titles fall back to `general`."""
    slug = _slug(role)
    if slug in ROLES:
        return slug
    text = _words(role)
    for pattern, mapped in _ROLE_HINTS:
        if re.search(pattern, text):
            return mapped
    return DEFAULT_ROLE


def normalize_type(focus_area: str | None) -> str | None:
    """A bank type, or None meaning "any type" (e.g. "mixed" or an unknown focus area)."""
    slug = _slug(focus_area)
    slug = _TYPE_ALIASES.get(slug, slug)
    if slug in TYPES:
        return slug
    text = _words(focus_area)
    for pattern, mapped in _TYPE_HINTS:
        if re.search(pattern, text):
            return mapped
    return None


def title_for(role_words: str | None, focus_words: str | None = None) -> str:
    """A session title in the person's own words; bank slugs read as words ("software_engineer" →
    "Software Engineer")."""
    def words(text: str) -> str:
        text = text.strip()
        return text.replace("_", " ").title() if text.islower() and " " not in text else text

    parts = [words(t) for t in (role_words, focus_words) if t and t.strip()]
    return " — ".join(parts)[:200] or "Interview"


def normalize_difficulty(difficulty: str | None) -> str:
    slug = _slug(difficulty)
    return slug if slug in DIFFICULTIES else DEFAULT_DIFFICULTY


def _neighbours(difficulty: str) -> list[str]:
    """Difficulties ordered by closeness; ties go to the easier one (kinder to the candidate)."""
    i = DIFFICULTIES.index(difficulty)
    return sorted((d for d in DIFFICULTIES if d != difficulty), key=lambda d: (abs(DIFFICULTIES.index(d) - i), DIFFICULTIES.index(d)))


def pick_questions(
    role: str | None,
    focus_area: str | None,
    difficulty: str | None,
    count: int,
    exclude_ids: Iterable[str] = (),
    seed: int | str | None = None,
) -> list[dict[str, Any]]:
    """Up to `count` distinct questions, best matches first, widening the match only when needed."""
    if count <= 0:
        return []
    role_, type_, diff = normalize_role(role), normalize_type(focus_area), normalize_difficulty(difficulty)
    excluded = set(exclude_ids)
    rng = random.Random(seed)
    pool = [q for q in _bank() if q["id"] not in excluded]
    roles = [role_] if role_ == DEFAULT_ROLE else [role_, DEFAULT_ROLE]
    diffs = [diff, *_neighbours(diff)]
    types: list[str | None] = [type_, None] if type_ else [None]

    # Relaxation order: exact -> neighbouring difficulty -> general role -> any type -> any role.
    tiers: list[tuple[list[str] | None, str | None, str]] = []
    for t in types:
        for r in roles:
            for d in diffs:
                tiers.append(([r], t, d))
    for t in types:
        for d in diffs:
            tiers.append((None, t, d))

    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()
    for tier_roles, tier_type, tier_diff in tiers:
        matches = [
            q for q in pool
            if q["id"] not in seen
            and (tier_roles is None or q["role"] in tier_roles)
            and (tier_type is None or q["type"] == tier_type)
            and q["difficulty"] == tier_diff
        ]
        rng.shuffle(matches)
        for q in matches[: count - len(chosen)]:
            chosen.append(copy.deepcopy(q))
            seen.add(q["id"])
        if len(chosen) >= count:
            break
    return chosen


def adapt_difficulty(difficulty: str | None, overall: float | None) -> str:
    """One step harder after a strong answer, one step easier after a weak one."""
    diff = normalize_difficulty(difficulty)
    if overall is None:
        return diff
    i = DIFFICULTIES.index(diff)
    if overall >= STRONG_ANSWER:
        i = min(i + 1, len(DIFFICULTIES) - 1)
    elif overall < WEAK_ANSWER:
        i = max(i - 1, 0)
    return DIFFICULTIES[i]


def _last_overall(last_scores: Any) -> float | None:
    """Accepts a score dict ({"overall": 72, ...}), a bare number, or a list of either (last wins)."""
    if last_scores is None:
        return None
    if isinstance(last_scores, Mapping):
        value = last_scores.get("overall")
        return float(value) if isinstance(value, (int, float)) else None
    if isinstance(last_scores, (int, float)) and not isinstance(last_scores, bool):
        return float(last_scores)
    if isinstance(last_scores, Sequence) and not isinstance(last_scores, str) and last_scores:
        return _last_overall(last_scores[-1])
    return None


def next_question(
    role: str | None,
    focus_area: str | None,
    difficulty: str | None,
    asked_ids: Iterable[str],
    last_scores: Any = None,
    seed: int | str | None = None,
) -> dict[str, Any] | None:
    """The next unasked question, its difficulty adapted to the last answer; None when exhausted."""
    target = adapt_difficulty(difficulty, _last_overall(last_scores))
    picked = pick_questions(role, focus_area, target, 1, exclude_ids=asked_ids, seed=seed)
    return picked[0] if picked else None
