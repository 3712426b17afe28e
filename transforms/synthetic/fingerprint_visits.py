"""Synthetic fingerprint histories (seeded): what the collection site of the paper would see.

Model, per device (all choices drawn from one ``random.Random(seed)``):
- an *image* (OS, browser family, font set, plugins, screen, language, time zone): corporate
  images are shared by several lookalike devices, which also share the office's global IP;
- browsers update on their real cadence (Chrome and Firefox a major version every 6 weeks,
  Safari yearly, IE rarely), each device a few days to weeks late: the UA changes, never backwards;
- Flash/Java plugin versions bump every ~2 months; fonts and plugins get installed/removed;
- the time zone follows DST (US and EU rules, Japan none) and sometimes travel;
- home IPs change (DHCP), laptops move between networks;
- cookie clearing: the same device comes back with a new UID (the paper's source of "FP");
- visits: most devices come once, ~37% return (565 of 1,513 UIDs in the paper) with heavy-tailed gaps.

Each visit carries ``uid`` (cookie), ``ts`` and the 20 attributes, plus ``truth_device`` (the
generator's ground truth, never used by the methods).
"""
from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

EPOCH = date(2013, 1, 1)
FONT_POOL = [f"{base} {style}".strip() for base in (
    "Arial", "Helvetica", "Times New Roman", "Courier New", "Verdana", "Georgia", "Tahoma", "Trebuchet MS",
    "Meiryo", "MS Gothic", "MS Mincho", "Yu Gothic", "Hiragino Kaku Gothic", "Osaka", "Calibri", "Cambria",
    "Consolas", "Segoe UI", "Lucida Grande", "DejaVu Sans", "Liberation Serif", "Noto Sans CJK", "Ubuntu",
    "Garamond", "Futura", "Gill Sans", "Impact", "Comic Sans MS", "Palatino", "Optima")
    for style in ("", "Bold", "Italic", "Light", "Condensed")]
EXTRA_PLUGINS = ["Adobe Acrobat", "QuickTime Plug-in", "Silverlight Plug-In", "Google Update", "Unity Player",
                 "Windows Media Player", "VLC Web Plugin", "RealPlayer", "Picasa", "Garmin Communicator"]
OS_CHOICES = [("Windows NT 6.1", "win", 0.45), ("Windows NT 6.3", "win", 0.15), ("Macintosh; Intel Mac OS X 10_9", "mac", 0.2),
              ("X11; Linux x86_64", "linux", 0.05), ("iPhone; CPU iPhone OS 8_1 like Mac OS X", "ios", 0.1),
              ("Linux; Android 4.4", "android", 0.05)]
ZONES = {"jp": (-540, None), "us": (300, "us"), "eu": (-60, "eu"), "uk": (0, "eu")}
SCREENS = ["1920x1080", "1366x768", "1280x800", "1440x900", "2560x1440", "1600x900", "1280x1024", "375x667", "360x640"]
REFERERS = ["", "https://www.google.co.jp/", "https://fp.example.jp/"]
LANGS = ["ja,en-US;q=0.8,en;q=0.6", "ja-JP", "en-US,en;q=0.8", "en-GB,en;q=0.8", "de-DE,de;q=0.8,en;q=0.5"]


