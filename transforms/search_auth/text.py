"""Query → nouns. Japanese (any kana/kanji) through MeCab (fugashi + unidic-lite, offline);
other scripts through a word regex with English stop words. Results are cached per distinct
query because search logs repeat queries a lot."""
from __future__ import annotations

import re
from functools import lru_cache

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_SPACES = re.compile(r"[ \u3000\t]+")
STOP_WORDS = frozenset("""a about an and are as at be by can do does for from how i in is it its me my
near of on or the to vs what when where which who why will with you your best free online new""".split())
NOUN_POS = "名詞"


@lru_cache(maxsize=1)
def _tagger():
    import fugashi

    return fugashi.Tagger()


def has_space(query: str) -> bool:
    return bool(_SPACES.search(query.strip()))


@lru_cache(maxsize=500_000)
def nouns(query: str) -> tuple[str, ...]:
    query = query.strip()
    if _JAPANESE.search(query):
        out = []
        for word in _tagger()(query):
            if word.feature.pos1 != NOUN_POS:
                continue
            surface = word.surface.lower()
            if surface not in STOP_WORDS and not surface.isdigit():
                out.append(surface)
        return tuple(out)
    return tuple(w for w in (m.group(0).lower() for m in _WORD.finditer(query))
                 if w not in STOP_WORDS and not w.isdigit())
