"""Resume files (PDF, DOCX) → text and sections. Files are only read, never executed or rendered.

Checks run in order of cost: extension allow-list and size (cheap), magic bytes, then for DOCX the
zip central directory (member count, total uncompressed size, per-member compression ratio) is read
with `zipfile` BEFORE any member is inflated, so a zip bomb is refused without being expanded. PDFs
are opened by pypdf (a file it cannot open is a `decode` error) with page and text-length caps.
A DOCX's word/document.xml is parsed as a stream (lxml's pull parser, a chunk at a time) with caps
on its XML bytes, elements and paragraphs.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from core.errors import DecodeError, PayloadTooLarge, UnsupportedMediaType

EXTENSIONS = {".pdf": "pdf", ".docx": "docx"}
MAX_PAGES = 30
MAX_TEXT_CHARS = 200_000
MAX_ZIP_MEMBERS = 500
MAX_ZIP_UNCOMPRESSED = 40 * 1024 * 1024
MAX_ZIP_RATIO = 100  # deflate on real XML rarely passes 20:1; bombs reach 1000:1
# A long resume's word/document.xml is a few hundred KB, ~20 000 elements and a few hundred
# paragraphs; these caps are an order of magnitude above that and far below what hurts a worker.
MAX_DOCX_XML_BYTES = 20 * 1024 * 1024
MAX_DOCX_ELEMENTS = 300_000
MAX_DOCX_PARAGRAPHS = 20_000

HEADINGS = {
    "summary": ("summary", "profile", "professional summary", "objective", "about me", "about"),
    "experience": ("experience", "work experience", "professional experience", "employment", "employment history",
                   "work history", "career history"),
    "education": ("education", "academic background", "qualifications", "education and training"),
    "skills": ("skills", "technical skills", "core skills", "key skills", "competencies", "core competencies",
               "technologies", "tools"),
    "projects": ("projects", "selected projects", "personal projects"),
    "certifications": ("certifications", "certificates", "licenses", "awards", "awards and certifications"),
}
_HEADING_INDEX = {alias: name for name, aliases in HEADINGS.items() for alias in aliases}
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+?\d[\d ()./-]{7,}\d)")
_URL = re.compile(r"(?:https?://)?(?:www\.)?(?:linkedin\.com|github\.com)/[\w/.-]+", re.I)
_BULLET = re.compile(r"^\s*(?:[-•*▪‣◦●]|\d+[.)])\s+")


@dataclass(frozen=True)
class Sniffed:
    kind: str  # pdf | docx
    pages: int | None = None


def file_kind(filename: str | None) -> str:
    """The allow-listed kind from the file extension, or 415."""
    name = (filename or "").lower()
    ext = name[name.rfind("."):] if "." in name else ""
    if ext not in EXTENSIONS:
        raise UnsupportedMediaType(f"file extension {ext or '(none)'!r} is not accepted; upload a .pdf or .docx")
    return EXTENSIONS[ext]


def check_zip(data: bytes, *, max_members: int = MAX_ZIP_MEMBERS, max_total: int = MAX_ZIP_UNCOMPRESSED,
              max_ratio: int = MAX_ZIP_RATIO) -> zipfile.ZipFile:
    """Open a DOCX container after checking its central directory against decompression caps."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DecodeError("the .docx file is not a readable zip container") from exc
    if len(infos) > max_members:
        raise PayloadTooLarge(f"the .docx has {len(infos)} parts; the limit is {max_members}", stage="decode")
    total = 0
    for info in infos:
        total += info.file_size
        if total > max_total:
            raise PayloadTooLarge(f"the .docx expands to more than {max_total} bytes", stage="decode")
        if info.file_size > 1024 * 1024 and info.file_size > max_ratio * max(1, info.compress_size):
            raise PayloadTooLarge(f"the .docx part {info.filename!r} has a compression ratio above {max_ratio}:1",
                                  stage="decode")
    if "word/document.xml" not in {i.filename for i in infos}:
        raise UnsupportedMediaType("the zip file is not a Word document (no word/document.xml)", stage="upload")
    return zf


def sniff(data: bytes, kind: str) -> Sniffed:
    """Check the content matches the extension; cheap structural checks that answer 4xx at upload."""
    if kind == "pdf":
        if not data.lstrip()[:1024].startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
            raise UnsupportedMediaType("the file is not a PDF (no %PDF- header)")
        _refuse_declared_pages(data)  # milliseconds, before pypdf spends seconds on a 100 000-page tree
        return Sniffed("pdf", pages=_pdf_pages(data))
    if not data.startswith(b"PK\x03\x04"):
        raise UnsupportedMediaType("the file is not a .docx (not a zip container)")
    check_zip(data)
    return Sniffed("docx")


