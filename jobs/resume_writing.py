"""The local engine's resume writing: bullets rewritten as sentences, a role title read from a job
description, skills without duplicates, natural lists.

Rules that keep the output honest and readable (issue 14):
- a bullet keeps its facts; only the opening changes ("Responsible for X" → "Owned X", "Helped to mentor"
  → "Mentored", "migrating 40 pages" → "Migrated 40 pages"); job-description words are never pasted into
  a bullet (the person may not have used them): where they fit is said in the tailoring summary;
- job header lines ("Senior Engineer, Acme Corp, 2019-2024") are not bullets;
- a role title is taken from the job description only when one can be read ("a React developer" →
  "React Developer"); otherwise the letter says "this role", never a pasted sentence.
"""
from __future__ import annotations

import re
from typing import Iterable

# Weak openings → the verb that says the same thing honestly (owning vs contributing).
_OPENINGS: tuple[tuple[str, str], ...] = (
    (r"(?:was\s+)?responsible\s+for", "Owned"), (r"in\s+charge\s+of", "Owned"), (r"tasked\s+with", "Owned"),
    (r"duties\s+included", "Owned"), (r"(?:was\s+)?involved\s+in", "Contributed to"),
    (r"worked\s+on", "Contributed to"), (r"assisted(?:\s+with)?", "Contributed to"),
    (r"helped\s+(?:to\s+)?(?=[a-z]+\b)", ""), (r"helped\s+with", "Contributed to"),
)
_IRREGULAR = {"build": "built", "lead": "led", "run": "ran", "write": "wrote", "make": "made", "drive": "drove",
              "teach": "taught", "buy": "bought", "sell": "sold", "set": "set", "begin": "began", "grow": "grew",
              "take": "took", "give": "gave", "bring": "brought", "think": "thought", "win": "won", "cut": "cut",
              "put": "put", "keep": "kept", "hold": "held", "speak": "spoke", "draw": "drew", "ship": "shipped",
              "plan": "planned", "scan": "scanned", "own": "owned"}
_VERBS = frozenset(
    "analyse analyze automate build coach coordinate create cut debug define deliver deploy design develop document "
    "drive enable establish grow implement improve increase introduce launch lead maintain manage mentor migrate "
    "monitor optimise optimize organise organize own plan present produce reduce refactor research run scale ship "
    "simplify standardise standardize streamline support teach test train triage write".split())
ROLE_NOUNS = ("engineer", "developer", "manager", "designer", "scientist", "analyst", "architect", "lead",
               "consultant", "specialist", "administrator", "director", "researcher", "representative", "executive",
               "coordinator", "owner", "programmer", "strategist", "writer", "marketer", "recruiter", "accountant")
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b|\bpresent\b|\bcurrent\b", re.I)
_BULLET_MARK = re.compile(r"^\s*(?:[-*•·‣▪◦]|\d+[.)])\s*")


def past_tense(verb: str) -> str:
    v = verb.lower()
    if v in _IRREGULAR:
        return _IRREGULAR[v]
    if v.endswith("e"):
        return v + "d"
    if v.endswith("y") and len(v) > 2 and v[-2] not in "aeiou":
        return v[:-1] + "ied"
    return v + "ed"


def _gerund_base(word: str) -> str | None:
    """"migrating" → "migrate", "building" → "build", "planning" → "plan" (None if not a known verb)."""
    w = word.lower()
    if not w.endswith("ing") or len(w) < 6:
        return None
    stem = w[:-3]
    for cand in (stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else None):
        if cand and (cand in _VERBS or cand in _IRREGULAR):
            return cand
    return None


def is_header_line(line: str) -> bool:
    """A job header ("Senior Engineer, Acme Corp, 2019-2024", "Analyst — Northwind (Jan 2021 – Present)")."""
    words = line.split()
    return bool(_YEAR.search(line)) and len(words) <= 12 and not re.search(r"\d+\s*(?:%|percent|x\b)", line)


def rewrite_bullet(line: str) -> str:
    """One bullet as a sentence led by a past-tense verb, facts unchanged."""
    body = _BULLET_MARK.sub("", line).strip().rstrip(".;")
    if not body:
        return ""
    for pattern, verb in _OPENINGS:
        m = re.match(pattern + r"\s*", body, re.I)
        if m:
            rest = body[m.end():]
            first = rest.split(" ", 1)[0] if rest else ""
            if not verb:  # "helped to mentor X" → "Mentored X"; "helped the team" → "Contributed to the team"
                if first.lower() in _VERBS or first.lower() in _IRREGULAR:
                    body = past_tense(first).capitalize() + rest[len(first):]
                else:
                    body = f"Contributed to {rest}"
            else:
                base = _gerund_base(first)
                if base and verb == "Contributed to":
                    body = past_tense(base).capitalize() + rest[len(first):]
                else:
                    body = f"{verb} {rest}"
            break
    else:
        first = body.split(" ", 1)[0]
        base = _gerund_base(first)
        if base:
            body = past_tense(base).capitalize() + body[len(first):]
        elif first.lower() in _VERBS:
            body = past_tense(first).capitalize() + body[len(first):]
    return body[:1].upper() + body[1:] + "."


def suggestion_for(line: str) -> str:
    if re.search(r"\d", line):
        return ""
    return "Add a number if you have one: how much, how many, how fast (%, users, hours, revenue)."


def role_title(jd: str) -> str | None:
    """The advertised role ("React Developer", "Data Engineer"), or None when none can be read."""
    text = " ".join(jd.split())
    nouns = "|".join(ROLE_NOUNS)
    lead = re.search(r"(?:hiring|seeking|looking for|role of|position of|join us as|as our|as an?)\s+(?:an?\s+|the\s+)?"
                     rf"((?:[A-Za-z+#./-]+\s+){{0,3}}?(?:{nouns})s?)\b", text, re.I)
    if lead:
        return _title_case(lead.group(1))
    first = jd.strip().splitlines()[0] if jd.strip() else ""
    m = re.match(rf"^\s*((?:[A-Za-z+#./-]+\s+){{0,4}}?(?:{nouns}))\b", first, re.I)
    if m and len(first.split()) <= 10:
        return _title_case(m.group(1))
    return None


def _title_case(phrase: str) -> str:
    return " ".join(w if any(c.isupper() for c in w[1:]) or not w.isalpha() else w.capitalize()
                    for w in phrase.split())


def unique(items: Iterable[str]) -> list[str]:
    """Items without case-insensitive duplicates ("React", "react", "React " → "React"), first spelling kept."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = re.sub(r"[\s.]+", "", str(item).lower())
        if key and key not in seen:
            seen.add(key)
            out.append(str(item).strip())
    return out


def natural_list(items: list[str]) -> str:
    items = unique(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def skills_of(sections: dict, text: str) -> list[str]:
    raw = sections.get("skills") or []
    if isinstance(raw, str):
        raw = [raw]
    parts: list[str] = []
    for line in raw:
        parts += [p.strip(" .;") for p in re.split(r"[,;|•·]", str(line)) if p.strip(" .;")]
    return unique(parts)
