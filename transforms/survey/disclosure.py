"""Does a site's privacy policy disclose a service? The learned classifier (issue 20).

A policy is every page the crawler read for it (:class:`PolicyPage`: the privacy policy, the
cookie / tracking policies it links to on the same site, PDF policies), split into sentences that
keep their page's URL. For one service the answer is

* ``both`` / ``purpose_only`` / ``service_only`` / ``neither`` from two halves:
  - **purpose** (site-level, the same for every service of a site): some sentence, in Japanese
    or English, states that the site collects or analyses usage / interaction data for analytics,
    measurement or improvement. :class:`~transforms.survey.policy_model.PurposeModel` scores each
    sentence; statements about websites or cookies in general ("Many websites …", "Cookies are
    small files …", 「Cookieとは…」) are out of scope and never count;
  - **service**: the policy names the service, a vendor or product alias, or the vendor's host
    in a cookie table (``data/policy_names.yaml`` plus the signature's ``policy_terms``), and not
    only in a negated statement ("we do not use … Google Analytics"). Names that are also words
    count only capitalised ("ForeSee", "Glassbox") and, for "Clarity", next to a tool context or
    alone as a list item;
* ``unsupported_language`` when most of the policy is in neither Japanese nor English, unless its
  Japanese/English sentences alone establish both halves;
* ``no_policy`` when no text was read.

Every half keeps its evidence sentence and the URL of the page it is on.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from transforms.survey.policy_text import SUPPORTED, normalise, sentence_languages, split_sentences, tokens

NAMES_PATH = Path(__file__).with_name("data") / "policy_names.yaml"
# bump when the name or scope rules change (part of the classifier version);
# r2: "instead of / rather than / an alternative to X" does not name X as a tool in use
RULES_VERSION = "r2"
CLASSES = ("both", "purpose_only", "service_only", "neither", "unsupported_language", "no_policy")
MAX_EVIDENCE = 1000


@dataclass(frozen=True)
class PolicyPage:
    url: str | None
    text: str | None
    kind: str = "policy"  # policy | linked | pdf


@dataclass(frozen=True)
class Sentence:
    text: str
    url: str | None
    language: str


# ---------------------------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _name_table() -> dict:
    return yaml.safe_load(NAMES_PATH.read_text(encoding="utf-8"))["services"]


def _term_regex(term: str, cased: bool) -> re.Pattern:
    parts = [re.escape(p) for p in re.findall(r"[A-Za-z0-9]+|[^\sA-Za-z0-9.・]+", normalise(term))]
    return re.compile(r"(?<![A-Za-z0-9])" + r"[\s.・]*".join(parts) + r"(?![A-Za-z0-9])", 0 if cased else re.I)


@dataclass(frozen=True)
class ServiceNames:
    service_id: str
    names: tuple[re.Pattern, ...]
    context_only: tuple[re.Pattern, ...]
    hosts: tuple[re.Pattern, ...]

    @classmethod
    def of(cls, service: dict) -> "ServiceNames":
        entry = _name_table().get(service["id"], {})
        special = {normalise(t).lower() for t in entry.get("context_only", []) + entry.get("cased", [])}
        terms = list(entry.get("names", [])) + list(service.get("policy_terms") or []) + [service.get("name") or ""]
        names = sorted({normalise(t) for t in terms if t and normalise(t).lower() not in special})
        return cls(service["id"], tuple([_term_regex(t, cased=False) for t in names] +
                                        [_term_regex(t, cased=True) for t in entry.get("cased", [])]),
                   tuple(_term_regex(t, cased=True) for t in entry.get("context_only", [])),
                   tuple(re.compile(r"(?<![A-Za-z0-9-])(?:[a-z0-9-]+\.)*" + re.escape(h) + r"(?![A-Za-z0-9-])", re.I)
                         for h in entry.get("hosts", [])))


_TOOL_CONTEXT = re.compile(
    r"microsoft|マイクロソフト|\btools?\b|\bservices?\b|provider|vendor|third[- ]part|analytics|heat ?map|"
    r"session (replay|recording)|recording|tracking|\bscript|\bsurvey|cookie|ツール|サービス|提供|ヒートマップ|解析|分析|外部|第三者",
    re.I)
_ANY_TOOL = re.compile(r"hotjar|mouseflow|yandex|contentsquare|crazy ?egg|fullstory|google analytics|smartlook|"
                       r"inspectlet|logrocket|lucky ?orange|googleアナリティクス", re.I)


def _named_at(sentence: str, names: ServiceNames) -> list[int]:
    """Start offsets where ``sentence`` names the service."""
    found = [m.start() for rx in names.names + names.hosts for m in rx.finditer(sentence)]
    for rx in names.context_only:
        for m in rx.finditer(sentence):
            near = sentence[max(0, m.start() - 60): m.end() + 60]
            if _TOOL_CONTEXT.search(near) or _ANY_TOOL.search(sentence) or len(sentence.split()) <= 3:
                found.append(m.start())
    return sorted(found)


# "instead of Google Analytics, Plausible is used": a name after a replacement cue is not a tool in use
_EN_CUE = re.compile(r"\b(not|never|no longer|without|neither|nor|stopped using|n't|instead of|rather than|"
                     r"alternatives? to)\b|n't", re.I)
_EN_BREAK = re.compile(r"[;.]\s|\b(but|however|whereas|although|while|instead)\b|,\s*(and|which|who)\b", re.I)


def _negated_at(sentence: str, start: int, language: str) -> bool:
    """Is the mention at ``start`` inside a negated statement ("we do not use … X")?"""
    if language == "ja":
        clause_start = max(sentence.rfind(c, 0, start) for c in "、,。") + 1
        ends = [i for i in (sentence.find(c, start) for c in "、,。") if i >= 0]
        return "NEG" in tokens(sentence[clause_start: min(ends) if ends else len(sentence)], "ja")
    prefix = sentence[:start]
    cues = list(_EN_CUE.finditer(prefix))
    return bool(cues) and not _EN_BREAK.search(prefix[cues[-1].end():])


# ---------------------------------------------------------------------------------------------
# scope: statements about websites or cookies in general
# ---------------------------------------------------------------------------------------------
_GENERIC = re.compile("|".join([
    r"^(many|most|some|other|numerous|lots of|almost all)\b.{0,40}\b(web ?sites|sites|companies|online services)\b",
    r"^(a |an |the )?(cookies?|web ?beacons?|pixels?|pixel tags?|clear gifs?|tracking technologies|local storage|heat ?maps?|"
    r"session replay( scripts?)?|log files?)\b[^.]{0,30}\b(is|are)\b (a |an )?(small|tiny|text|piece|pieces|data|files?|"
    r"technolog|widely|commonly|generally|used by (many|most|web)|graphic|visual|information (that|which))",
    r"^(analytic(s|al)?|performance|statistic(s|al)?|functional(ity)?|targeting|advertising|marketing|necessary|essential|"
    r"third[- ]party|first[- ]party|session|persistent|tracking) cookies (are|is) (cookies|those|small|files|a type)",
    r"^what (are|is) (a )?(cookies?|web ?beacons?|tracking)",
    r"(cookie|クッキー|ウェブビーコン|ビーコン|ヒートマップ|アクセス解析ツール|トラッキング)[^、。]{0,12}とは",
    r"^(cookie|クッキー)[^、。]{0,12}は、?[^。]{0,60}(情報|ファイル|データ|仕組み)(のこと)?(です|である)",
    r"^一般(に|的に)", r"多くの(ウェブ)?サイト",
]), re.I)


_CONTRAST = re.compile(r",?\s+but\s+(?=\w)", re.I)


def in_scope(sentence: str) -> bool:
    return not _GENERIC.search(sentence)


# ---------------------------------------------------------------------------------------------
# the classifier
# ---------------------------------------------------------------------------------------------
def policy_sentences(pages: list[PolicyPage]) -> tuple[list[Sentence], str | None]:
    """Sentences of every page with their URL and language, and the policy's language."""
    texts, urls = [], []
    for page in pages:
        for sentence in split_sentences(page.text or ""):
            texts.append(sentence)
            urls.append(page.url)
    if not texts:
        return [], None
    languages, document = sentence_languages(texts)
    return [Sentence(t, u, lang) for t, u, lang in zip(texts, urls, languages)], document