def _pdf_reader(data: bytes) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise DecodeError("the PDF is encrypted; upload an unprotected copy")
        return reader
    except (DecodeError, MemoryError):
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError) as exc:
        # pypdf raises many exception types on damaged files; any of them means "cannot decode".
        raise DecodeError(f"the PDF cannot be read: {type(exc).__name__}") from exc


_COUNT = re.compile(rb"/Count\s+(\d{1,12})")


def _refuse_declared_pages(data: bytes) -> None:
    """A page tree states its size (`/Count`) in plain sight unless it sits in a compressed object
    stream: a PDF that declares more than MAX_PAGES is refused without parsing it."""
    declared = max((int(m.group(1)) for m in _COUNT.finditer(data)), default=0)
    if declared > MAX_PAGES:
        raise PayloadTooLarge(f"the PDF has {declared} pages; a resume may have at most {MAX_PAGES}",
                              stage="decode")


def _pdf_pages(data: bytes) -> int:
    reader = _pdf_reader(data)
    try:
        pages = len(reader.pages)
    except Exception as exc:  # noqa: BLE001 - a broken page tree surfaces as any pypdf error
        raise DecodeError(f"the PDF page tree cannot be read: {type(exc).__name__}") from exc
    if pages == 0:
        raise DecodeError("the PDF has no pages")
    if pages > MAX_PAGES:
        raise PayloadTooLarge(f"the PDF has {pages} pages; a resume may have at most {MAX_PAGES}", stage="decode")
    return pages


def extract_text(data: bytes, kind: str) -> str:
    try:
        text: str | None = _pdf_text(data) if kind == "pdf" else _docx_text(data)
    except MemoryError:
        # Under a worker memory cap (VOICEMOCK_WORKER_MEMORY_MB) a document that expands past it
        # fails here. Raise only after leaving the handler: the MemoryError's traceback holds the
        # half-built document, which must be freed before the job records its failure.
        text = None
    if text is None:
        raise PayloadTooLarge("the document needs more memory to parse than a worker may use; "
                              "upload a smaller or simpler file", stage="decode")
    return text[:MAX_TEXT_CHARS]


def _pdf_text(data: bytes) -> str:
    reader = _pdf_reader(data)
    parts: list[str] = []
    size = 0
    try:
        for page in reader.pages[:MAX_PAGES]:
            chunk = page.extract_text() or ""
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_TEXT_CHARS:
                break
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged content streams raise arbitrary pypdf errors
        raise DecodeError(f"the PDF text cannot be extracted: {type(exc).__name__}") from exc
    return "\n".join(parts)


_W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _TBL, _TR, _TC, _T = (_W_NS + n for n in ("p", "tbl", "tr", "tc", "t"))
_BREAKS = {_W_NS + "tab": "\t", _W_NS + "br": "\n", _W_NS + "cr": "\n"}
_READ_CHUNK = 64 * 1024


def _paragraph_text(p: Any) -> str:
    """A paragraph's text as Word shows it: its runs' text, tabs and line breaks, in order."""
    return "".join(el.text or "" if el.tag == _T else _BREAKS[el.tag]
                   for el in p.iter(_T, *_BREAKS))


def _docx_text(data: bytes, *, max_xml_bytes: int = MAX_DOCX_XML_BYTES, max_elements: int = MAX_DOCX_ELEMENTS,
               max_paragraphs: int = MAX_DOCX_PARAGRAPHS) -> str:
    """The text of word/document.xml, read as a stream: body paragraphs and table rows (cells
    joined with " | ") in document order. The XML is inflated and parsed in small chunks and each
    top-level block is dropped once read, so memory stays flat whatever the size; XML bytes,
    elements and paragraphs are capped while parsing, so a document of millions of empty
    paragraphs fails in a moment instead of building a tree of millions of nodes."""
    from lxml import etree

    zf = check_zip(data)  # again: the job must not trust that the upload route checked
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True,
                                 huge_tree=False, remove_comments=True, remove_pis=True)
    lines: list[str] = []
    size = fed = elements = paragraphs = 0
    cells: list[str] = []
    depth = table_depth = 0

    def too_large(what: str) -> PayloadTooLarge:
        return PayloadTooLarge(f"the .docx has more than {what}; a resume has far fewer — upload a smaller or "
                               f"simpler file", stage="decode")

    try:
        with zf.open("word/document.xml") as member:
            while chunk := member.read(_READ_CHUNK):
                fed += len(chunk)
                if fed > max_xml_bytes:
                    raise too_large(f"{max_xml_bytes // (1024 * 1024)} MB of document XML")
                parser.feed(chunk)
                for event, el in parser.read_events():
                    if event == "start":
                        depth += 1
                        elements += 1
                        if elements > max_elements:
                            raise too_large(f"{max_elements} XML elements")
                        if el.tag == _TBL:
                            table_depth += 1
                        continue
                    depth -= 1
                    tag = el.tag
                    if tag == _P:
                        paragraphs += 1
                        if paragraphs > max_paragraphs:
                            raise too_large(f"{max_paragraphs} paragraphs")
                        if table_depth == 0:
                            text = _paragraph_text(el)
                            lines.append(text)
                            size += len(text)
                    elif tag == _TC and table_depth == 1:
                        cell = "\n".join(_paragraph_text(p) for p in el.iter(_P)).strip()
                        if cell:
                            cells.append(cell)
                    elif tag == _TR and table_depth == 1:
                        lines.append(" | ".join(cells))
                        size += len(lines[-1])
                        cells = []
                    elif tag == _TBL:
                        table_depth -= 1
                    if depth == 2 and table_depth == 0:  # a block of w:body read: drop it and its elder siblings
                        el.clear()
                        while el.getprevious() is not None:
                            del el.getparent()[0]
                    if size > MAX_TEXT_CHARS:
                        return "\n".join(lines)
            parser.close()
    except (PayloadTooLarge, MemoryError):
        raise
    except etree.XMLSyntaxError as exc:
        if _xml_out_of_memory(exc):
            raise MemoryError("libxml2 ran out of memory") from None
        raise DecodeError(f"the .docx text cannot be read: {exc.msg or type(exc).__name__}") from exc
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:  # damaged or lying zip member
        raise DecodeError(f"the .docx cannot be read: {type(exc).__name__}") from exc
    return "\n".join(lines)


