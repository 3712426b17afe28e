"""Site categories for adopting sites (SPEC §S1 step 2).

The paper used Norton Safe Web categories (a vendor service, not available offline). Here:

1. If ``mapping_csv`` is given (CSV with columns ``domain,category``, e.g. a vendor export), its
   category wins for every domain it lists (``category_source = "input"``).
2. Every other domain gets a **keyword heuristic** (``category_source = "heuristic"``): the
   page title, meta description and meta keywords (NFKC-normalised, lower-cased) are searched
   for English and Japanese keywords of each Norton-like category below; each keyword hit scores
   1 (title hits count 2); the highest total wins, ties go to the earlier category in
   ``CATEGORY_KEYWORDS``; no hit at all → ``Uncategorized``. A ``.go.jp``/``.gov``/``.lg.jp``
   domain is Government/Legal and an ``.ac.jp``/``.edu`` domain Education regardless of text.

This is a heuristic: it will misfile sites whose titles are brand names only, and it is no
substitute for a curated category source. The HTML body is not used (too noisy).
"""
from __future__ import annotations

import re
import unicodedata

import pandas as pd

CATEGORY_KEYWORDS: dict[str, list[str]] = {
    "Government/Legal": ["government", "ministry", "city of", "prefecture", "official website of", "law firm",
                         "attorney", "legal", "政府", "省庁", "官公庁", "市役所", "区役所", "県庁", "都庁", "自治体",
                         "法律事務所", "弁護士", "行政書士", "司法書士"],
    "Finance/Banking": ["bank", "banking", "finance", "financial", "insurance", "loan", "credit card", "securities",
                        "invest", "trading", "crypto", "fx", "銀行", "金融", "保険", "証券", "ローン", "クレジット",
                        "カード", "投資", "資産運用", "株式", "仮想通貨", "信用金庫"],
    "Shopping": ["shop", "store", "buy", "sale", "cart", "fashion", "outlet", "mall", "ecommerce", "online store",
                 "free shipping", "通販", "ショップ", "ストア", "販売", "購入", "送料無料", "オンラインショップ",
                 "セール", "楽天", "ファッション", "家具", "コスメ", "通信販売"],
    "News/Media": ["news", "newspaper", "magazine", "media", "breaking", "journal", "press", "headlines",
                   "ニュース", "新聞", "速報", "メディア", "マガジン", "雑誌", "報道", "情報サイト"],
    "Education": ["university", "college", "school", "academy", "education", "course", "learning", "student",
                  "大学", "学校", "学園", "高校", "教育", "学習", "塾", "スクール", "講座", "資格"],
    "Travel": ["travel", "hotel", "flight", "airline", "tour", "booking", "resort", "vacation", "trip",
               "旅行", "ホテル", "旅館", "航空", "ツアー", "観光", "宿泊", "温泉", "予約"],
    "Health": ["health", "medical", "clinic", "hospital", "pharmacy", "doctor", "dental", "wellness", "fitness",
               "健康", "医療", "病院", "クリニック", "薬", "歯科", "介護", "美容", "サプリ"],
    "Entertainment": ["game", "games", "music", "movie", "anime", "video", "streaming", "entertainment", "manga",
                      "comic", "sports", "ゲーム", "音楽", "映画", "アニメ", "動画", "漫画", "マンガ", "エンタメ",
                      "芸能", "スポーツ", "競馬"],
    "Business/Economy": ["company", "corporate", "business", "solutions", "consulting", "manufacturer",
                         "industrial", "b2b", "recruit", "careers", "株式会社", "企業", "会社", "コーポレート",
                         "事業", "ビジネス", "製造", "求人", "採用", "不動産", "コンサル", "経済"],
    "Technology/Internet": ["software", "cloud", "saas", "app", "developer", "technology", "tech", "internet",
                            "web service", "hosting", "ai", "platform", "api", "ソフトウェア", "クラウド",
                            "アプリ", "テクノロジー", "インターネット", "システム", "開発", "サーバー", "ウェブサービス",
                            "it企業", "プログラミング"],
}
UNCATEGORIZED = "Uncategorized"
CATEGORIES = list(CATEGORY_KEYWORDS) + [UNCATEGORIZED]

_DOMAIN_RULES = [(re.compile(r"\.(go|lg)\.jp$|\.gov(\.[a-z]{2})?$|\.gouv\.[a-z]{2}$|\.gob\.[a-z]{2}$"), "Government/Legal"),
                 (re.compile(r"\.ac\.jp$|\.edu(\.[a-z]{2})?$|\.ac\.[a-z]{2}$"), "Education")]


def _pattern(word: str) -> re.Pattern:
    word = word.lower()
    if re.fullmatch(r"[a-z0-9 ]+", word):  # latin: whole words (allow plural s)
        return re.compile(r"(?<![a-z0-9])" + re.escape(word) + r"s?(?![a-z0-9])")
    return re.compile(re.escape(word))


_PATTERNS = {cat: [_pattern(w) for w in words] for cat, words in CATEGORY_KEYWORDS.items()}


def _clean(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return unicodedata.normalize("NFKC", str(value)).lower()


def heuristic_category(domain: str, title: str = "", description: str = "", keywords: str = "") -> str:
    """Keyword-heuristic category of one site (see the module docstring)."""
    domain = (domain or "").lower()
    for rx, cat in _DOMAIN_RULES:
        if rx.search(domain):
            return cat
    title_t = _clean(title)
    rest = _clean(description) + " \n " + _clean(keywords)
    best, best_score = UNCATEGORIZED, 0
    for cat, patterns in _PATTERNS.items():
        score = sum(2 * len(p.findall(title_t)) + len(p.findall(rest)) for p in patterns)
        if score > best_score:
            best, best_score = cat, score
    return best


def _read_mapping(mapping_csv: str) -> dict[str, str]:
    frame = pd.read_csv(mapping_csv, dtype=str, keep_default_na=False)
    cols = {c.lower().strip(): c for c in frame.columns}
    if "domain" not in cols or "category" not in cols:
        raise ValueError(f"{mapping_csv}: needs columns domain,category (has {list(frame.columns)})")
    out = {}
    for dom, cat in zip(frame[cols["domain"]], frame[cols["category"]]):
        dom, cat = dom.strip().lower(), cat.strip()
        if dom and cat:
            out[dom] = cat
    return out


def categorize(pages: pd.DataFrame, mapping_csv: str | None = None) -> pd.DataFrame:
    """One row per domain of ``pages`` (CATEGORIES schema: domain, category, category_source).

    ``pages`` needs ``domain`` and may have ``title``, ``meta_description``, ``meta_keywords``
    (``html`` is accepted but not used). Domains in ``mapping_csv`` get that category with
    source ``input``; the rest the keyword heuristic with source ``heuristic``.
    """
    mapping = _read_mapping(mapping_csv) if mapping_csv else {}
    rows = []
    seen = set()
    for rec in pages.to_dict("records"):
        domain = str(rec.get("domain") or "").strip().lower()
        if not domain or domain in seen:
            continue
        seen.add(domain)
        if domain in mapping:
            rows.append({"domain": domain, "category": mapping[domain], "category_source": "input"})
        else:
            cat = heuristic_category(domain, rec.get("title"), rec.get("meta_description"), rec.get("meta_keywords"))
            rows.append({"domain": domain, "category": cat, "category_source": "heuristic"})
    return pd.DataFrame(rows, columns=["domain", "category", "category_source"])