class DisclosureClassifier:
    """Site-level purpose from the purpose model, per-service naming from rules."""

    def __init__(self, model, model_version: str, threshold: float | None = None):
        self.model = model
        self.threshold = model.params["threshold"] if threshold is None else threshold
        self.version = f"{model.name}:{model_version}+{RULES_VERSION}"

    def purpose(self, sentences: list[Sentence]) -> tuple[Sentence | None, float]:
        """The best-scoring in-scope Japanese/English sentence and its score (None when below threshold)."""
        candidates = [s for s in sentences if s.language in SUPPORTED and in_scope(s.text)]
        if not candidates:
            return None, 0.0
        # "we don't track individual users … but count traffic for analytics": the clause after a
        # contrast is an assertion of its own, scored alone too (the evidence stays the sentence)
        parts = [(i, part) for i, s in enumerate(candidates) for part in [s.text, *_CONTRAST.split(s.text)[1:]]]
        scores = self.model.score([p for _, p in parts], [candidates[i].language for i, _ in parts])
        best = int(np.argmax(scores))
        found = candidates[parts[best][0]]
        return (found if scores[best] >= self.threshold else None), float(scores[best])

    def classify(self, pages: list[PolicyPage], services: list[dict]) -> dict[str, dict]:
        """``{service id: verdict}`` for one policy (all its pages) and several services."""
        sentences, language = policy_sentences([p for p in pages if p.text])
        verdicts = {}
        if not sentences:
            for service in services:
                verdicts[service["id"]] = _verdict("no_policy", None, None, 0.0, None, self.version)
            return verdicts
        purpose, score = self.purpose(sentences)
        for service in services:
            names = ServiceNames.of(service)
            named = next((s for s in sentences if s.language in SUPPORTED and any(
                not _negated_at(s.text, at, s.language) for at in _named_at(s.text, names))), None)
            cls = {(True, True): "both", (True, False): "purpose_only", (False, True): "service_only",
                   (False, False): "neither"}[(purpose is not None, named is not None)]
            if language not in SUPPORTED and cls != "both":
                cls = "unsupported_language"
            verdicts[service["id"]] = _verdict(cls, purpose, named, score, language, self.version)
        return verdicts