def _xml_out_of_memory(exc: BaseException) -> bool:
    """libxml2 reports a failed allocation as a syntax error with code ERR_NO_MEMORY; when the
    allocation failure breaks the parse, the error raised may carry the consequence (a truncated
    tag, say) while ERR_NO_MEMORY sits earlier in its error log."""
    from lxml import etree

    if not isinstance(exc, etree.XMLSyntaxError):
        return False
    no_memory = etree.ErrorTypes.ERR_NO_MEMORY
    return exc.code == no_memory or any(entry.type == no_memory for entry in (exc.error_log or ()))


def _heading(line: str) -> str | None:
    key = re.sub(r"[^a-z ]", "", line.lower()).strip()
    if not key or len(line) > 40:
        return None
    return _HEADING_INDEX.get(key)


def split_sections(text: str) -> dict[str, Any]:
    """Contact details from the top, then the text under each recognised heading."""
    lines = [ln.strip() for ln in text.splitlines()]
    sections: dict[str, list[str]] = {}
    current = "header"
    for line in lines:
        if not line:
            continue
        name = _heading(line)
        if name:
            current = name
            sections.setdefault(name, [])
            continue
        sections.setdefault(current, []).append(line)
    header = sections.pop("header", [])
    contact = _contact(header, text)
    out: dict[str, Any] = {"contact": contact}
    for name in HEADINGS:
        body = sections.get(name)
        if body is None:
            continue
        if name == "skills":
            out[name] = _skills(body)
        else:
            out[name] = [_BULLET.sub("", ln) for ln in body]
    return out


def _contact(header: list[str], text: str) -> dict[str, Any]:
    top = "\n".join(header[:8]) or text[:600]
    email = _EMAIL.search(top) or _EMAIL.search(text)
    phone = _PHONE.search(top)
    links = _URL.findall(top)
    name = next((ln for ln in header[:3] if not _EMAIL.search(ln) and not _PHONE.search(ln) and len(ln) <= 60), None)
    return {"name": name, "email": email.group(0) if email else None,
            "phone": phone.group(0).strip() if phone else None, "links": links}


def _skills(lines: list[str]) -> list[str]:
    items: list[str] = []
    for line in lines:
        line = _BULLET.sub("", line)
        if ":" in line and len(line.split(":", 1)[0]) < 30:
            line = line.split(":", 1)[1]
        items.extend(x.strip() for x in re.split(r"[,;|•·]", line) if x.strip())
    return list(dict.fromkeys(items))


def bullets(sections: dict[str, Any], text: str, limit: int = 12) -> list[str]:
    """The experience lines worth rewriting (or the longest lines of the text when there are none)."""
    exp = [ln for ln in sections.get("experience") or [] if len(ln.split()) >= 4]
    if not exp:
        exp = sorted((ln.strip() for ln in text.splitlines() if len(ln.split()) >= 6), key=len, reverse=True)
    return exp[:limit]


def parse_document(data: bytes, kind: str) -> dict[str, Any]:
    text = extract_text(data, kind)
    if not text.strip():
        raise DecodeError("no text could be extracted (a scanned image? upload a text PDF or DOCX)")
    return {"text": text, "sections": split_sections(text)}
