"""Policy text → sentences with their language and model tokens; PDF policies → text.

* :func:`split_sentences` splits at sentence ends (。！？!? and ". "), at line breaks (table rows,
  list items) and never at ";" (a list such as "… IP address; pages viewed; scrolling, clicks and
  mouse-overs" stays with the verb that gives it its purpose). Hard-wrapped lines are re-joined.
* :func:`language_of` tells Japanese and English from everything else, offline: scripts first
  (kana → ja; Han without kana → zh; Cyrillic, Hangul, …); Latin script by its share of English
  function words, and Latin text that is not English by ``langdetect`` (seeded, so the same text
  always gets the same answer), once per document.
* :func:`tokens` turns a sentence into the purpose model's features: lower-cased English words or
  Japanese lemmas (fugashi + unidic-lite, shipped), with every token inside the scope of a negation
  prefixed ``NOT_`` ("we do not record mouse movements" → ``NOT_record NOT_mouse …``), so a
  negated statement never looks like the affirmative one.
* :func:`pdf_text` extracts the text of a PDF policy (pypdf), bounded in pages and characters.
"""
from __future__ import annotations

import functools
import io
import re
import unicodedata

SUPPORTED = ("ja", "en")
MAX_PDF_PAGES = 200
MAX_TEXT = 2_000_000


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").replace("\u200b", "")


# ---------------------------------------------------------------------------------------------
# sentences
# ---------------------------------------------------------------------------------------------
_SPLIT = re.compile(r"(?<=[。!?！？])|(?<=\.)(?=\s)|\n+")
_ABBREV = re.compile(r"(\b(e\.g|i\.e|etc|inc|ltd|co|corp|llc|vs|no|cf|approx|incl|u\.s|dr|mr|mrs|ms|st)\.|\b[A-Z]\.)$", re.I)
_TERMINAL = re.compile(r"[。.!?！？:：;；)）」』|]$")
_LINE_START = re.compile(r"^([・•*\-–—■□●○◆◇>※|]|\(?\d+[.)．、]|第\d+条|[A-Z][a-z]+:)")
_CJK_END = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff]$")
_STRIP = " \t・•*-–—■□●○◆◇>"


def _unwrap(text: str) -> str:
    """Join hard-wrapped lines (PDF and scraped text break sentences at the end of a line)."""
    out: list[str] = []
    for line in (ln.strip() for ln in text.split("\n")):
        previous = out[-1] if out else ""
        if previous and line and not _LINE_START.search(line) and (
                re.search(r"[、,]$", previous) or (len(previous) >= 40 and not _TERMINAL.search(previous))):
            out[-1] = previous + ("" if _CJK_END.search(previous) else " ") + line
        else:
            out.append(line)
    return "\n".join(out)


def split_sentences(text: str) -> list[str]:
    """Sentences of a policy text (NFKC-normalised, unwrapped); bullets and one-character pieces dropped."""
    pieces: list[str] = []
    for piece in _SPLIT.split(_unwrap(normalise(text)[:MAX_TEXT])):
        if pieces and _ABBREV.search(pieces[-1]) and "\n" not in piece:
            pieces[-1] += piece  # "e.g. how …", "Microsoft Corp. provides …"
        else:
            pieces.append(piece)
    out = []
    for piece in pieces:
        piece = re.sub(r"\s+", " ", piece).strip(_STRIP)
        if len(piece) >= 2:
            out.append(piece)
    return out


# ---------------------------------------------------------------------------------------------
# language
# ---------------------------------------------------------------------------------------------
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SCRIPTS = [("ru", re.compile(r"[\u0400-\u04ff]")), ("ko", re.compile(r"[\uac00-\ud7af]")),
            ("ar", re.compile(r"[\u0600-\u06ff]")), ("he", re.compile(r"[\u0590-\u05ff]")),
            ("th", re.compile(r"[\u0e00-\u0e7f]")), ("el", re.compile(r"[\u0370-\u03ff]"))]
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
MIN_DETECT_LETTERS = 25  # shorter Latin text ("Hotjar | _hjid | 1 year") is not judged alone


@functools.lru_cache(maxsize=1)
def _detector():
    from langdetect import DetectorFactory

    DetectorFactory.seed = 0  # deterministic answers
    from langdetect import detect_langs

    return detect_langs


_EN_FUNCTION_WORDS = frozenset(
    "the and to of we you our your is are for with that this in on by or be as it may us from at an any "
    "not will can use which information data site website".split())
LATIN_OTHER = "latin"  # Latin-script text that is not English; settled per document by langdetect


def language_of(text: str) -> str | None:
    """Language of one sentence by its script: ja, zh, ru, ko, …; Latin script is ``en`` when
    English function words make up enough of it, :data:`LATIN_OTHER` when clearly not, and None
    when too short to judge."""
    text = normalise(text)
    kana, han = len(_KANA.findall(text)), len(_HAN.findall(text))
    latin = len(_LATIN.findall(text))
    others = {code: len(rx.findall(text)) for code, rx in _SCRIPTS}
    best_other = max(others, key=others.get)
    if kana and kana + han >= max(latin, others[best_other]) * 0.25:
        return "ja"
    if han and han >= max(latin * 0.5, others[best_other]):
        return "zh"
    if others[best_other] and others[best_other] >= latin * 0.5:
        return best_other
    words = re.findall(r"[a-z\u00c0-\u024f']+", text.lower())
    if latin < MIN_DETECT_LETTERS or len(words) < 4:
        return None
    english = sum(w in _EN_FUNCTION_WORDS for w in words) / len(words)
    if english >= 0.12:
        return "en"
    # table rows and name lists ("script.hotjar.com | _hjid | 1 year") have no function words in any language
    return LATIN_OTHER if english < 0.06 and len(words) >= 8 else None


