"""Seeded synthetic search logs in the AOL 2006 format (for the demo, tests and benchmarks).

Each user has: a daily volume (log-normal) with a weekday/weekend factor; separate weekday and
weekend/holiday hour profiles (1–3 peaks); a single-query propensity (SQR); a language (Japanese,
English or mixed); a topic mixture that drifts day by day; a few favourite queries repeated
often. A share of users has a second pattern (a "travel" week or a night-shift period: other
hours and a travel topic). Holidays make everyone behave as on Sundays. ``p_active`` < 1 leaves
days without searches, as in real logs. Click lines repeat a query line (as AOL does).

``shape="real"`` (:class:`RealShapeUser`) follows what a real AOL excerpt looks like (1,000 heavy
users, March–May 2006: median 63 active days of 92, a quarter under 52, two outage days with
almost no queries): heavy-tailed activity (many users active only 20–40 of 91 days) and volume,
bursty sessions and burst days, outage days for everyone, topic drift, a long-tailed vocabulary
(made-up names per topic), popular queries shared by everybody (navigational ones), and click
lines with the clicked domain (topic sites, each user's favourite sites, the popular portals).
"""
from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from transforms.search_auth.ingest import AOL_HEADER_LINE

TOPICS = {
    "weather": ("天気 予報 気温 台風 雨 雪 梅雨 花粉", "weather forecast rain snow temperature storm pollen humidity"),
    "food": ("ラーメン レシピ カレー 寿司 焼肉 居酒屋 弁当 ケーキ", "recipe ramen curry sushi pizza restaurant bakery salad"),
    "tech": ("スマホ 修理 パソコン 充電器 アプリ 設定 料金 プラン", "python tutorial laptop charger router linux docker api"),
    "travel": ("ホテル 新幹線 温泉 旅館 空港 観光 時刻表 予約", "hotel flight airport booking train museum beach map"),
    "finance": ("株価 為替 投資 年金 保険 税金 銀行 ローン", "stock exchange rate mortgage tax bank loan pension"),
    "sports": ("野球 サッカー 試合 結果 選手 速報 順位 相撲", "baseball soccer score league player match tennis golf"),
    "health": ("病院 薬 風邪 頭痛 歯医者 ダイエット 睡眠 運動", "clinic medicine cold headache dentist diet sleep fitness"),
    "shopping": ("通販 セール 靴 財布 家具 家電 中古 クーポン", "shoes wallet furniture coupon sale amazon outlet jacket"),
    "music": ("歌詞 ライブ チケット アルバム 歌手 ギター 楽譜 配信", "lyrics concert tickets album guitar chords playlist band"),
    "work": ("求人 転職 履歴書 面接 給料 残業 会議 資格", "jobs resume interview salary meeting excel template certification"),
    "parenting": ("保育園 離乳食 育児 小学校 塾 宿題 絵本 習い事", "daycare homework school toys kindergarten tutor books stroller"),
    "games": ("ゲーム 攻略 ガチャ 新作 任天堂 キャラ 実況 イベント", "game walkthrough nintendo release trailer character mods patch"),
}
TOPIC_NAMES = list(TOPICS)


def _profile(rng, peaks: int) -> np.ndarray:
    hours = np.arange(24)
    weights = np.full(24, 0.02)
    for center in rng.choice(np.arange(6, 24), size=peaks, replace=False):
        width = rng.uniform(1.0, 3.0)
        distance = np.minimum(np.abs(hours - center), 24 - np.abs(hours - center))
        weights += rng.uniform(0.5, 1.0) * np.exp(-0.5 * (distance / width) ** 2)
    return weights / weights.sum()


def _day_pattern(user, index: int, day: date, holiday: bool):
    """(day off?, hour profile, topic mixture) of ``user`` on ``day``: weekend/holiday hours, and
    during a user's second pattern (a trip) other hours and a travel-heavy mixture."""
    off = day.weekday() >= 5 or holiday
    hours, mixture = (user.weekend_hours if off else user.weekday_hours), user.mixture
    if user.second_pattern and user.second_pattern[0] <= index < user.second_pattern[1]:
        hours = user.second_pattern[2]
        mixture = 0.5 * mixture + 0.5 * np.eye(len(TOPICS))[TOPIC_NAMES.index("travel")]
    return off, hours, mixture


