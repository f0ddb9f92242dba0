"""Resume jobs: parse an uploaded file, and generate from a resume and a job description
(`bullet_rewrite`, `tailor`, `cover_letter`). Each generation task is a (messages builder, pydantic
schema, local implementation) triple, so the openai and local engines run the same job code.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Callable

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import BadInput, NotFound
from core.models import Resume, ResumeGeneration, User
from jobs import resume_parse
from jobs import resume_writing as rw
from jobs.context import JobContext
from jobs.llm import get_llm

TYPES = ("bullet_rewrite", "tailor", "cover_letter")
MAX_JD_CHARS = 20_000
MAX_RESUME_CHARS = 50_000

_STOP = frozenset("""a an and are as at be been being but by can could did do does for from had has have having he her
his i if in into is it its just may me more most must my no not of on or our out over she should so such than that
the their them then there these they this those through to too under up us very was we were what when where which
while who whom why will with within would you your yours about above after again against all also am any because
before below between both during each few further here how only other own same some able across etc per via using
use used work working job role team teams strong experience years year including include includes new well looking
join ideal candidate company hiring seeking build senior junior engineer developer responsibilities requirements required preferred plus bonus skills ability
write care know knows need needs someone love own define talk work want help make get like part great good
day days week weeks month months range role's we're you'll you're call""".split())



class BulletRewrite(BaseModel):
    original: str
    rewritten: str
    suggestion: str = ""  # what would make it stronger, kept out of the sentence itself


class BulletRewriteResult(BaseModel):
    bullets: list[BulletRewrite] = Field(default_factory=list)


class TailorResult(BaseModel):
    match_score: int = Field(ge=0, le=100)
    matched_keywords: list[str] = Field(default_factory=list)
    missing_keywords: list[str] = Field(default_factory=list)
    rewritten_bullets: list[BulletRewrite] = Field(default_factory=list)
    summary: str = ""
    skills: list[str] = Field(default_factory=list)  # the resume's skills, once each, the job's first


class CoverLetterResult(BaseModel):
    subject: str
    body: str


# ---------------------------------------------------------------- parsing

def parse_resume(session: Session, ctx: JobContext, resume_id: str) -> dict[str, Any]:
    resume = session.get(Resume, resume_id)
    if resume is None or not resume.file_key:
        raise BadInput(f"resume {resume_id} has no uploaded file", stage="lookup")
    ctx.progress("decode", 0.1)
    data = ctx.storage.read(resume.file_key)
    try:
        parsed = resume_parse.parse_document(data, resume.file_type or "pdf")
    except BadInput:
        raise
    except Exception as exc:
        # Record why on the resume itself (in a separate, committed write is not possible here: the
        # job's transaction rolls back), so the job error carries it; the route reads the job.
        raise _as_bad_input(exc) from exc
    ctx.progress("sections", 0.8)
    resume.text = parsed["text"]
    resume.sections = parsed["sections"]
    resume.status = "ready"
    resume.error = None
    resume.updated_at = utcnow()
    return {"resume_id": resume.id, "sections": parsed["sections"], "chars": len(parsed["text"])}


def _as_bad_input(exc: Exception) -> BadInput:
    from core.errors import VoiceMockError

    if isinstance(exc, VoiceMockError):
        return BadInput(exc.message, stage=exc.stage)
    return BadInput(f"the document cannot be read: {type(exc).__name__}", stage="decode")


# ---------------------------------------------------------------- keywords and rewrites (local engine)

def keywords(text: str, limit: int = 20) -> list[str]:
    """The job description's salient terms: frequent non-stopwords, tech-looking tokens first."""
    tokens = re.findall(r"[A-Za-z][A-Za-z0-9+#./-]*[A-Za-z0-9+#]|[A-Za-z]", text)
    counts: Counter[str] = Counter()
    display: dict[str, str] = {}
    for tok in tokens:
        low = tok.lower().strip(".")
        if low in _STOP or len(low) < 2:
            continue
        techy = any(c in tok for c in "+#./") or tok[1:] != tok[1:].lower() or tok.isupper()
        counts[low] += 2 if techy else 1
        display.setdefault(low, tok.strip("."))
    return [display[k] for k, _ in counts.most_common(limit)]


