"""Seeded generator of a hard world: member access logs (combined log format) and GeoIP files.

The world: cities with broadband ISPs (IPv4 blocks, some with IPv6), one ISP behind carrier-grade
NAT (all its customers of a city share 8 public addresses), mobile carriers whose pools the City
database knows only to the country, offices shared by ~20 members, hotels for travel (absent
from the ISP/ASN data), datacenter bots, an ISP missing from the City database and an unrouted
block missing from every database. City records are incomplete as in GeoLite2: ~15% of
broadband ranges give only a country, ~10% only a region.

Each member has a home network (dynamic IP renewed now and then; ~15% share a household NAT with
another member), maybe an office, maybe a phone on a carrier, one to three devices whose
browser/OS versions follow a global release calendar with a personal adoption lag (so many
members share each exact UA string, and UAs change on upgrades), personal hours of activity,
and occasional trips. Devices include Linux desktops (no OS version in the UA), Windows XP/Vista
(non-numeric versions) and an app with an unknown UA. About ``late_share`` of members join after
day 0 (unseen by models trained on earlier days: their accesses should get "no member").
Anonymous non-member visitors (``-`` in the log) share the same networks and devices. Bots and
a little noise (garbage lines, private addresses) exercise the quarantine.
"""
from __future__ import annotations

import ipaddress
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from transforms.member_id.geo import Network, write_databases

CITIES = [  # name, district (prefecture), lat, lon
    ("Tokyo", "Tokyo", 35.68, 139.76), ("Yokohama", "Kanagawa", 35.44, 139.64),
    ("Osaka", "Osaka", 34.69, 135.50), ("Nagoya", "Aichi", 35.18, 136.91),
    ("Sapporo", "Hokkaido", 43.06, 141.35), ("Fukuoka", "Fukuoka", 33.59, 130.40),
    ("Kobe", "Hyogo", 34.69, 135.20), ("Kyoto", "Kyoto", 35.01, 135.77),
    ("Sendai", "Miyagi", 38.27, 140.87), ("Hiroshima", "Hiroshima", 34.39, 132.46),
    ("Shizuoka", "Shizuoka", 34.98, 138.38), ("Niigata", "Niigata", 37.92, 139.04),
]
BROADBAND = ["Hikari Net", "Sakura Broadband", "Kumo Cable", "Ume Telecom"]
CGNAT_ISP = 3  # "Ume Telecom" puts its customers behind carrier-grade NAT
CARRIERS = ["Docomo Mobile", "Sora Mobile", "Rakuten-ish Mobile"]
ANDROID_MODELS = ["Pixel 8", "Pixel 9", "SO-51D", "SH-53C", "SC-51E", "A302ZT"]
BOT_UAS = ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
           "curl/8.5.0", "python-requests/2.32.3", "Mozilla/5.0 (compatible; bingbot/2.0)"]
PATHS = ["/", "/mypage", "/cart", "/search?q=shoes", "/item/123", "/login", "/news"]


@dataclass
class Device:
    kind: str  # win-chrome | win-edge | win-firefox | mac-safari | mac-chrome | linux-chrome | linux-firefox |
    # xp-firefox | vista-chrome | app | iphone | android
    lag: int  # days behind the release calendar
    model: str = ""


@dataclass
class Member:
    member_id: str
    start_day: int
    rate: float
    hour_mean: float
    hour_std: float
    city: int
    isp: int
    v6: bool
    household: int
    office: int  # -1: none
    carrier: int  # -1: no phone
    devices: list = field(default_factory=list)


