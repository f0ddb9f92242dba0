from __future__ import annotations

import io
import zipfile

import pytest

from core.errors import DecodeError, PayloadTooLarge, UnsupportedMediaType
from jobs import resume_parse


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members.items():
            z.writestr(name, body)
    return buf.getvalue()


def test_only_pdf_and_docx_extensions_are_allowed() -> None:
    assert resume_parse.file_kind("CV.PDF") == "pdf" and resume_parse.file_kind("a.docx") == "docx"
    for name in ("a.exe", "a.doc", "a", None, "a.pdf.exe"):
        with pytest.raises(UnsupportedMediaType):
            resume_parse.file_kind(name)


def test_content_must_match_the_extension() -> None:
    with pytest.raises(UnsupportedMediaType):
        resume_parse.sniff(b"MZ\x90\x00", "pdf")
    with pytest.raises(UnsupportedMediaType):
        resume_parse.sniff(b"%PDF-1.4", "docx")


def test_zip_caps_are_checked_from_the_central_directory() -> None:
    bomb = _zip({"word/document.xml": b"<w/>", "big.bin": b"\0" * (3 * 1024 * 1024)})
    with pytest.raises(PayloadTooLarge) as exc:
        resume_parse.check_zip(bomb)
    assert exc.value.stage == "decode"
    with pytest.raises(PayloadTooLarge):
        resume_parse.check_zip(_zip({"word/document.xml": b"<w/>", "a": b"x" * 1000}), max_total=500)
    with pytest.raises(PayloadTooLarge):
        resume_parse.check_zip(_zip({f"m{i}": b"x" for i in range(20)}), max_members=10)
    with pytest.raises(DecodeError):
        resume_parse.check_zip(b"PK\x03\x04 truncated")


def test_a_malformed_pdf_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        resume_parse.sniff(b"%PDF-1.4\ngarbage", "pdf")
    with pytest.raises(DecodeError):
        resume_parse.parse_document(b"%PDF-1.4\ngarbage", "pdf")


def test_sections_contact_and_skills_are_split_out() -> None:
    text = ("Sam Lee\nsam@lee.dev  +44 20 7946 0958  github.com/samlee\nProfessional Summary\nBackend engineer.\n"
            "Work Experience\n- Led the billing rewrite, cutting failures by 40%\nEducation\nBSc Physics\n"
            "Technical Skills\nLanguages: Go, Python; SQL\n")
    s = resume_parse.split_sections(text)
    assert s["contact"] == {"name": "Sam Lee", "email": "sam@lee.dev", "phone": "+44 20 7946 0958",
                            "links": ["github.com/samlee"]}
    assert s["experience"] == ["Led the billing rewrite, cutting failures by 40%"]
    assert s["education"] == ["BSc Physics"] and s["summary"] == ["Backend engineer."]
    assert s["skills"] == ["Go", "Python", "SQL"]
