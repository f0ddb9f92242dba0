"""analyze_delivery on crafted word timings: every figure is checked against hand arithmetic."""
from __future__ import annotations

import json

import pytest

from jobs.delivery import analyze_delivery
from jobs.stt import Word


def words_from(spec: str, start: float = 0.0, step: float = 0.4, length: float = 0.3) -> list[Word]:
    """One Word per whitespace token, evenly spaced; "|2.0|" inserts a gap of 2.0 s instead."""
    out, t = [], start
    for tok in spec.split():
        if tok.startswith("|") and tok.endswith("|"):
            t += float(tok.strip("|")) - (step - length)
            continue
        out.append(Word(tok, round(t, 3), round(t + length, 3), 0.9))
        t += step
    return out


def test_empty_input_gives_zeros_not_an_exception():
    result = analyze_delivery([])
    assert result["word_count"] == 0
    assert result["words_per_minute"] == 0.0
    assert result["fillers"] == {"count": 0, "per_minute": 0.0, "items": [], "by_word": {}}
    assert result["pauses"]["count_1_5s"] == 0 and result["pauses"]["longest_seconds"] == 0.0
    assert result["star"]["score"] == 0 and result["hedges"]["count"] == 0
    json.dumps(result)


def test_duration_is_kept_when_there_are_no_words():
    assert analyze_delivery([], duration=2.0)["duration_seconds"] == 2.0


def test_words_per_minute_spans_first_word_start_to_last_word_end():
    # 30 words from 1.0 s to 13.0 s: 30 words / 12 s = 150 wpm; the leading second is not counted.
    words = [Word(f"w{i}", 1.0 + i * 0.4, 1.0 + i * 0.4 + 0.4, 1.0) for i in range(30)]
    result = analyze_delivery(words, duration=14.0)
    assert result["words_per_minute"] == 150.0
    assert result["wpm_band"] == "good"
    assert result["duration_seconds"] == 14.0
    assert result["time_to_first_word_seconds"] == 1.0


@pytest.mark.parametrize("step, band", [(0.8, "slow"), (0.4, "good"), (0.25, "fast")])
def test_wpm_band_follows_the_pace(step, band):
    words = [Word("word", i * step, i * step + step, 1.0) for i in range(40)]
    assert analyze_delivery(words)["wpm_band"] == band


def test_pause_of_exactly_one_and_a_half_seconds_counts_and_just_under_does_not():
    words = [Word("a", 0.0, 0.5, 1), Word("b", 2.0, 2.5, 1), Word("c", 3.99, 4.2, 1)]
    pauses = analyze_delivery(words)["pauses"]
    assert pauses["count_1_5s"] == 1  # 0.5 -> 2.0 is exactly 1.5 s; 2.5 -> 3.99 is 1.49 s
    assert pauses["items"] == [{"start": 0.5, "end": 2.0, "seconds": 1.5}]


def test_pause_of_exactly_three_seconds_counts_as_long_and_longest_is_reported():
    words = [Word("a", 0.0, 0.4, 1), Word("b", 3.4, 3.8, 1), Word("c", 5.6, 6.0, 1), Word("d", 6.1, 6.4, 1)]
    pauses = analyze_delivery(words)["pauses"]
    assert pauses["count_1_5s"] == 2
    assert pauses["count_3s"] == 1
    assert pauses["longest_seconds"] == 3.0


def test_pauses_come_from_the_audio_when_its_speech_profile_is_given():
    # Whisper stretched "you," over the 1.6 s silence after it; the VAD heard speech until 2.0 s and
    # again from 3.6 s. The 2.2 s word gap between "ask" and "what" lies inside speech: not a pause.
    words = [Word("for", 1.2, 1.5, 1), Word("you,", 1.5, 3.5, 1), Word("ask", 3.6, 4.0, 1),
             Word("what", 6.2, 6.5, 1)]
    speech = [(1.1, 2.0), (3.6, 6.6)]
    pauses = analyze_delivery(words, 7.0, speech)["pauses"]
    assert pauses["items"] == [{"start": 2.0, "end": 3.6, "seconds": 1.6}]
    assert pauses["longest_seconds"] == 1.6
    # Silences before the first word and after the last one are not pauses.
    pauses = analyze_delivery(words, 9.0, [(0.0, 0.2), (1.1, 2.0), (3.6, 6.6), (8.5, 9.0)])["pauses"]
    assert [p["seconds"] for p in pauses["items"]] == [1.6]
    # Without a profile, the word gaps as before.
    assert analyze_delivery(words)["pauses"]["longest_seconds"] == 2.2