def _has(text_low: str, kw: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(kw.lower()) + r"(?![a-z0-9])", text_low) is not None


def _bullet_lines(resume: dict[str, Any]) -> list[str]:
    return [b for b in resume["bullets"] if not rw.is_header_line(b)]


def local_bullets(resume: dict[str, Any], jd: str) -> BulletRewriteResult:
    rows = []
    for b in _bullet_lines(resume):
        text = rw.rewrite_bullet(b)
        if text:
            rows.append(BulletRewrite(original=b, rewritten=text, suggestion=rw.suggestion_for(b)))
    return BulletRewriteResult(bullets=rows)


def job_terms(jd: str, limit: int) -> list[str]:
    """The job description's key terms without the words of its role title ("Product", "Manager")."""
    title = {w.lower() for w in (rw.role_title(jd) or "").split()} & _TITLE_WORDS
    out = []
    for k in rw.unique(keywords(jd, limit + len(title))):
        if k.lower() in title:
            continue
        # "Payments" from a title line reads "payments" in a sentence when the text also writes it so.
        out.append(k.lower() if k[:1].isupper() and k[1:].islower() and _has_exact(jd, k.lower()) else k)
    return out[:limit]


_TITLE_WORDS = frozenset(rw.ROLE_NOUNS) | {"senior", "junior", "staff", "principal", "head", "chief", "product",
                                           "data", "software", "associate", "intern"}


def _has_exact(text: str, word: str) -> bool:
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(word) + r"(?![A-Za-z0-9])", text) is not None


def local_tailor(resume: dict[str, Any], jd: str) -> TailorResult:
    kws = job_terms(jd, 20)
    low = resume["text"].lower()
    matched = [k for k in kws if _has(low, k)]
    missing = [k for k in kws if not _has(low, k)]
    score = round(100 * len(matched) / len(kws)) if kws else 0
    rewritten = local_bullets(resume, jd).bullets[:6]
    skills = rw.skills_of(resume.get("sections") or {}, resume["text"])
    skills = rw.unique([s for s in skills if any(_has(s.lower(), k) for k in matched)] + skills)
    summary = f"Your resume covers {len(matched)} of the {len(kws)} key terms of this role ({score}%)."
    if missing:
        summary += (f" Where it is true, name {rw.natural_list(missing[:5])} in your bullets or skills: "
                    "the job description asks for them.")
    else:
        summary += " Every key term is covered."
    return TailorResult(match_score=score, matched_keywords=matched, missing_keywords=missing,
                        rewritten_bullets=rewritten, summary=summary, skills=skills)


def local_cover_letter(resume: dict[str, Any], jd: str) -> CoverLetterResult:
    contact = (resume["sections"] or {}).get("contact") or {}
    name = contact.get("name") or "Your Name"
    title = rw.role_title(jd)
    kws = job_terms(jd, 8)
    low = resume["text"].lower()
    matched = [k for k in kws if _has(low, k)]
    bullets = [rw.rewrite_bullet(b) for b in _bullet_lines(resume)]
    bullets = [b for b in bullets if b]
    highlights = sorted(bullets, key=lambda b: (not re.search(r"\d", b), bullets.index(b)))[:2]
    role = f"the {title} role" if title else "this role"
    lines = ["Dear Hiring Manager,", ""]
    if matched:
        lines.append(f"I am applying for {role}. It asks for {rw.natural_list(matched[:3])}, which is the work "
                     "I have been doing, and I would like to bring that experience to your team.")
    else:
        lines.append(f"I am applying for {role}. I would like to bring the experience below to your team.")
    lines.append("")
    if highlights:
        lines.append("Recent work I am proud of:" if len(highlights) > 1 else "Recent work I am proud of:")
        lines.extend(f"- {h}" for h in highlights)
        lines.append("")
    if matched[3:]:  # the first three are named above: say each thing once
        lines.append(f"I also work with {rw.natural_list(matched[3:5])}, and I learn new tools quickly. "
                     "I would welcome the chance to discuss how I can help.")
    else:
        lines.append("I learn new tools quickly and would welcome the chance to discuss how I can help.")
    lines += ["", "Sincerely,", name]
    return CoverLetterResult(subject=f"Application for {title}" if title else "Application", body="\n".join(lines))


