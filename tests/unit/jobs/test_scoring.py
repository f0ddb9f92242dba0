"""The local rubric scorer moves in the right direction and explains itself specifically."""
from __future__ import annotations

import json

from jobs.delivery import analyze_delivery
from jobs.question_bank import get_question
from jobs.scoring import score_answer
from jobs.stt import Word

QUESTION = {
    "id": "swe-improved-performance", "role": "software_engineer", "type": "behavioral", "difficulty": "medium",
    "text": "Tell me about a time you improved the performance of a system.",
    "key_points": ["baseline measurement", "bottleneck", "change made", "measured improvement"],
}
RICH = (
    "At the time I was working on the checkout service, and our p99 latency was around 800 milliseconds. "
    "My task was to bring it under 200 milliseconds before Black Friday. First, I measured a baseline with "
    "profiling and found the bottleneck: every request made twelve Postgres queries. Then I decided to add a "
    "Redis cache for product data, and I implemented batching of the remaining queries because they were "
    "independent. After that I load tested the change with realistic traffic. As a result, we reduced "
    "latency by 60 percent, to about 300 milliseconds, and the error rate dropped too. What I learned is to "
    "measure before optimising."
)


def timed(text: str, wpm: float = 150.0, start: float = 0.5) -> list[Word]:
    step = 60.0 / wpm
    return [Word(w, start + i * step, start + i * step + step * 0.8, 0.9) for i, w in enumerate(text.split())]


def score(text: str, words: list[Word] | None = None) -> dict:
    words = timed(text) if words is None else words
    return score_answer(QUESTION, text, analyze_delivery(words))


def test_result_shape_is_json_with_all_dimensions():
    result = score(RICH)
    json.dumps(result)
    assert result["engine"] == "local"
    for dim in ("content", "structure", "delivery"):
        assert 0 <= result[dim]["score"] <= 100
        assert result[dim]["feedback"].endswith(".")
    assert isinstance(result["overall"], int) and 0 <= result["overall"] <= 100


def test_rich_star_answer_beats_a_two_word_answer_on_content_and_structure():
    rich, short = score(RICH), score("Caching, mostly.")
    assert rich["content"]["score"] > short["content"]["score"] + 30
    assert rich["structure"]["score"] > short["structure"]["score"] + 30
    assert rich["overall"] > short["overall"]
    assert set(rich["structure"]["star_parts"]) == {"situation", "task", "action", "result"}


def test_rich_answer_covers_the_key_points_and_cites_specifics():
    content = score(RICH)["content"]
    assert len(content["covered"]) >= 3
    assert {"redis", "postgres", "800"} <= set(content["specifics"])


def test_many_fillers_lower_the_delivery_score_with_a_specific_message():
    filler_text = RICH.replace(", and ", ", um, and ").replace(". ", ". Uh, like, you know, ")
    clean, noisy = score(RICH), score(filler_text)
    assert noisy["delivery"]["score"] < clean["delivery"]["score"]
    fillers = analyze_delivery(timed(filler_text))["fillers"]
    assert f"You used {fillers['count']} filler words ({fillers['per_minute']:.1f}/min)" in noisy["delivery"]["feedback"]


def test_long_pauses_and_a_bad_pace_lower_delivery():
    words = timed(RICH)
    paused = [Word(w.text, w.start + (4.0 if i >= 40 else 0) + (4.0 if i >= 80 else 0),
                   w.end + (4.0 if i >= 40 else 0) + (4.0 if i >= 80 else 0), 0.9) for i, w in enumerate(words)]
    assert score(RICH, paused)["delivery"]["score"] < score(RICH)["delivery"]["score"]
    rushed = score(RICH, timed(RICH, wpm=240))
    assert rushed["delivery"]["score"] < score(RICH)["delivery"]["score"]
    assert "240 words per minute" in rushed["delivery"]["feedback"]


def test_hedging_lowers_delivery():
    hedgy = "I think maybe " + RICH.replace(". ", ". I guess probably ")
    assert score(hedgy)["delivery"]["score"] < score(RICH)["delivery"]["score"]


def test_missing_result_is_named_in_structure_feedback():
    no_result = RICH.split("As a result")[0]
    feedback = score(no_result)["structure"]["feedback"]
    assert "Result" in feedback and "outcome" in feedback


def test_empty_transcript_scores_zero_without_error():
    result = score_answer(QUESTION, "", analyze_delivery([]))
    assert result["overall"] == 0 and result["content"]["score"] == 0


def test_questions_without_key_points_are_scored_on_relevance():
    question = {"text": "How would you design a rate limiter?", "type": "system_design"}
    on_topic = "I would use a token bucket per user stored in Redis, and the rate limiter returns 429 when empty."
    off_topic = "I like hiking on weekends with my dog."
    assert (score_answer(question, on_topic, analyze_delivery(timed(on_topic)))["content"]["score"]
            > score_answer(question, off_topic, analyze_delivery(timed(off_topic)))["content"]["score"])


def test_bank_questions_are_scored_by_their_key_points():
    question = get_question("swe-explain-debug-slow-api-endpoint")
    text = ("First I would measure the latency of the endpoint, then use profiling to find slow database "
            "queries, add caching where it helps, and verify the improvement with a load test.")
    content = score_answer(question, text, analyze_delivery(timed(text)))["content"]
    assert content["missing"] == []


def test_the_same_story_scores_high_for_the_question_it_answers_and_low_for_another():
    # Issue 14: one payments story given to "a goal you set" and to "a mistake that affected others".
    story = json.loads((__import__("pathlib").Path(__file__).parent / "relevance_set.json").read_text())["items"][0]["answer"]
    goal = score_answer(get_question("gen-give-example-goal-set-achieved"), story, analyze_delivery(timed(story)))
    mistake = score_answer(get_question("gen-made-mistake-affected-others"), story, analyze_delivery(timed(story)))
    assert goal["content"]["score"] >= 60 and goal["content"]["on_topic"]
    assert mistake["content"]["score"] <= 20 and not mistake["content"]["on_topic"]
    assert "does not address the question" in mistake["content"]["feedback"]
    assert "mistake" in mistake["fix"] and mistake["overall"] < goal["overall"]


def test_every_result_names_one_fix_and_outlines_a_stronger_answer():
    result = score(RICH)
    assert isinstance(result["fix"], str) and result["fix"].endswith(".")
    assert result["outline"][0].startswith("Situation") and any("bottleneck" in s for s in result["outline"])
    technical = get_question("swe-explain-debug-slow-api-endpoint")
    steps = score_answer(technical, "I would add caching.", None)["outline"]
    assert steps[0] == "Open with a one-sentence direct answer." and "Explain profiling." in steps


def test_feedback_and_report_share_one_answer_length():
    words = timed(RICH[:200])
    delivery = analyze_delivery(words, duration=44.8)
    content = score_answer(QUESTION, RICH[:200], delivery)["content"]
    assert content["length_seconds"] == 44.8 and "44.8 s" in content["feedback"]