class World:
    """Networks and address pools; everything derived from the seed."""

    def __init__(self, rng: np.random.Generator, n_offices: int):
        self.rng = rng
        self.networks: list[Network] = []
        self._next_v4 = int(ipaddress.IPv4Address("23.0.0.0"))
        self.broadband = {}  # (isp, city) -> (v4 net, v6 net or None)
        self.cgnat = {}  # (isp, city) -> the few public addresses its customers share
        for i, isp in enumerate(BROADBAND):
            for c, (city, district, lat, lon) in enumerate(CITIES):
                draw = rng.random()
                level = "country" if draw < 0.15 else ("region" if draw < 0.25 else "city")
                v4 = self._add_v4(16, isp, 2500 + i, city, district, lat, lon, city_level=level)
                v6 = None
                if i % 2 == 0:  # half the ISPs offer IPv6
                    v6 = ipaddress.IPv6Network(f"2400:{0x4000 + i * 64 + c:x}::/32")
                    self.networks.append(Network(str(v6), isp, 2500 + i, "JP", city, district, lat, lon,
                                                 city_level=level))
                self.broadband[(i, c)] = (v4, v6)
                if i == CGNAT_ISP:
                    self.cgnat[(i, c)] = [str(v4.network_address + 100 + k) for k in range(8)]
        self.carriers = [self._add_v4(14, name, 3000 + i, *CITIES[i % 3], city_level="country")
                         for i, name in enumerate(CARRIERS)]
        self.offices = [self._add_v4(28, f"Biz Net {k % 3}", 4000 + k % 3, *CITIES[int(rng.integers(len(CITIES)))])
                        for k in range(n_offices)]
        self.hotels = [self._add_v4(24, "Hotel WiFi", 5000, *CITIES[c], in_isp_db=False) for c in range(len(CITIES))]
        self.bots = self._add_v4(24, "Cloud DC", 6000, *CITIES[0])
        # an ISP the City database does not know: its accesses cannot be estimated
        self.uncharted = self._add_v4(22, "Uncharted ISP", 7000, *CITIES[1], in_city_db=False)
        # in no database at all (announced nowhere the databases saw): only the /24 is evidence
        self.unrouted = self._add_v4(22, "", 0, *CITIES[2], in_city_db=False, in_isp_db=False)

    def _add_v4(self, prefix, isp, asn, city, district, lat, lon, in_city_db=True, city_level="city",
                in_isp_db=True):
        size = 2 ** (32 - prefix)
        self._next_v4 = (self._next_v4 + size - 1) // size * size
        net = ipaddress.IPv4Network((self._next_v4, prefix))
        self._next_v4 += size
        self.networks.append(Network(str(net), isp, asn, "JP", city, district, lat, lon, in_city_db, city_level,
                                     in_isp_db))
        return net

    def address(self, net) -> str:
        offset = int(self.rng.integers(1, max(2, min(net.num_addresses - 1, 2**62))))
        return str(net.network_address + offset)


DESKTOPS = ["win-chrome", "win-chrome", "win-chrome", "win-edge", "win-firefox", "mac-safari", "mac-chrome",
            "linux-chrome", "linux-firefox", "xp-firefox", "vista-chrome", "app"]


def _make_members(rng, n_members, days, world, late_share=0.2, prefix="m") -> list[Member]:
    members, households = [], []
    for k in range(n_members):
        start = 0 if rng.random() >= late_share else int(rng.integers(1, max(2, days)))
        if households and rng.random() < 0.15:  # joins an existing household (shared NAT)
            h = int(rng.integers(len(households)))
            city, isp, v6 = households[h]
        else:
            city, isp = int(rng.integers(len(CITIES))), int(rng.integers(len(BROADBAND)))
            v6 = world.broadband[(isp, city)][1] is not None and rng.random() < 0.6
            households.append((city, isp, v6))
            h = len(households) - 1
        devices = [Device(str(rng.choice(DESKTOPS)), int(rng.integers(0, 12)))]
        if rng.random() < 0.25:  # a second computer (laptop, family PC)
            devices.append(Device(str(rng.choice(DESKTOPS)), int(rng.integers(0, 12))))
        carrier = int(rng.integers(len(CARRIERS))) if rng.random() < 0.75 else -1
        if carrier >= 0:
            kind = "iphone" if rng.random() < 0.5 else "android"
            devices.append(Device(kind, int(rng.integers(0, 20)), str(rng.choice(ANDROID_MODELS))))
        members.append(Member(
            f"{prefix}{k:06d}", start, float(rng.lognormal(0.2, 0.6)), float(rng.uniform(7, 23)),
            float(rng.uniform(1, 4)), city, isp, bool(v6), h,
            int(rng.integers(len(world.offices))) if rng.random() < 0.6 else -1, carrier, devices))
    return members