# ---------------------------------------------------------------- prompts

def _messages(kind: str, resume: dict[str, Any], jd: str) -> list[dict[str, str]]:
    asks = {
        "bullet_rewrite": "Rewrite each experience bullet to start with an action verb, name the skill the job "
                          "asks for, and state a measurable result. Keep facts; never invent employers or numbers.",
        "tailor": "Compare the resume with the job description: a 0-100 match score, the job's key terms the "
                  "resume covers and misses, up to six rewritten bullets, and a two-sentence summary.",
        "cover_letter": "Write a concise cover letter (under 250 words) from the resume for this job.",
    }
    bullets = "\n".join(f"- {b}" for b in resume["bullets"])
    return [
        {"role": "system", "content": "You are a careful resume coach. " + asks[kind]},
        {"role": "user", "content": f"JOB DESCRIPTION:\n{jd}\n\nRESUME:\n{resume['text'][:12_000]}\n\n"
                                    f"BULLETS TO WORK ON:\n{bullets}"},
    ]


_TASKS: dict[str, tuple[type[BaseModel], Callable[[dict[str, Any], str], BaseModel]]] = {
    "bullet_rewrite": (BulletRewriteResult, local_bullets),
    "tailor": (TailorResult, local_tailor),
    "cover_letter": (CoverLetterResult, local_cover_letter),
}


# ---------------------------------------------------------------- the generation job

def _resume_input(session: Session, user_id: str | None, resume_id: str | None,
                  resume_text: str | None) -> dict[str, Any]:
    if resume_id:
        resume = session.get(Resume, resume_id)
        if resume is None or resume.user_id != user_id:
            raise BadInput(f"resume {resume_id} does not exist", stage="lookup")
        if resume.status != "ready" or not (resume.text or "").strip():
            raise BadInput(f"resume {resume_id} is {resume.status} and has no text yet", stage="resume")
        text, sections = resume.text or "", resume.sections or {}
    elif resume_text and resume_text.strip():
        text = resume_text[:MAX_RESUME_CHARS]
        sections = resume_parse.split_sections(text)
    else:
        raise BadInput("give a resume_id or resume_text", stage="input")
    return {"text": text, "sections": sections, "bullets": resume_parse.bullets(sections, text)}


def generate(session: Session, ctx: JobContext, *, job_description: str, type: str, resume_id: str | None = None,
             resume_text: str | None = None, batch_id: str | None = None, item_key: str | None = None) -> dict[str, Any]:
    if type not in _TASKS:
        raise BadInput(f"unknown generation type {type!r}; use one of {', '.join(TYPES)}", stage="input")
    jd = (job_description or "").strip()[:MAX_JD_CHARS]
    if not jd:
        raise BadInput("the job description is empty", stage="input")
    resume = _resume_input(session, ctx.user_id, resume_id, resume_text)
    ctx.progress("generate", 0.2)
    user = session.get(User, ctx.user_id) if ctx.user_id else None
    llm = get_llm(ctx.settings, user.llm_settings if user else None, ctx)
    schema, local = _TASKS[type]
    out = llm.structured(f"resume.{type}", _messages(type, resume, jd), schema, local=lambda: local(resume, jd))
    ctx.progress("save", 0.95)
    output = out.model_dump()
    engine = getattr(llm, "name", "local")
    gen = ResumeGeneration(user_id=ctx.user_id, resume_id=resume_id, job_id=ctx.job_id, batch_id=batch_id, type=type,
                           job_description=jd, output=output, engine=engine)
    session.add(gen)
    session.flush()
    return {"generation_id": gen.id, "type": type, "resume_id": resume_id, "item_key": item_key,
            "engine": engine, "output": output}


def owned_resume(session: Session, resume_id: str, user_id: str) -> Resume:
    resume = session.get(Resume, resume_id)
    if resume is None or resume.user_id != user_id:
        raise NotFound("resume not found")
    return resume
