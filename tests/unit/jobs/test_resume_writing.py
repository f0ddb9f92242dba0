"""Local resume rewrites read as sentences (issue 14): no duplicated skills, no job-description text
pasted into a template slot, bullets keep their facts. Checked on hand-written resumes and job descriptions."""
from __future__ import annotations

import re

import pytest

from jobs import resume_parse, resumes
from jobs import resume_writing as rw

RESUMES = {
    "maria": """Maria Lopez
maria.lopez@example.com | +1 555 0100
Experience
Senior Software Engineer, Acme Corp, 2019-2024
- Responsible for the checkout frontend in React and TypeScript
- Worked on migrating 40 pages from jQuery to React, cutting load time by 35%
- Helped to mentor two junior developers
Software Engineer, Beta Labs, 2016 - 2019
- Built internal dashboards with React and D3
Education
BSc Computer Science, 2016
Skills
React, TypeScript, JavaScript, React, CSS, Jest, react
""",
    "sam": """Sam Okafor
sam@example.org
Experience
Data Analyst — Northwind (Jan 2021 – Present)
• Was responsible for weekly sales reporting in SQL and Tableau
• Automated the revenue forecast in Python, saving 6 hours a week
• Involved in the migration of reports to BigQuery
Skills
SQL, Python, Tableau, BigQuery, Excel
""",
    "lee": """Lee Chen
Product Manager
Experience
Product Manager at Shoply, 2020-2023
- Led discovery interviews with 30 merchants and wrote the onboarding PRD
- In charge of the roadmap for payments
Skills
Roadmapping, user research, SQL, Figma
""",
}
JDS = {
    "react": "Looking for a React developer to join our frontend team. You will build UI in React and TypeScript, "
             "write tests with Jest, and care about accessibility and performance.",
    "data": "We are hiring a Data Engineer to build pipelines with Python, Spark and Airflow on AWS. "
            "Experience with SQL and dbt is a plus.",
    "pm": "Senior Product Manager, Payments\nAbout the role: own the payments roadmap, work with engineering and "
          "design, define success metrics, talk to merchants.",
    "plain": "Our team needs someone who knows Kubernetes, Terraform and Go, and can be on call.",
}


def _resume(name: str) -> dict:
    text = RESUMES[name]
    sections = resume_parse.split_sections(text)
    return {"text": text, "sections": sections, "bullets": resume_parse.bullets(sections, text)}


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def test_bullets_become_sentences_with_their_facts_and_no_job_words() -> None:
    out = [b.rewritten for b in resumes.local_bullets(_resume("maria"), JDS["react"]).bullets]
    assert out == ["Owned the checkout frontend in React and TypeScript.",
                   "Migrated 40 pages from jQuery to React, cutting load time by 35%.",
                   "Mentored two junior developers.",
                   "Built internal dashboards with React and D3."]  # header lines are not bullets
    sam = [b.rewritten for b in resumes.local_bullets(_resume("sam"), JDS["data"]).bullets]
    assert sam[0] == "Owned weekly sales reporting in SQL and Tableau."
    assert sam[2] == "Contributed to the migration of reports to BigQuery."  # involved in: not claimed as owned
    suggestions = [b.suggestion for b in resumes.local_bullets(_resume("sam"), JDS["data"]).bullets]
    assert suggestions[1] == "" and "Add a number" in suggestions[0]


@pytest.mark.parametrize("resume", sorted(RESUMES))
@pytest.mark.parametrize("jd", sorted(JDS))
def test_no_job_description_text_is_pasted_and_nothing_is_said_twice(resume: str, jd: str) -> None:
    r = _resume(resume)
    letter = resumes.local_cover_letter(r, JDS[jd])
    tailor = resumes.local_tailor(r, JDS[jd])
    bullets = resumes.local_bullets(r, JDS[jd]).bullets
    for text in [letter.body, letter.subject, tailor.summary, *[b.rewritten for b in bullets]]:
        for sentence in _sentences(JDS[jd]):  # no sentence of the job description is copied in
            assert sentence.strip(" .") not in text or len(sentence.split()) <= 3, (sentence, text)
        assert ", applying " not in text and ", with a measurable result" not in text
        assert not re.search(r"\b(\w+) and \1\b", text, re.I), text  # "React and React"
    assert "Looking for" not in letter.body and "position." not in letter.body
    lowered = [s.lower() for s in tailor.skills]
    assert len(lowered) == len(set(lowered))
    for kw_list in (tailor.matched_keywords, tailor.missing_keywords):
        assert len({k.lower() for k in kw_list}) == len(kw_list)


def test_role_titles_are_read_not_pasted() -> None:
    assert rw.role_title(JDS["react"]) == "React Developer"
    assert rw.role_title(JDS["data"]) == "Data Engineer"
    assert rw.role_title(JDS["pm"]) == "Senior Product Manager"
    assert rw.role_title(JDS["plain"]) is None
    assert resumes.local_cover_letter(_resume("maria"), JDS["plain"]).body.startswith(
        "Dear Hiring Manager,\n\nI am applying for this role.")


def test_skills_are_listed_once_with_the_jobs_first() -> None:
    tailor = resumes.local_tailor(_resume("maria"), JDS["react"])
    assert tailor.skills == ["React", "TypeScript", "Jest", "JavaScript", "CSS"]
    assert rw.natural_list(["Go", "go", "SQL", "Python"]) == "Go, SQL and Python"


def test_the_letter_only_claims_what_the_resume_shows() -> None:
    letter = resumes.local_cover_letter(_resume("lee"), JDS["react"]).body
    assert "React" not in letter.split("Recent work")[0].replace("React Developer", "")
    assert "I also work with" not in letter