def user_agent(device: Device, day: int) -> str:
    """UA string on ``day``: versions follow a release calendar, shifted by the device's lag."""
    t = max(0, day - device.lag) + 400  # days since an arbitrary epoch
    chrome, firefox = 120 + t // 28, 120 + t // 28
    safari_minor, ios_minor = (t // 45) % 6, (t // 45) % 6
    if device.kind == "win-chrome":
        return (f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{chrome}.0.{6000 + t % 28 * 7}.{t % 5 * 11} Safari/537.36")
    if device.kind == "win-edge":
        return (f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{chrome}.0.0.0 Safari/537.36 Edg/{chrome}.0.{2000 + t % 28 * 3}.{t % 4}")
    if device.kind == "win-firefox":
        return f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{firefox}.0) Gecko/20100101 Firefox/{firefox}.0"
    if device.kind == "mac-safari":
        return (f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                f"Version/18.{safari_minor} Safari/605.1.15")
    if device.kind == "linux-chrome":
        return (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{chrome}.0.0.0 Safari/537.36")
    if device.kind == "linux-firefox":
        return f"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{firefox}.0) Gecko/20100101 Firefox/{firefox}.0"
    if device.kind == "xp-firefox":  # stuck on the last release for XP
        return "Mozilla/5.0 (Windows NT 5.1; rv:52.0) Gecko/20100101 Firefox/52.0"
    if device.kind == "vista-chrome":
        return ("Mozilla/5.0 (Windows NT 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/49.0.2623.112 Safari/537.36")
    if device.kind == "app":  # an in-house client the UA parser does not know
        return f"ShopClient/{3 + t // 120}.{t % 120 // 30}"
    if device.kind == "mac-chrome":
        return (f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{chrome}.0.0.0 Safari/537.36")
    if device.kind == "iphone":
        return (f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_{ios_minor} like Mac OS X) AppleWebKit/605.1.15 "
                f"(KHTML, like Gecko) Version/18.{ios_minor} Mobile/15E148 Safari/604.1")
    return (f"Mozilla/5.0 (Linux; Android {14 + t // 200}; {device.model}) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{chrome}.0.{6000 + t % 28 * 7}.{t % 5 * 11} Mobile Safari/537.36")


class Generator:
    def __init__(self, n_members: int, days: int, start: date, seed: int = 7, late_share: float = 0.2,
                 visitors: float = 0.3):
        """``late_share``: members joining after day 0 (uniformly over the days); ``visitors``:
        anonymous non-member visitors per member."""
        self.rng = np.random.default_rng(seed)
        self.days, self.start, self.seed = days, start, seed
        self.world = World(self.rng, max(1, n_members // 20))
        self.members = _make_members(self.rng, n_members, days, self.world, late_share)
        self.visitors = _make_members(self.rng, int(n_members * visitors), days, self.world, 0.0, prefix="v")
        self.home_ip: dict[int, str] = {}
        self.travel: dict[str, tuple[int, int]] = {}  # member -> (until day, city)

    def _home_address(self, m: Member, device_index: int) -> str:
        v4, v6 = self.world.broadband[(m.isp, m.city)]
        pool = self.world.cgnat.get((m.isp, m.city))
        if pool:  # carrier-grade NAT: any of the few shared public addresses, per connection
            return pool[int(self.rng.integers(len(pool)))]
        household = m.household + (1 << 24 if m.member_id.startswith("v") else 0)  # visitors: own households
        if household not in self.home_ip or self.rng.random() < 1 / 30:  # DHCP renewal
            self.home_ip[household] = self.world.address(v4)
        if m.v6 and device_index == 0:  # a stable /64 per household, random interface id
            base = int(v6.network_address) + (household << 64)
            return str(ipaddress.IPv6Address(base + int(self.rng.integers(1, 2**62))))
        return self.home_ip[household]

    def day_records(self, day: int, reveal_visitors: bool = False) -> list[tuple]:
        """(member_id, ts, ip, ua) of one day, sorted by time ("" member: anonymous visitor or bot;
        with ``reveal_visitors`` the evaluation's ground truth: visitors as ``v…`` ids)."""
        rng, records = self.rng, []
        day_start = datetime.combine(self.start + timedelta(days=day), datetime.min.time(), timezone.utc)
        weekday = (self.start + timedelta(days=day)).weekday()
        for m in self.members + self.visitors:
            if day < m.start_day:
                continue
            if m.member_id not in self.travel and rng.random() < 0.02:
                self.travel[m.member_id] = (day + int(rng.integers(1, 4)), int(rng.integers(len(CITIES))))
            trip = self.travel.get(m.member_id)
            if trip and trip[0] < day:
                del self.travel[m.member_id]
                trip = None
            for _ in range(rng.poisson(m.rate)):
                hour = float(np.clip(rng.normal(m.hour_mean, m.hour_std), 0, 23.98))
                ts = day_start + timedelta(seconds=hour * 3600 + float(rng.uniform(0, 60)))
                dev_index = int(rng.integers(len(m.devices)))
                device = m.devices[dev_index]
                if device.kind in ("iphone", "android") and rng.random() < 0.6:
                    ip = self.world.address(self.world.carriers[m.carrier])
                elif trip:
                    ip = self.world.address(self.world.hotels[trip[1]])
                elif m.office >= 0 and weekday < 5 and 9 <= hour < 18 and dev_index == 0:
                    ip = self.world.address(self.world.offices[m.office])
                elif rng.random() < 0.01:
                    ip = self.world.address(self.world.uncharted)
                elif rng.random() < 0.005:
                    ip = self.world.address(self.world.unrouted)
                else:
                    ip = self._home_address(m, dev_index)
                member = "" if m.member_id.startswith("v") and not reveal_visitors else m.member_id
                records.append((member, ts, ip, user_agent(device, day)))
        for b in range(4):  # bots: no member, crawler UAs, datacenter addresses
            for _ in range(int(rng.integers(5, 30))):
                ts = day_start + timedelta(seconds=float(rng.uniform(0, 86400)))
                records.append(("", ts, self.world.address(self.world.bots), BOT_UAS[b]))
        records.sort(key=lambda r: r[1])
        return records

    def write_geo(self, city_path: str, isp_path: str | None = None, asn_path: str | None = None,
                  asn_csv_path: str | None = None) -> None:
        """The world's GeoIP2-City mmdb, and optionally GeoIP2-ISP and GeoLite2-ASN mmdb files and
        a GeoLite2-ASN-Blocks-style CSV."""
        write_databases(self.world.networks, city_path, isp_path, asn_path, asn_csv_path)

    def write_logs(self, log_dir: str, noise: bool = True) -> dict:
        """One combined-format file per day: access-YYYY-MM-DD.log; returns line counts."""
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        (Path(log_dir) / "GENERATED.json").write_text(json.dumps({  # the report names its data source from this
            "generator": "transforms/synthetic/member_id_logs.py", "members": len(self.members), "seed": self.seed,
            "days": self.days, "start": self.start.isoformat()}))
        counts = {}
        for day in range(self.days):
            stamp = self.start + timedelta(days=day)
            lines = [combined_line(*r, self.rng) for r in self.day_records(day)]
            if noise:
                lines += ["this is not a log line", '10.0.0.1 - - [garbage] "GET / HTTP/1.1" 200 1 "-" "x"']
                lines.append(combined_line("m999999", datetime.combine(stamp, datetime.min.time(), timezone.utc),
                                           "192.168.1.20", "Mozilla/5.0 (X11; Linux x86_64)", self.rng))
            path = Path(log_dir) / f"access-{stamp.isoformat()}.log"
            path.write_text("\n".join(lines) + "\n")
            counts[stamp.isoformat()] = len(lines)
        return counts


def combined_line(member: str, ts: datetime, ip: str, ua: str, rng) -> str:
    stamp = ts.strftime("%d/%b/%Y:%H:%M:%S +0000")
    path = PATHS[int(rng.integers(len(PATHS)))]
    return (f'{ip} - {member or "-"} [{stamp}] "GET {path} HTTP/1.1" 200 {int(rng.integers(200, 40000))} '
            f'"https://shop.example/" "{ua}"')