class User:
    def __init__(self, uid: int, rng: np.random.Generator, n_days: int):
        self.uid = uid
        self.volume = float(np.exp(rng.normal(2.2, 0.5)))
        self.weekend_factor = rng.uniform(0.5, 1.6)
        self.weekday_hours = _profile(rng, int(rng.integers(1, 4)))
        self.weekend_hours = _profile(rng, int(rng.integers(1, 4)))
        self.single_rate = float(rng.beta(2, 2))
        self.language = rng.choice(["ja", "en", "mixed"], p=[0.6, 0.25, 0.15])
        self.mixture = rng.dirichlet(np.full(len(TOPICS), 0.3))
        self.drift = rng.uniform(0.02, 0.1)
        self.favourites = [self._query(rng) for _ in range(int(rng.integers(2, 6)))]
        self.favourite_rate = rng.uniform(0.05, 0.35)
        self.second_pattern = None
        if rng.random() < 0.2:  # travel or shift-work period: other hours, travel topic
            start = int(rng.integers(0, max(n_days - 7, 1)))
            self.second_pattern = (start, start + int(rng.integers(5, 15)), _profile(rng, 2))

    def _word(self, rng, topic: str) -> str:
        ja, en = (s.split() for s in TOPICS[topic])
        language = self.language if self.language != "mixed" else rng.choice(["ja", "en"])
        return str(rng.choice(ja if language == "ja" else en))

    def _query(self, rng, mixture=None) -> str:
        topic = TOPIC_NAMES[rng.choice(len(TOPICS), p=self.mixture if mixture is None else mixture)]
        n_words = 1 if rng.random() < self.single_rate else int(rng.integers(2, 4))
        words = list(dict.fromkeys(self._word(rng, topic) for _ in range(n_words)))
        return (" " if rng.random() < 0.9 else "\u3000").join(words) if len(words) > 1 else words[0]

    def day(self, rng, index: int, day: date, holiday: bool, p_active: float):
        if rng.random() > p_active:
            return []
        self.mixture = 0.9 * self.mixture + 0.1 * rng.dirichlet(np.full(len(TOPICS), 0.3)) * self.drift * 10
        self.mixture /= self.mixture.sum()
        off, hours, mixture = _day_pattern(self, index, day, holiday)
        n = int(rng.poisson(self.volume * (self.weekend_factor if off else 1.0))) + 1
        rows = []
        for _ in range(n):
            hour = int(rng.choice(24, p=hours))
            stamp = datetime(day.year, day.month, day.day, hour, int(rng.integers(60)), int(rng.integers(60)))
            query = (self.favourites[int(rng.integers(len(self.favourites)))] if rng.random() < self.favourite_rate
                     else self._query(rng, mixture))
            rows.append((stamp, query))
        return rows


_SYLLABLES = "ka ri mo na te su lo vi da ne po ra mi ku sa to be ly an or el is um ba".split()
POPULAR = [("google", "google.com"), ("yahoo", "yahoo.com"), ("ebay", "ebay.com"), ("mapquest", "mapquest.com"),
           ("myspace", "myspace.com"), ("weather", "weather.com"), ("amazon", "amazon.com"), ("bank of america",
           "bankofamerica.com"), ("walmart", "walmart.com"), ("craigslist", "craigslist.org"), ("msn", "msn.com"),
           ("american idol", "americanidol.com"), ("white pages", "whitepages.com"), ("hotmail", "hotmail.com"),
           ("target", "target.com"), ("dictionary", "dictionary.com"), ("best buy", "bestbuy.com"),
           ("southwest airlines", "southwest.com"), ("home depot", "homedepot.com"), ("irs", "irs.gov")]