def _latin_language(text: str) -> str:
    """langdetect's answer for non-English Latin-script text (one call per document: it is slow)."""
    from langdetect.lang_detect_exception import LangDetectException

    try:
        guesses = _detector()(text[:5000])
    except LangDetectException:
        return LATIN_OTHER
    return guesses[0].lang if guesses else LATIN_OTHER


def sentence_languages(sentences: list[str]) -> tuple[list[str], str]:
    """Language per sentence and of the whole document (by characters). Sentences too short to
    judge take the document's language; the document's is that of most of its judged text."""
    judged = [language_of(s) for s in sentences]
    other = [s for s, lang in zip(sentences, judged) if lang == LATIN_OTHER]
    if other:
        settled = _latin_language(" ".join(other))
        judged = [settled if lang == LATIN_OTHER else lang for lang in judged]
    weight: dict[str, int] = {}
    for sentence, lang in zip(sentences, judged):
        if lang:
            weight[lang] = weight.get(lang, 0) + len(sentence)
    document = max(weight, key=weight.get) if weight else "en"
    return [lang or document for lang in judged], document


# ---------------------------------------------------------------------------------------------
# model tokens
# ---------------------------------------------------------------------------------------------
_EN_WORD = re.compile(r"[a-z][a-z0-9']*|\d+")
_EN_NEG = {"not", "never", "no", "without", "neither", "nor", "cannot", "none", "nothing", "nobody"}
_EN_SCOPE_END = {"but", "however", "although", "though", "whereas", "except", "instead", "rather"}
_EN_CLAUSE_END = re.compile(r"[,;:()\[\]|]|\s-\s|\.\s")


_EN_DO_SUPPORT = {"do", "does", "did", "ca", "wo"}  # "do not", "can't" → "ca", "won't" → "wo"


def _english_tokens(sentence: str) -> list[str]:
    """Words; cues ("not", "n't", "never", …) and do-support are dropped, the words in their scope
    (up to the clause's end or "but") carry ``NOT_``: the negation lives in those prefixes only."""
    out: list[str] = []
    for clause in _EN_CLAUSE_END.split(sentence.lower().replace("’", "'")):
        negated = False
        for word in _EN_WORD.findall(clause):
            if word.endswith("n't") or word in _EN_NEG:
                negated = True
                continue
            if word in _EN_SCOPE_END:
                negated = False
            if word in _EN_DO_SUPPORT and not negated:
                continue
            out.append("NOT_" + word if negated else word)
    return out


@functools.lru_cache(maxsize=1)
def _tagger():
    import fugashi

    return fugashi.Tagger()  # unidic-lite, shipped with the package: nothing is downloaded


def _is_negation(word) -> bool:
    f = word.feature
    return f.pos1 == "助動詞" and f.lemma in ("ず", "ない", "ぬ") or (f.pos1 == "形容詞" and f.lemma in ("無い", "ない"))


def _japanese_tokens(sentence: str) -> list[str]:
    """Lemmas of content words; a clause (up to 、/。) whose predicate is negated gets ``NOT_``."""
    out: list[str] = []
    for clause in re.split(r"[、,。]", sentence):
        words = [w for w in _tagger()(clause) if w.feature.pos1 not in ("補助記号", "空白")]
        negated = any(_is_negation(w) for w in words)
        for w in words:
            if _is_negation(w):
                out.append("NEG")
                continue
            lemma = (w.feature.lemma or w.surface).split("-")[0].lower()
            if w.feature.pos1 in ("助詞",) and lemma not in ("ため", "よう", "ように", "により", "によって", "とは"):
                continue
            out.append("NOT_" + lemma if negated else lemma)
    return out


def tokens(sentence: str, language: str | None = None) -> list[str]:
    """Model tokens of one sentence (``language`` 'ja' or 'en'; guessed when None)."""
    sentence = normalise(sentence)
    language = language or ("ja" if _KANA.search(sentence) or _HAN.search(sentence) else "en")
    if language == "ja":
        # Latin words inside Japanese text (service names, "Cookie") as English tokens
        return _japanese_tokens(sentence)
    return _english_tokens(sentence)


# ---------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------
def pdf_text(data: bytes) -> str:
    """Text of a PDF document (first :data:`MAX_PDF_PAGES` pages). Raises ValueError on a file
    that is not a readable PDF (the caller records it as the page's error)."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-object warnings are not our news
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        parts, size = [], 0
        for page in reader.pages[:MAX_PDF_PAGES]:
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
            if size > MAX_TEXT:
                break
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
            OverflowError, ZeroDivisionError, AssertionError) as exc:
        raise ValueError(f"unreadable PDF: {type(exc).__name__}: {str(exc)[:200]}") from exc
    return "\n".join(parts)[:MAX_TEXT]
