"""Does an answer address the question asked? The local engine's reading of an answer.

Three signals, all offline and explainable:
- **intent**: what the question is about ("a mistake that affected others", "a goal you set"). A bank
  question may name it (`intent`: cue words), otherwise it is read from the question text with the
  `INTENTS` lexicon, else it is the question's own distinctive words. An answer that never touches the
  intent is off-topic, however polished (the same payments story told to "a goal you set" and to "a
  mistake that affected others" must not score the same).
- **key points**: how many of the question's `key_points` the answer covers (light stemming, synonyms).
- **focus**: the share of the answer's sentences that stay on the question's topic (rambling scores low).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

STOP = frozenset(
    "a an the and or but of to in on at for with by from as is are was were be been being it its this that "
    "these those i you we they he she my your our their me us them do did does have has had not no so such "
    "what which who how when where why will would can could should than then there here into about over "
    "out up very just also if".split()
)
# Words every question uses; they say nothing about what is being asked.
_QUESTION_WORDS = frozenset(
    "tell me time describe give example walk through explain approach handle think make made making take "
    "took one some someone something thing things way ways situation kind sort like want why how what "
    "most more much would could should do did does your you yours yourself work job role current past too "
    "ever happened happen go going get got whether each between have has had been let new".split()
)
# Words that count as the same idea when matching ("measure" covers "metrics").
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("measure", "metric", "measurement", "quantify", "number", "data", "benchmark", "baseline", "profile"),
    ("cache", "caching", "redis", "memcached", "cdn"),
    ("customer", "user", "client", "buyer"),
    ("communicate", "communication", "update", "inform", "told", "explain", "talk", "spoke", "share"),
    ("prioritize", "priority", "prioritization", "rank", "triage", "tradeoff", "trade"),
    ("result", "outcome", "impact", "effect", "improvement", "reduced", "increased", "saved"),
    ("test", "testing", "verify", "validate", "check", "experiment"),
    ("fix", "resolve", "solve", "repair", "patch", "mitigate", "mitigation"),
    ("team", "teammate", "colleague", "coworker", "peer"),
    ("learn", "lesson", "learned", "takeaway", "reflection"),
    ("stakeholder", "manager", "leadership", "executive", "leader"),
    ("scale", "scaling", "scalable", "horizontal", "shard", "sharding"),
    ("database", "db", "sql", "postgres", "postgresql", "mysql", "query"),
    ("latency", "performance", "slow", "fast", "speed", "throughput", "faster", "slower", "quicker"),
    ("cost", "price", "pricing", "expensive", "cheap", "cheaper", "budget", "discount"),
    ("random", "randomize", "randomization", "randomized", "split", "assign", "assignment"),
    ("ownership", "owned", "responsible", "accountable", "accountability"),
    ("root", "cause", "diagnose", "diagnosis", "investigate", "debug"),
    ("mistake", "error", "fault", "oversight", "blunder", "wrong", "misconfigured", "forgot", "overlooked"),
    ("fail", "failure", "failed", "flop", "unsuccessful"),
    ("conflict", "disagree", "disagreement", "disagreed", "tension", "clash", "argument", "friction", "dispute"),
    ("goal", "target", "objective", "okr", "aim", "milestone"),
    ("deadline", "due", "crunch"),
    ("feedback", "criticism", "critique", "critical"),
    ("weakness", "weak", "shortcoming"),
    ("strength", "strong", "strongest"),
    ("persuade", "convince", "influence", "persuaded", "convinced", "influenced", "buy-in"),
    ("motivate", "motivation", "motivated", "energize", "drive", "driven"),
    ("proud", "pride", "accomplishment", "achievement", "achieve", "achieved"),
    ("decision", "decide", "decided", "chose", "choose", "choice"),
    ("change", "changed", "reorganization", "reorg", "adapt", "adapted", "transition"),
    ("incomplete", "ambiguous", "ambiguity", "unclear", "unknown", "uncertain", "uncertainty", "assumption"),
    ("urgent", "urgency", "important", "importance"),
)
_SUFFIXES = ("izations", "ization", "ations", "ation", "izing", "ized", "izes", "ize", "ising", "ised",
             "ises", "ise", "ments", "ment", "ings", "ing", "edly", "ed", "ies", "es", "ly", "s")


def stem(word: str) -> str:
    """Suffix stripping just good enough to equate "prioritizing"/"prioritized"/"prioritize"."""
    for suffix in _SUFFIXES:  # longest first, so "ization" wins over "s"
        if suffix == "s" and word.endswith("ss"):  # "process", "business" are not plurals
            break
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            if suffix in ("ed", "ing") and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # "planned", "planning" -> "plan"
            break
    # A trailing "e" comes and goes with suffixes ("measure"/"measured"): drop it everywhere.
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


_SYN_INDEX = {stem(w): i for i, group in enumerate(SYNONYMS) for w in group}


def concept(word: str) -> str:
    s = stem(word)
    return f"syn{_SYN_INDEX[s]}" if s in _SYN_INDEX else s


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'"))


def concepts(text: str) -> set[str]:
    return {concept(w) for w in words(text) if w not in STOP}


# Question patterns → the words an answer to it must touch (its intent). First match wins.
INTENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (r"\bmistake|\berror\b", "a mistake you made",
     ("mistake", "my fault", "wrong", "i missed", "broke", "i caused", "accidentally", "by accident", "bad",
      "should have", "rolled back", "roll back", "i introduced", "outage")),
    (r"\bfail(ed|ure)?\b|did not go as planned|deal you lost|missed your quota",
     "a failure", ("fail", "mistake", "lost", "missed", "wrong", "didn't", "did not", "fell short", "ran out",
                   "shut down", "went wrong", "gave up", "not survive", "hard way")),
    (r"conflict|disagree", "a disagreement", ("conflict", "disagree", "pushed back", "objected", "different view")),
    (r"\bgoal\b", "a goal you set", ("goal", "set out to", "aimed", "wanted to", "planned to", "set myself",
                                      "decided to", "my aim", "by the end of")),
    (r"deadline", "a tight deadline", ("deadline", "days", "weeks", "by friday", "time pressure", "rushed", "launch date")),
    (r"feedback|critic", "feedback you received", ("feedback", "told me", "pointed out", "review")),
    (r"weakness", "a weakness", ("weakness", "struggle", "working on", "improve", "not good at")),
    (r"strength", "your strengths", ("strength", "good at", "i am strong", "i excel")),
    (r"without (formal )?authority|persuade|influenc", "influencing others",
     ("persuade", "influence", "align", "buy-in", "lead", "led")),
    (r"incomplete information|ambigu", "working with incomplete information",
     ("incomplete", "assumption", "unclear", "didn't know", "did not know", "unknown")),
    (r"adapt|major change|reorgani", "adapting to change", ("change", "adapt", "reorg", "new")),
    (r"motivat", "what motivates you", ("motivate", "enjoy", "energy", "love", "satisfying")),
    (r"proud|accomplishment", "an accomplishment", ("proud", "accomplishment", "achieve")),
    (r"five years", "your plans", ("years", "grow", "future", "goal", "want to")),
    (r"why do you want to work here|why .*want to (be|work)", "your motivation for the role",
     ("company", "mission", "product", "role", "want", "excited", "motivate")),
    (r"leaving", "why you are leaving", ("leaving", "growth", "opportunity", "looking for")),
    (r"decision", "a decision", ("decision", "trade", "option", "weighed")),
    (r"prioriti[sz]e|urgent|more work than", "prioritizing", ("prioritize", "urgent", "impact", "first", "scope")),
    (r"let someone go|\bfire\b|lay ?off", "letting someone go",
     ("let go", "let him go", "let her go", "let them go", "fired", "termination", "terminate", "laid off",
      "layoff", "performance plan", "dismiss")),
    (r"about yourself", "who you are and what you do",
     ("i am", "i'm", "currently", "my background", "years", "i work", "i have been", "my role")),
)
# Key-point words any answer may use in passing; they do not show the answer is about the question.
_GENERIC = frozenset(stem(w) for w in (
    "support plan clear strong good regular document process approach example specific concrete people time "
    "value quality case step way goal outcome result impact change help problem work").split())


def intent_of(question: Mapping[str, Any]) -> tuple[str, list[str]]:
    """(label, cue phrases) for the question; an empty label means "the question's own words"."""
    given = question.get("intent")
    if isinstance(given, list) and given:
        return str(question.get("intent_label") or "the question"), [str(c) for c in given]
    text = str(question.get("text") or "")
    for pattern, label, cues in INTENTS:
        if re.search(pattern, text, re.I):
            return label, list(cues)
    return "", []


def topic_concepts(question: Mapping[str, Any]) -> set[str]:
    """The question's distinctive concepts: its text minus question boilerplate, plus its key points."""
    text = str(question.get("text") or "")
    own = {concept(w) for w in words(text) if w not in STOP and w not in _QUESTION_WORDS and len(w) > 2}
    for point in question.get("key_points") or []:
        own |= {c for c in concepts(str(point)) if len(c) > 2}
    return own