def _verdict(cls: str, purpose: Sentence | None, named: Sentence | None, score: float, language: str | None,
             version: str) -> dict:
    evidence = named if named is not None and cls == "both" or purpose is None else purpose
    unsupported = cls == "unsupported_language"
    return {
        "disclosure_class": cls,
        "mentions_purpose": purpose is not None and not unsupported,
        "mentions_service": named is not None and not unsupported,
        "evidence_sentence": (evidence.text[:MAX_EVIDENCE] if evidence else ""),
        "evidence_url": evidence.url if evidence else None,
        "purpose_sentence": purpose.text[:MAX_EVIDENCE] if purpose else None,
        "purpose_url": purpose.url if purpose else None,
        "purpose_score": round(score, 4),
        "service_sentence": named.text[:MAX_EVIDENCE] if named else None,
        "service_url": named.url if named else None,
        "policy_language": language,
        "classifier_version": version,
    }


# ---------------------------------------------------------------------------------------------
# the survey stage's inputs
# ---------------------------------------------------------------------------------------------
def _as_dict(value) -> dict:
    if value is None:
        return {}
    return value if isinstance(value, dict) else value.model_dump()


def pages_of(policy) -> list[PolicyPage]:
    """The pages of a raw visit's ``policy`` record that were read whole (outcome ok): the policy
    page first (only when it was read, its linked pages with it), then its linked pages."""
    policy = _as_dict(policy)
    if policy.get("outcome") != "ok":
        return []
    records = [(policy, "policy")] + [(_as_dict(p), "linked") for p in policy.get("pages") or []]
    return [PolicyPage(r.get("url"), r.get("text"), "pdf" if r.get("format") == "pdf" else kind)
            for r, kind in records if r.get("outcome") == "ok" and (r.get("text") or "").strip()]


def site_policies(visits) -> dict[str, tuple[str | None, list[PolicyPage]]]:
    """``{domain: (policy URL, pages)}`` from raw visits (dicts or models); of several visits of
    one site (HAR pages) the first whose policy was read."""
    out: dict[str, tuple[str | None, list[PolicyPage]]] = {}
    for visit in visits:
        visit = _as_dict(visit)
        domain, policy = visit.get("domain"), _as_dict(visit.get("policy"))
        pages = pages_of(policy)
        if domain and (domain not in out or (pages and not out[domain][1])):
            out[domain] = (policy.get("url"), pages)
    return out
