from __future__ import annotations

from jobs import resume_parse, resumes

JD = "We are hiring a Data Engineer to build pipelines with Python, Spark and Airflow on AWS."
TEXT = "Ana Ruiz\nExperience\nResponsible for Python ETL jobs feeding 3 dashboards\nSkills\nPython, SQL"


def _resume() -> dict:
    sections = resume_parse.split_sections(TEXT)
    return {"text": TEXT, "sections": sections, "bullets": resume_parse.bullets(sections, TEXT)}


def test_keywords_skip_filler_and_keep_tools() -> None:
    kws = resumes.keywords(JD)
    assert {"Python", "Spark", "Airflow", "AWS"} <= set(kws)
    assert not {"we", "hiring", "to", "with"} & {k.lower() for k in kws}


def test_tailor_scores_matched_and_missing_terms() -> None:
    out = resumes.local_tailor(_resume(), JD)
    assert "Python" in out.matched_keywords and {"Spark", "Airflow"} <= set(out.missing_keywords)
    assert out.match_score == round(100 * len(out.matched_keywords) / (len(out.matched_keywords) + len(out.missing_keywords)))


def test_bullets_lead_with_an_action_verb() -> None:
    out = resumes.local_bullets(_resume(), JD)
    assert out.bullets[0].rewritten == "Owned Python ETL jobs feeding 3 dashboards."