def _vocabulary(rng, per_topic: int = 150) -> dict[str, list[str]]:
    """Per topic: its English words plus made-up names (a long tail of rare nouns)."""
    vocab = {}
    for topic, (_ja, en) in TOPICS.items():
        names = {"".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 4)))) for _ in range(per_topic)}
        vocab[topic] = en.split() + sorted(names)
    return vocab


class RealShapeUser:
    """A user of a real-looking log (see the module doc)."""

    def __init__(self, uid: int, rng: np.random.Generator, n_days: int, vocab: dict, sites: dict):
        self.uid = uid
        # activity: most users 20-40 of 91 days, some nearly daily, a few very rare (heavy tail)
        self.p_active = float(np.clip(rng.choice([rng.beta(3, 6), rng.beta(8, 2), rng.beta(1.2, 8)],
                                                 p=[0.6, 0.3, 0.1]), 0.06, 0.98))
        self.volume = float(np.exp(rng.normal(1.6, 0.8)))  # queries per active day, log-normal
        self.weekend_factor = rng.uniform(0.4, 1.6)
        self.weekday_hours = _profile(rng, int(rng.integers(1, 4)))
        self.weekend_hours = _profile(rng, int(rng.integers(1, 4)))
        self.single_rate = float(rng.beta(2, 3))
        self.mixture = rng.dirichlet(np.full(len(TOPICS), 0.2))
        self.drift = rng.uniform(0.02, 0.15)
        self.vocab, self.sites = vocab, sites
        # each user knows only part of a topic's long tail, with Zipf-like preferences
        self.word_weights = {t: rng.pareto(1.2, len(words)) + 1e-3 for t, words in vocab.items()}
        self.popular_rate = rng.uniform(0.02, 0.3)  # share of queries that are popular navigational ones
        self.popular_pref = rng.dirichlet(np.full(len(POPULAR), 0.3))
        self.favourites = [self._query(rng) for _ in range(int(rng.integers(1, 6)))]
        self.favourite_rate = rng.uniform(0.0, 0.3)
        self.click_rate = rng.uniform(0.3, 0.8)
        self.own_sites = {t: list(rng.choice(s, size=min(3, len(s)), replace=False)) for t, s in sites.items()}
        self.second_pattern = None
        if rng.random() < 0.2:  # travel or shift-work period
            start = int(rng.integers(0, max(n_days - 7, 1)))
            self.second_pattern = (start, start + int(rng.integers(5, 15)), _profile(rng, 2))

    def _query(self, rng, mixture=None) -> tuple[str, str]:
        topic = TOPIC_NAMES[rng.choice(len(TOPICS), p=self.mixture if mixture is None else mixture)]
        words, weights = self.vocab[topic], self.word_weights[topic]
        n_words = 1 if rng.random() < self.single_rate else int(rng.integers(2, 5))
        picked = rng.choice(len(words), size=n_words, p=weights / weights.sum())
        return " ".join(dict.fromkeys(words[i] for i in picked)), topic

    def day(self, rng, index: int, day: date, holiday: bool, outage: bool):
        active = rng.random() < self.p_active
        if not active:
            return []
        self.mixture = (1 - self.drift) * self.mixture + self.drift * rng.dirichlet(np.full(len(TOPICS), 0.2))
        self.mixture /= self.mixture.sum()
        off, hours, mixture = _day_pattern(self, index, day, holiday)
        burst = 3.0 if rng.random() < 0.05 else 1.0
        n = int(rng.poisson(self.volume * burst * (self.weekend_factor if off else 1.0))) + 1
        rows = []
        while len(rows) < n:  # sessions: a few queries minutes apart
            hour = int(rng.choice(24, p=hours))
            moment = datetime(day.year, day.month, day.day, hour, int(rng.integers(60)), int(rng.integers(60)))
            for _ in range(min(int(rng.geometric(0.45)), n - len(rows))):
                if moment.date() != day:
                    break
                if rng.random() < self.popular_rate:
                    query, site = POPULAR[int(rng.choice(len(POPULAR), p=self.popular_pref))]
                    clicks = [site] if rng.random() < 0.9 else []
                else:
                    if self.favourites and rng.random() < self.favourite_rate:
                        query, topic = self.favourites[int(rng.integers(len(self.favourites)))]
                    else:
                        query, topic = self._query(rng, mixture)
                    pool = self.own_sites[topic] if rng.random() < 0.6 else self.sites[topic]
                    clicks = [str(rng.choice(pool)) for _ in range(int(rng.geometric(0.6)))] \
                        if rng.random() < self.click_rate else []
                if not (outage and rng.random() < 0.98):  # an outage day loses almost every query
                    rows.append((moment, query, clicks))
                else:
                    n -= 1
                moment += timedelta(seconds=int(rng.integers(10, 300)))
        return rows


