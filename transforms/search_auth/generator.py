"""Seeded synthetic search logs in the AOL 2006 format (for the demo, tests and benchmarks).

Each user has: a daily volume (log-normal) with a weekday/weekend factor; separate weekday and
weekend/holiday hour profiles (1–3 peaks); a single-query propensity (SQR); a language (Japanese,
English or mixed); a topic mixture that drifts day by day; a few favourite queries repeated
often. A share of users has a second pattern (a "travel" week or a night-shift period: other
hours and a travel topic). Holidays make everyone behave as on Sundays. ``p_active`` < 1 leaves
days without searches, as in real logs. Click lines repeat a query line (as AOL does).
"""
from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

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
AOL_HEADER = "AnonID\tQuery\tQueryTime\tItemRank\tClickURL\n"


def _profile(rng, peaks: int) -> np.ndarray:
    hours = np.arange(24)
    weights = np.full(24, 0.02)
    for center in rng.choice(np.arange(6, 24), size=peaks, replace=False):
        width = rng.uniform(1.0, 3.0)
        distance = np.minimum(np.abs(hours - center), 24 - np.abs(hours - center))
        weights += rng.uniform(0.5, 1.0) * np.exp(-0.5 * (distance / width) ** 2)
    return weights / weights.sum()


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
        off = day.weekday() >= 5 or holiday
        hours, mixture = (self.weekend_hours if off else self.weekday_hours), self.mixture
        if self.second_pattern and self.second_pattern[0] <= index < self.second_pattern[1]:
            hours = self.second_pattern[2]
            mixture = 0.5 * mixture + 0.5 * np.eye(len(TOPICS))[TOPIC_NAMES.index("travel")]
        n = int(rng.poisson(self.volume * (self.weekend_factor if off else 1.0))) + 1
        rows = []
        for _ in range(n):
            hour = int(rng.choice(24, p=hours))
            stamp = datetime(day.year, day.month, day.day, hour, int(rng.integers(60)), int(rng.integers(60)))
            query = (self.favourites[int(rng.integers(len(self.favourites)))] if rng.random() < self.favourite_rate
                     else self._query(rng, mixture))
            rows.append((stamp, query))
        return rows


def generate(path: str, n_users: int = 100, n_days: int = 91, start: str = "2026-01-01", seed: int = 1,
             p_active: float = 1.0, holidays: tuple[str, ...] = ()) -> dict:
    """Write an AOL-format log to ``path``; returns a summary (users, days, queries, file)."""
    rng = np.random.default_rng(seed)
    first = date.fromisoformat(start)
    users = [User(1000 + u, rng, n_days) for u in range(n_users)]
    holiday_set = set(holidays)
    total = 0
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(AOL_HEADER)
        for index in range(n_days):
            day = first + timedelta(days=index)
            for user in users:
                for stamp, query in sorted(user.day(rng, index, day, day.isoformat() in holiday_set, p_active)):
                    out.write(f"{user.uid}\t{query}\t{stamp:%Y-%m-%d %H:%M:%S}\t\t\n")
                    if rng.random() < 0.3:  # a click: AOL repeats the line with rank and URL
                        out.write(f"{user.uid}\t{query}\t{stamp:%Y-%m-%d %H:%M:%S}\t1\thttp://example.test\n")
                    total += 1
    return {"file": path, "users": n_users, "days": n_days, "start": start, "queries": total, "seed": seed}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=91)
    parser.add_argument("--start", default="2026-01-01")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--p-active", type=float, default=1.0)
    parser.add_argument("--holidays", default="", help="comma-separated YYYY-MM-DD")
    args = parser.parse_args(argv)
    holidays = tuple(h for h in args.holidays.split(",") if h)
    print(generate(args.path, args.users, args.days, args.start, args.seed, args.p_active, holidays))


if __name__ == "__main__":
    main()