def test_time_to_first_word_moves_to_where_the_speech_starts():
    words = [Word("At", 0.1, 0.8, 1), Word("the", 0.8, 1.0, 1)]
    assert analyze_delivery(words, 2.0, [(0.5, 1.0)])["time_to_first_word_seconds"] == 0.5
    assert analyze_delivery(words, 2.0)["time_to_first_word_seconds"] == 0.1


def test_speaking_seconds_excludes_long_pauses():
    words = [Word("a", 0.0, 1.0, 1), Word("b", 4.0, 5.0, 1)]
    assert analyze_delivery(words)["speaking_seconds"] == 2.0


def test_single_word_fillers_are_normalised_and_counted():
    words = words_from("Umm, I think, uh, we shipped it. Hmm, basically it worked, er, fine.")
    fillers = analyze_delivery(words)["fillers"]
    assert fillers["by_word"] == {"um": 1, "uh": 1, "hmm": 1, "basically": 1, "er": 1}
    assert fillers["count"] == 5


def test_multi_word_fillers_match_across_word_boundaries():
    words = words_from("It was, you know, hard. I mean, we sort of fixed it, you see.")
    result = analyze_delivery(words)
    assert result["fillers"]["by_word"] == {"you know": 1, "i mean": 1, "sort of": 1, "you see": 1}
    item = result["fillers"]["items"][0]
    assert item == {"word": "you know", "start": words[2].start, "end": words[3].end}


def test_fillers_per_minute_uses_the_spoken_span():
    words = words_from("um " + "word " * 28 + "uh")  # 30 words, 0.0 -> 11.9 s
    fillers = analyze_delivery(words)["fillers"]
    assert fillers["count"] == 2
    assert fillers["per_minute"] == round(2 / (11.9 / 60), 2)


def test_like_is_a_filler_only_between_breaks_or_before_another_filler():
    assert analyze_delivery(words_from("I like Python a lot."))["fillers"]["count"] == 0
    assert analyze_delivery(words_from("It was, like, slow."))["fillers"]["by_word"] == {"like": 1}
    assert analyze_delivery(words_from("and like um it broke"))["fillers"]["by_word"] == {"like": 1, "um": 1}


def test_so_is_a_filler_only_before_another_filler():
    # A sentence-initial "So," links to what came before: not a filler (issue 14).
    assert analyze_delivery(words_from("So, we started. It was so slow. So I fixed it."))["fillers"]["count"] == 0
    result = analyze_delivery(words_from("So, um, we started."))
    assert result["fillers"]["by_word"] == {"so": 1, "um": 1}


def test_kind_of_after_a_determiner_is_neither_filler_nor_hedge():
    result = analyze_delivery(words_from("What kind of database did we pick? It was kind of slow."))
    assert result["fillers"]["by_word"] == {"kind of": 1}
    assert [h["phrase"] for h in result["hedges"]["items"]] == ["kind of"]


def test_hedges_are_found_and_listed():
    words = words_from("I think maybe we should, I guess, probably wait. I'm not sure.")
    hedges = analyze_delivery(words)["hedges"]
    assert [h["phrase"] for h in hedges["items"]] == ["i think", "maybe", "i guess", "probably", "i'm not sure"]
    assert hedges["count"] == 5


def test_star_markers_are_detected_in_order_with_times():
    text = ("At the time our API was slow. My task was to fix it. I decided to add a cache "
            "and I implemented batching. As a result we reduced latency by 60%.")
    star = analyze_delivery(words_from(text))["star"]
    assert (star["situation"], star["task"], star["action"], star["result"]) == (True, True, True, True)
    assert star["score"] == 4
    parts = [m["part"] for m in star["markers"]]
    assert parts[0] == "situation" and parts[-1] == "result"
    assert {"at the time", "my task", "i decided", "as a result"} <= {m["phrase"] for m in star["markers"]}
    assert [m["start"] for m in star["markers"]] == sorted(m["start"] for m in star["markers"])


def test_a_metric_counts_as_a_result_even_without_a_cue_phrase():
    star = analyze_delivery(words_from("We cut the error rate by 40 percent."))["star"]
    assert star["result"] and star["score"] == 1


def test_answer_without_star_cues_scores_zero():
    assert analyze_delivery(words_from("I am a software engineer."))["star"]["score"] == 0


def test_word_dicts_from_storage_are_accepted():
    stored = [{"text": "um,", "start": 0.0, "end": 0.2}, {"text": "hello", "start": 0.3, "end": 0.6}]
    assert analyze_delivery(stored)["fillers"]["by_word"] == {"um": 1}