def _cadence_version(family: str, day: date) -> int:
    days = (day - EPOCH).days
    return {"chrome": 24 + days // 42, "firefox": 18 + days // 42, "safari": 6 + days // 365,
            "ie": 10 + days // 500}[family]


def _dst_active(rule: str | None, day: date) -> bool:
    if rule is None:
        return False
    if rule == "us":  # second Sunday of March .. first Sunday of November
        start = date(day.year, 3, 8) + timedelta(days=(6 - date(day.year, 3, 8).weekday()) % 7)
        end = date(day.year, 11, 1) + timedelta(days=(6 - date(day.year, 11, 1).weekday()) % 7)
    else:  # EU: last Sunday of March .. last Sunday of October
        start = date(day.year, 3, 31) - timedelta(days=(date(day.year, 3, 31).weekday() + 1) % 7)
        end = date(day.year, 10, 31) - timedelta(days=(date(day.year, 10, 31).weekday() + 1) % 7)
    return start <= day < end


@dataclass
class Image:
    os: str
    kind: str
    family: str
    fonts: list[str]
    plugins: list[str]
    screen: str
    lang: str
    zone: str
    corporate_ip: str | None = None


@dataclass
class Device:
    device_id: str
    image: Image
    lag_days: int
    fonts: list[str]
    plugins: list[str]
    home_ip: str
    private_ip: str
    uid: str
    referer: str = ""
    travel_until: date | None = None
    extras: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 7
    devices: int = 1500
    start: date = date(2014, 1, 1)
    days: int = 420
    return_rate: float = 0.37
    mean_returns: float = 5.0
    corporate_share: float = 0.15  # devices cloned from a shared corporate image (lookalikes)
    cookie_clear_rate: float = 0.12  # per return visit
    missing_rate: float = 0.004  # per attribute and visit: not collected (script blocked, timeout)


class HistoryGenerator:
    def __init__(self, config: GeneratorConfig = GeneratorConfig()):
        self.config = config
        self.rng = random.Random(config.seed)
        self.uid_counter = 0
        self.corporate_images = [self._image(corporate=True) for _ in range(max(1, config.devices // 60))]

    def _uid(self) -> str:
        self.uid_counter += 1
        return f"u{self.config.seed:03d}-{self.uid_counter:07d}"

    def _ip(self) -> str:
        r = self.rng
        return f"{r.choice([60, 61, 114, 126, 133, 153, 180, 202, 210, 219])}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def _image(self, corporate: bool = False) -> Image:
        r = self.rng
        os_name, kind, _ = r.choices(OS_CHOICES, weights=[w for *_, w in OS_CHOICES])[0]
        family = {"win": r.choice(["chrome", "chrome", "firefox", "ie"]), "mac": r.choice(["safari", "chrome", "firefox"]),
                  "linux": r.choice(["chrome", "firefox"]), "ios": "safari", "android": "chrome"}[kind]
        fonts = r.sample(FONT_POOL, r.randint(8, 60)) if kind in ("win", "mac", "linux") else []
        plugins = (["Shockwave Flash"] + r.sample(EXTRA_PLUGINS, r.randint(0, 5))) if kind in ("win", "mac", "linux") else []
        screen = r.choice(SCREENS[:7] if kind in ("win", "mac", "linux") else SCREENS[7:])
        zone = r.choices(list(ZONES), weights=[6, 2, 1, 1])[0]
        lang = LANGS[0 if zone == "jp" else r.randrange(1, len(LANGS))] if zone != "jp" or r.random() < 0.8 else LANGS[1]
        return Image(os_name, kind, family, fonts, plugins, screen, lang, zone, self._ip() if corporate else None)

    def _device(self, number: int) -> Device:
        r = self.rng
        if r.random() < self.config.corporate_share:
            image = r.choice(self.corporate_images)
            fonts, plugins = list(image.fonts), list(image.plugins)
        else:
            image = self._image()
            fonts = list(image.fonts) + r.sample(FONT_POOL, r.randint(0, 4)) if image.fonts else []
            plugins = list(image.plugins)
        return Device(f"d{self.config.seed:03d}-{number:06d}", image, r.randint(0, 21), fonts, plugins,
                      image.corporate_ip or self._ip(), f"192.168.{r.randrange(3)}.{r.randint(2, 250)}", self._uid(),
                      r.choice(REFERERS))

    def _user_agent(self, device: Device, day: date) -> str:
        image = device.image
        version = _cadence_version(image.family, day - timedelta(days=device.lag_days))
        platform = f"Mozilla/5.0 ({image.os})"
        if image.family == "chrome":
            return f"{platform} AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{version}.0.{1700 + version * 20}.{(day.toordinal() // 9) % 90} Safari/537.36"
        if image.family == "firefox":
            return f"{platform} Gecko/20100101 Firefox/{version}.0"
        if image.family == "safari":
            return f"{platform} AppleWebKit/600.1.4 (KHTML, like Gecko) Version/{version}.0 Safari/600.1.4"
        return f"Mozilla/5.0 ({image.os}; Trident/7.0; rv:{min(version, 11)}.0) like Gecko"

    def _evolve(self, device: Device, day: date, gap_days: float) -> None:
        """Changes between two visits (more likely the longer the gap): installs, removals,
        network moves; and, per return visit, travel and cookie clearing."""
        r, image = self.rng, device.image

        def happens(every_days: float) -> bool:
            return r.random() < 1 - math.exp(-gap_days / every_days)

        if device.fonts and happens(150):
            device.fonts.append(r.choice(FONT_POOL))
        if device.plugins and happens(200):
            device.plugins.append(r.choice(EXTRA_PLUGINS))
        if len(device.plugins) > 1 and happens(300):
            device.plugins.remove(r.choice(device.plugins[1:]))
        if image.corporate_ip is None and (happens(25) or r.random() < 0.05):
            device.home_ip = self._ip()
        if happens(60):
            device.private_ip = f"192.168.{r.randrange(3)}.{r.randint(2, 250)}"
        if r.random() < 0.1:
            device.referer = r.choice(REFERERS)
        if r.random() < 0.03:
            device.travel_until = day + timedelta(days=r.randint(2, 10))
        if r.random() < self.config.cookie_clear_rate:
            device.uid = self._uid()

    def _visit(self, device: Device, when: datetime) -> dict:
        r, image, day = self.rng, device.image, when.date()
        base_offset, rule = ZONES[image.zone]
        offset = base_offset - (60 if _dst_active(rule, day) else 0)
        if device.travel_until and day <= device.travel_until:
            offset = r.choice([-540, 300, -60, 480])
        flash = f"Shockwave Flash {11 + (day - EPOCH).days // 60}.0 r0"
        plugins = [flash if p == "Shockwave Flash" else p for p in device.plugins]
        ua = self._user_agent(device, day)
        mobile = image.kind in ("ios", "android")
        record = {
            "uid": device.uid, "ts": when.replace(microsecond=0).isoformat(), "truth_device": device.device_id,
            "plugins": ";".join(plugins), "global_ip": device.home_ip, "js_user_agent": ua,
            "fonts": ",".join(sorted(set(device.fonts))), "http_user_agent": ua, "private_ip": device.private_ip,
            "screen": f"{image.screen}x{24 if image.kind != 'linux' else 32}", "sse2": str(not mobile).lower(),
            "accept_language": image.lang, "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "origin": "", "connection": "keep-alive", "referer": device.referer,
            "device_pixel_ratio": "2" if mobile or image.kind == "mac" else "1",
            "accept_encoding": "gzip, deflate" + (", sdch" if image.family == "chrome" else ""),
            "touch": str(mobile).lower(), "timezone": str(offset), "accept_charset": "Shift_JIS,utf-8;q=0.7,*;q=0.3" if image.zone == "jp" else "",
            "local_storage": "true", "session_storage": "true",
        }
        for name in list(record)[3:]:
            if r.random() < self.config.missing_rate:
                del record[name]
        return record

    def visits(self) -> list[dict]:
        """All visits of all devices, in time order."""
        return _visit_history(self)


_CHROMIUM = re.compile(r"\b(Chrome|CriOS|Edg|EdgiOS|EdgA|OPR|Firefox|FxiOS|GSA|SamsungBrowser)/(\d+)")
_IOS = re.compile(r"\b(iPhone OS|CPU OS) (\d+)_")
_SAFARI_VERSION = re.compile(r"\bVersion/(\d+)")
RELEASE_DAYS = {"Chrome": 28, "CriOS": 28, "Edg": 28, "EdgiOS": 28, "EdgA": 28, "OPR": 28, "Firefox": 28,
                "FxiOS": 28, "GSA": 7, "SamsungBrowser": 56}  # majors per period; Safari/iOS: yearly (September)
LANGUAGE_ZONES = {"en-US": ("us", [300, 360, 420, 480]), "en-GB": ("eu", [0]), "de": ("eu", [-60]), "fr": ("eu", [-60]),
                  "ja": (None, [-540]), "es": ("eu", [-60]), "en-CA": ("us", [300, 480]), "pt-BR": (None, [180]),
                  "en-AU": (None, [-600]), "it": ("eu", [-60]), "nl": ("eu", [-60])}
HTTP_ONLY = ("http_user_agent", "accept_language", "accept", "accept_encoding")


def _septembers_between(earlier: date, later: date) -> int:
    return sum(1 for year in range(earlier.year, later.year + 1)
               if earlier < date(year, 9, 15) <= later)


def age_user_agent(ua: str, lagged_day: date, end: date) -> str:
    """The UA as it read on ``lagged_day`` if ``ua`` is what the browser reports on ``end``:
    Chromium/Firefox majors every 4 weeks (GSA weekly, Samsung every 8), Safari and iOS yearly."""
    days_back = max((end - lagged_day).days, 0)
    years_back = _septembers_between(lagged_day, end)

    def chromium(m: re.Match) -> str:
        return f"{m.group(1)}/{max(int(m.group(2)) - days_back // RELEASE_DAYS[m.group(1)], 1)}"

    aged = _CHROMIUM.sub(chromium, ua)
    if "iPhone" in aged or "iPad" in aged:
        aged = _IOS.sub(lambda m: f"{m.group(1)} {max(int(m.group(2)) - years_back, 9)}_", aged)
    if ("iPhone" in aged or "iPad" in aged or "Macintosh" in aged) and not _CHROMIUM.search(aged):
        aged = _SAFARI_VERSION.sub(lambda m: f"Version/{max(int(m.group(1)) - years_back, 9)}", aged)
    return aged


def _visit_history(generator) -> list[dict]:
    """Every device's first visit at a random time, then (for returning devices) visits after
    heavy-tailed gaps, the device evolving before each; all visits in time order. ``generator``
    provides ``config``, ``rng``, ``_device(number)``, ``_visit(device, when)`` and
    ``_evolve(device, day, gap_days)``."""
    c, r = generator.config, generator.rng
    start = datetime(c.start.year, c.start.month, c.start.day, tzinfo=timezone.utc)
    out = []
    for number in range(c.devices):
        device = generator._device(number)
        when = start + timedelta(seconds=r.randrange(c.days * 86400))
        out.append(generator._visit(device, when))
        if r.random() >= c.return_rate:
            continue
        for _ in range(max(1, int(r.expovariate(1 / c.mean_returns)))):
            gap_days = r.choice([r.expovariate(1 / 0.3), r.expovariate(1 / 5), r.expovariate(1 / 40), r.uniform(60, 300)])
            when = when + timedelta(days=gap_days, seconds=r.randrange(3600))
            if (when - start).days >= c.days:
                break
            generator._evolve(device, when.date(), gap_days)
            out.append(generator._visit(device, when))
    out.sort(key=lambda v: v["ts"])
    return out


class ModernGenerator:
    """Histories with the shape of today's web (issue 14), for tests, the demo and the figures
    marked "generated":

    * configurations are drawn from **real browser records** (the shipped ``user-agents``
      excerpt) by their observed popularity ``weight``: heavy-tailed, many devices share one
      configuration exactly (same phone model, same everything);
    * **sparse attributes**: the deployment collects UA, screen, language, plugin count, time zone,
      global IP, Accept/Accept-Encoding, pixel ratio and touch, fonts only on 30 % of desktops;
      10 % of devices block scripts (HTTP headers only); 2 % of attributes missing per visit;
    * **real release cadence**: Chromium and Firefox majors every 4 weeks, the Google app weekly,
      Samsung Internet every 8 weeks, Safari and iOS every September; each device 0–21 days late;
      the record's versions are those at the end of the history, earlier visits read older ones;
    * returns, heavy-tailed gaps and cookie clearing as in :class:`HistoryGenerator`; home IPs
      change every ~25 days, mobile ones on half of the visits.
    """

    def __init__(self, config: GeneratorConfig = GeneratorConfig(), records: list[dict] | None = None):
        from transforms.fingerprint.user_agents import EXCERPT, load_records

        self.config = config
        self.rng = random.Random(config.seed)
        self.records = records if records is not None else load_records(EXCERPT)
        self.weights = [float(r.get("weight") or 1e-6) for r in self.records]
        self.end = config.start + timedelta(days=config.days)
        self.uid_counter = 0

    def _uid(self) -> str:
        self.uid_counter += 1
        return f"m{self.config.seed:03d}-{self.uid_counter:07d}"

    def _ip(self) -> str:
        r = self.rng
        return f"{r.randint(1, 223)}.{r.randrange(256)}.{r.randrange(256)}.{r.randint(1, 254)}"

    def _device(self, number: int) -> dict:
        r = self.rng
        record = r.choices(self.records, weights=self.weights)[0]
        mobile = record.get("deviceCategory") in ("mobile", "tablet")
        language = record.get("language") or "en-US"
        rule, offsets = LANGUAGE_ZONES.get(language, LANGUAGE_ZONES.get(language.split("-")[0], (None, [0])))
        return {"id": f"m{self.config.seed:03d}-{number:06d}", "record": record, "mobile": mobile,
                "lag": r.randint(0, 21), "uid": self._uid(), "ip": self._ip(), "rule": rule,
                "offset": r.choice(offsets), "scripts": r.random() >= 0.1,
                "fonts": sorted(r.sample(FONT_POOL, r.randint(20, 60))) if not mobile and r.random() < 0.3 else None,
                "screen": f"{record['screenWidth']}x{record['screenHeight']}"}

    def _visit(self, device: dict, when: datetime) -> dict:
        r, record, day = self.rng, device["record"], when.date()
        ua = age_user_agent(record["userAgent"], day - timedelta(days=device["lag"]), self.end)
        offset = device["offset"] - (60 if _dst_active(device["rule"], day) else 0)
        attributes = {
            "js_user_agent": ua, "http_user_agent": ua, "screen": device["screen"],
            "accept_language": record.get("language"), "plugins": f"{record.get('pluginsLength', 0)} plugins",
            "timezone": str(offset), "global_ip": device["ip"],
            "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
            "accept_encoding": "gzip, deflate, br" + (", zstd" if "Chrome" in ua else ""),
            "device_pixel_ratio": "3" if device["mobile"] else r.choice(["1", "1", "2"]) if "dpr" not in device else device["dpr"],
            "touch": str(device["mobile"]).lower(),
            "fonts": ",".join(device["fonts"]) if device["fonts"] else None,
        }
        device.setdefault("dpr", attributes["device_pixel_ratio"])
        attributes["device_pixel_ratio"] = device["dpr"]
        if not device["scripts"]:
            attributes = {k: v for k, v in attributes.items() if k in HTTP_ONLY}
        attributes = {k: v for k, v in attributes.items() if v is not None and r.random() >= 0.02}
        return {"uid": device["uid"], "ts": when.replace(microsecond=0).isoformat(), "truth_device": device["id"],
                **attributes}

    def _evolve(self, device: dict, day: date, gap_days: float) -> None:
        r = self.rng
        if (device["mobile"] and r.random() < 0.5) or r.random() < 1 - math.exp(-gap_days / 25):
            device["ip"] = self._ip()
        if device["fonts"] is not None and r.random() < 1 - math.exp(-gap_days / 150):
            device["fonts"] = sorted(set(device["fonts"]) | {r.choice(FONT_POOL)})
        if r.random() < self.config.cookie_clear_rate:
            device["uid"] = self._uid()

    def visits(self) -> list[dict]:
        """All visits of all devices, in time order."""
        return _visit_history(self)


def write_daily_files(visits: list[dict], directory: Path) -> list[Path]:
    """One ``visits-YYYY-MM-DD.jsonl`` per day (the daily ingest's input layout)."""
    directory.mkdir(parents=True, exist_ok=True)
    by_day: dict[str, list[str]] = {}
    for visit in visits:
        by_day.setdefault(visit["ts"][:10], []).append(json.dumps(visit, ensure_ascii=False))
    paths = []
    for day, lines in sorted(by_day.items()):
        path = directory / f"visits-{day}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def add_bad_lines(path: Path, seed: int = 0) -> None:
    """Append the kinds of damage the ingest must quarantine or cap (for tests and the demo)."""
    lines = path.read_bytes().splitlines()
    good = json.loads(lines[0])
    long_value = dict(good, uid="u-long", fonts=",".join(f"Font{i}" for i in range(5000)))
    no_time = {k: v for k, v in good.items() if k != "ts"}
    damaged = [b'{"uid": "broken", "ts": ', b'{"uid": "u\xff\xfe", "ts": "' + good["ts"].encode() + b'"}',
               json.dumps(long_value).encode(), json.dumps(no_time).encode(), lines[0]]
    path.write_bytes(b"\n".join(lines + damaged) + b"\n")


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--devices", type=int, default=GeneratorConfig.devices)
    parser.add_argument("--days", type=int, default=GeneratorConfig.days)
    parser.add_argument("--start", default=GeneratorConfig.start.isoformat())
    parser.add_argument("--seed", type=int, default=GeneratorConfig.seed)
    parser.add_argument("--damage", action="store_true", help="append bad lines to the last day's file")
    parser.add_argument("--kind", default="classic", choices=["classic", "modern"],
                        help="classic: the paper's 2013-15 setting; modern: real configurations, sparse attributes")
    args = parser.parse_args(argv)
    config = GeneratorConfig(seed=args.seed, devices=args.devices, days=args.days, start=date.fromisoformat(args.start))
    visits = (ModernGenerator if args.kind == "modern" else HistoryGenerator)(config).visits()
    paths = write_daily_files(visits, args.out_dir)
    if args.damage and paths:
        add_bad_lines(paths[-1])
    uids = len({v["uid"] for v in visits})
    print(f"{len(visits)} visits, {uids} UIDs, {len({v['truth_device'] for v in visits})} devices, "
          f"{len(paths)} daily files in {args.out_dir} ({paths[0].name} .. {paths[-1].name})")


if __name__ == "__main__":
    main()