def generate(path: str, n_users: int = 100, n_days: int = 91, start: str = "2026-01-01", seed: int = 1,
             p_active: float = 1.0, holidays: tuple[str, ...] = (), shape: str = "daily",
             outages: int = 2) -> dict:
    """Write an AOL-format log to ``path``; returns a summary (users, days, queries, file).
    ``shape``: ``daily`` (the thesis panel: ``p_active`` of days active, 1.0 = every day) or
    ``real`` (a real log's shape, see the module doc; ``p_active`` is not used)."""
    rng = np.random.default_rng(seed)
    first = date.fromisoformat(start)
    if shape == "real":
        vocab = _vocabulary(rng)
        sites = {t: [f"www.{w}{rng.choice(['', 'online', 'hq', 'world'])}.com" for w in words[-40:]]
                 for t, words in vocab.items()}
        users = [RealShapeUser(1000 + u, rng, n_days, vocab, sites) for u in range(n_users)]
        outage_days = set(rng.choice(np.arange(n_days), size=min(outages, n_days), replace=False).tolist())
    elif shape == "daily":
        users = [User(1000 + u, rng, n_days) for u in range(n_users)]
        outage_days = set()
    else:
        raise ValueError(f"shape {shape!r}: daily or real")
    holiday_set = set(holidays)
    total = clicked = 0
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(AOL_HEADER_LINE)
        for index in range(n_days):
            day = first + timedelta(days=index)
            for user in users:
                if shape == "real":
                    rows = user.day(rng, index, day, day.isoformat() in holiday_set, index in outage_days)
                    for stamp, query, clicks in sorted(rows):
                        for url in clicks or [""]:
                            rank = int(rng.integers(1, 11)) if url else ""
                            out.write(f"{user.uid}\t{query}\t{stamp:%Y-%m-%d %H:%M:%S}\t{rank}\t"
                                      f"{'http://' + url if url else ''}\n")
                        clicked += bool(clicks)
                        total += 1
                    continue
                for stamp, query in sorted(user.day(rng, index, day, day.isoformat() in holiday_set, p_active)):
                    out.write(f"{user.uid}\t{query}\t{stamp:%Y-%m-%d %H:%M:%S}\t\t\n")
                    if rng.random() < 0.3:  # a click: AOL repeats the line with rank and URL
                        out.write(f"{user.uid}\t{query}\t{stamp:%Y-%m-%d %H:%M:%S}\t1\thttp://example.test\n")
                    total += 1
    summary = {"file": path, "users": n_users, "days": n_days, "start": start, "queries": total, "seed": seed,
               "shape": shape}
    if shape == "real":
        summary.update(clicked_queries=clicked, outage_days=sorted((first + timedelta(days=int(i))).isoformat()
                                                                   for i in outage_days))
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=91)
    parser.add_argument("--start", default="2026-01-01")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--p-active", type=float, default=1.0)
    parser.add_argument("--holidays", default="", help="comma-separated YYYY-MM-DD")
    parser.add_argument("--shape", choices=["real", "daily"], default="real",
                        help="real: a real log's shape (sparse, heavy-tailed, clicks); daily: the thesis panel")
    args = parser.parse_args(argv)
    holidays = tuple(h for h in args.holidays.split(",") if h)
    print(generate(args.path, args.users, args.days, args.start, args.seed, args.p_active, holidays, args.shape))


if __name__ == "__main__":
    main()