def _cue_hit(cue: str, text_norm: str, answer: set[str]) -> bool:
    cue_words = words(cue)
    if len(cue_words) == 1:
        return concept(cue_words[0]) in answer
    return re.search(r"\b" + r"\s+".join(map(re.escape, cue_words)) + r"\b", text_norm) is not None


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(words(s)) >= 4]


def assess(question: Mapping[str, Any], text: str) -> dict[str, Any]:
    """Intent, topic overlap and focus of `text` as an answer to `question` (all 0..1)."""
    answer = concepts(text)
    norm = " ".join(words(text))
    label, cues = intent_of(question)
    topic = topic_concepts(question)
    if cues:
        hits = [c for c in cues if _cue_hit(c, norm, answer)]
        intent = 1.0 if hits else 0.0
    else:  # the question's own distinctive words and its key points stand in for its intent
        own = {concept(w) for w in words(str(question.get("text") or ""))
               if w not in STOP and w not in _QUESTION_WORDS and len(w) > 2}
        hits = sorted(topic & answer)
        own_hit = bool(own & answer)
        # A literal, non-generic shared word ("lock") shows the topic; a synonym or "support" in passing does not.
        literal = {stem(w) for w in words(text) if w not in STOP}
        wanted = {stem(w) for w in words(" ".join([str(question.get("text") or ""), *map(str, question.get("key_points") or [])]))
                  if w not in STOP and w not in _QUESTION_WORDS and len(w) > 2}
        distinctive = sorted((literal & wanted) - _GENERIC)
        intent = 1.0 if own_hit and len(hits) >= 2 else 0.5 if own_hit or distinctive else 0.0
    parts = sentences(text) or ([text] if words(text) else [])
    # A sentence is on topic when it touches the question's concepts; one touching two counts fully.
    touch = [len(concepts(s) & topic) for s in parts] if topic else [2] * len(parts)
    focus = sum(1.0 if t >= 2 else 0.5 if t == 1 else 0.0 for t in touch) / len(parts) if parts else 0.0
    content_words = [w for w in words(text) if w not in STOP]
    density = sum(1 for w in content_words if concept(w) in topic) / len(content_words) if content_words else 0.0
    return {"intent": intent, "intent_label": label, "intent_hits": hits, "focus": round(focus, 2),
            "density": round(density, 3), "content_words": len(content_words),
            "topic_overlap": len(topic & answer), "sentences": len(parts)}
