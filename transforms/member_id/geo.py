"""GeoIP lookups: a City (or Country) mmdb, plus an optional network database, via ``geoip2``.

Setups users have, all supported:

* GeoLite2/GeoIP2 **City alone** (the free GeoLite2 package): place from the City database; the
  network evidence falls back to the routed prefix (/24, /48).
* City + **ASN mmdb** (GeoLite2-ASN): AS number and organisation, and the routed network the
  ASN record covers.
* City + **IP-range → ASN CSV/TSV**: GeoLite2-ASN-Blocks CSV (``network,autonomous_system_number,
  autonomous_system_organization``), iptoasn.com ``ip2asn-*.tsv`` (``start end asn country
  description``, no header; AS 0 = not routed), or a CSV with a header naming ``start``/``end``
  (or ``network``), ``asn`` and ``org``.
* City + **ISP mmdb** (GeoIP2-ISP): ISP name, and its AS number when the record has one.

Every field may be absent for an address (GeoLite2 City has only a country for many ranges):
``lookup`` returns '' / NaN then and enrichment falls back to coarser evidence. A database of
the wrong type (e.g. a City file given as the ISP/ASN database) raises :class:`GeoConfigError`
when the lookup is opened, with a message naming the file and what was expected.

The project builds its own small databases for tests and the demo with ``mmdb-writer`` (never
downloads); records follow the GeoIP2 layouts, so the same reader code serves real files.
"""
from __future__ import annotations

import bisect
import csv
import functools
import gzip
import io
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import geoip2.database
import geoip2.errors
import maxminddb

MMDB_MAGIC = b"\xab\xcd\xefMaxMind.com"


class GeoConfigError(ValueError):
    """A GeoIP file that cannot serve the role it was configured for."""


@dataclass(frozen=True)
class Network:
    cidr: str
    isp: str
    asn: int
    country: str  # ISO code
    city: str
    district: str
    latitude: float
    longitude: float
    in_city_db: bool = True  # False: the City database has no record at all
    city_level: str = "city"  # city | region | country: how precise the City record is
    in_isp_db: bool = True  # False: the ISP/ASN databases have no record (unrouted / unknown)


def write_databases(networks: Iterable[Network], city_path: str, isp_path: str | None = None,
                    asn_path: str | None = None, asn_csv_path: str | None = None) -> None:
    """GeoIP2-City / GeoIP2-ISP / GeoLite2-ASN mmdb files and a GeoLite2-ASN-Blocks-style CSV
    of ``networks`` (each output optional except City)."""
    from mmdb_writer import MMDBWriter, MmdbF64, MmdbU32
    from netaddr import IPSet

    networks = list(networks)
    writers = {"city": MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City",
                                  languages=["en"], description="trackscope generated City test database")}
    if isp_path:
        writers["isp"] = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-ISP",
                                    languages=["en"], description="trackscope generated ISP test database")
    if asn_path:
        writers["asn"] = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN",
                                    languages=["en"], description="trackscope generated ASN test database")
    csv_rows = []
    for net in networks:
        cidrs = IPSet([net.cidr])
        if net.in_isp_db:
            if "isp" in writers:
                writers["isp"].insert_network(cidrs, {"isp": net.isp, "organization": net.isp,
                                                      "autonomous_system_number": MmdbU32(net.asn),
                                                      "autonomous_system_organization": net.isp})
            if "asn" in writers:
                writers["asn"].insert_network(cidrs, {"autonomous_system_number": MmdbU32(net.asn),
                                                      "autonomous_system_organization": net.isp})
            csv_rows.append((net.cidr, net.asn, net.isp))
        if net.in_city_db:
            record = {"country": {"iso_code": net.country, "names": {"en": net.country}}}
            if net.city_level in ("city", "region"):
                record["subdivisions"] = [{"names": {"en": net.district}}]
            if net.city_level == "city":
                record["city"] = {"names": {"en": net.city}}
                record["location"] = {"latitude": MmdbF64(net.latitude), "longitude": MmdbF64(net.longitude)}
            writers["city"].insert_network(cidrs, record)
    for path, key in ((city_path, "city"), (isp_path, "isp"), (asn_path, "asn")):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            writers[key].to_db_file(path)
    if asn_csv_path:
        Path(asn_csv_path).parent.mkdir(parents=True, exist_ok=True)
        with open(asn_csv_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["network", "autonomous_system_number", "autonomous_system_organization"])
            writer.writerows(csv_rows)


def _is_mmdb(path: str) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 128 * 1024))
        return MMDB_MAGIC in handle.read()


class AsnRanges:
    """IP-range → (ASN, organisation, routed range) from a CSV/TSV file (formats: module doc)."""

    def __init__(self, path: str):
        self.path = path
        self.starts = {4: [], 6: []}
        self.rows = {4: [], 6: []}
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rt", newline="", encoding="utf-8", errors="replace") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
            reader = csv.reader(handle, delimiter=delimiter)
            first = next(reader, None)
            if first is None:
                raise GeoConfigError(f"ASN file {path} is empty")
            header = [h.strip().lower() for h in first]
            columns = self._columns(header)
            if columns is None:  # no header: iptoasn layout (start, end, asn, country, description)
                columns, rows = {"start": 0, "end": 1, "asn": 2, "org": 4}, [first]
            else:
                rows = []
            parsed = 0
            for row in _chain(rows, reader):
                if not row or row[0].startswith("#"):
                    continue
                try:
                    if "network" in columns:
                        net = ipaddress.ip_network(row[columns["network"]].strip(), strict=False)
                        lo, hi, label = net.network_address, net.broadcast_address, str(net)
                    else:
                        lo = ipaddress.ip_address(row[columns["start"]].strip())
                        hi = ipaddress.ip_address(row[columns["end"]].strip())
                        label = f"{lo}-{hi}"
                    asn = int(str(row[columns["asn"]]).strip().upper().removeprefix("AS") or 0)
                    org = row[columns["org"]].strip() if "org" in columns and len(row) > columns["org"] else ""
                except (ValueError, IndexError):
                    continue
                parsed += 1
                if asn == 0:  # iptoasn: "Not routed"
                    continue
                self.starts[lo.version].append(int(lo))
                self.rows[lo.version].append((int(hi), asn, org, label))
        if not parsed:
            raise GeoConfigError(f"{path} is not an IP-range → ASN CSV/TSV: no line parsed as "
                                 "network,asn,org or start,end,asn[,country,description]")
        for version in (4, 6):
            order = sorted(range(len(self.starts[version])), key=self.starts[version].__getitem__)
            self.starts[version] = [self.starts[version][i] for i in order]
            self.rows[version] = [self.rows[version][i] for i in order]

    @staticmethod
    def _columns(header: list[str]) -> dict | None:
        names = {"network": ("network", "cidr", "prefix"), "start": ("start", "range_start", "ip_start", "first_ip"),
                 "end": ("end", "range_end", "ip_end", "last_ip"),
                 "asn": ("asn", "autonomous_system_number", "as_number"),
                 "org": ("org", "organization", "autonomous_system_organization", "as_description", "as_name",
                         "description", "name")}
        found = {key: header.index(alias) for key, aliases in names.items() for alias in aliases if alias in header}
        if "asn" not in found or not ("network" in found or ("start" in found and "end" in found)):
            return None
        return found

    def lookup(self, ip: str) -> tuple[int, str, str]:
        """(asn, organisation, routed range) or (0, '', '')."""
        addr = ipaddress.ip_address(ip)
        starts = self.starts[addr.version]
        i = bisect.bisect_right(starts, int(addr)) - 1
        if i >= 0:
            hi, asn, org, label = self.rows[addr.version][i]
            if int(addr) <= hi:
                return asn, org, label
        return 0, "", ""

    def close(self) -> None:
        pass


def _chain(first, rest):
    yield from first
    yield from rest


def _open_reader(path: str, role: str) -> geoip2.database.Reader:
    if not Path(path).is_file():
        raise GeoConfigError(f"{role} database {path} does not exist")
    try:
        return geoip2.database.Reader(path)
    except (maxminddb.InvalidDatabaseError, ValueError, OSError) as error:
        raise GeoConfigError(f"{role} database {path} is not a readable MaxMind DB file: {error}") from error


class GeoLookup:
    """IP → (isp, asn, routed network, country, city, district, latitude, longitude); '' / NaN
    for what the databases do not know.

    ``city_db``: a City (or Country) mmdb. ``network_db`` (optional, '' = none): an ISP mmdb, an
    ASN mmdb or an IP-range → ASN CSV/TSV, recognised from the file itself."""

    FIELDS = ["isp", "asn", "routed_prefix", "country", "city", "district", "latitude", "longitude"]

    def __init__(self, city_db: str, network_db: str = ""):
        self.city_reader = _open_reader(city_db, "City")
        city_type = self.city_reader.metadata().database_type
        if "City" in city_type:
            self.city_method = "city"
        elif "Country" in city_type:
            self.city_method = "country"
        else:
            self.city_reader.close()
            raise GeoConfigError(f"{city_db} is a {city_type} database; the City database setting "
                                 "(mid_city_mmdb) needs a GeoIP2/GeoLite2 City or Country database")
        self.network_reader, self.asn_ranges, self.network_kind = None, None, ""
        if network_db:
            if not Path(network_db).is_file():
                raise GeoConfigError(f"ISP/ASN database {network_db} does not exist")
            if _is_mmdb(network_db):
                self.network_reader = _open_reader(network_db, "ISP/ASN")
                kind = self.network_reader.metadata().database_type
                if "ISP" in kind:
                    self.network_kind = "isp"
                elif "ASN" in kind:
                    self.network_kind = "asn"
                else:
                    self.network_reader.close()
                    self.city_reader.close()
                    raise GeoConfigError(f"{network_db} is a {kind} database; the ISP/ASN database setting "
                                         "(mid_isp_mmdb) needs a GeoIP2-ISP or GeoLite2-ASN mmdb, or an "
                                         "IP-range → ASN CSV/TSV (leave it empty to use City alone)")
            else:
                self.asn_ranges = AsnRanges(network_db)
                self.network_kind = "asn-csv"
        self.lookup = functools.lru_cache(maxsize=500_000)(self._lookup)

    def describe(self) -> str:
        return f"{self.city_reader.metadata().database_type} + {self.network_kind or 'no ISP/ASN database'}"

    def _lookup(self, ip: str) -> tuple:
        isp, asn, routed, country, city, district, lat, lon = "", "", "", "", "", "", float("nan"), float("nan")
        try:
            if self.network_kind == "isp":
                rec = self.network_reader.isp(ip)
                isp = rec.isp or rec.organization or ""
                asn = f"AS{rec.autonomous_system_number}" if rec.autonomous_system_number else ""
                routed = str(rec.network) if rec.network else ""
            elif self.network_kind == "asn":
                rec = self.network_reader.asn(ip)
                asn = f"AS{rec.autonomous_system_number}" if rec.autonomous_system_number else ""
                routed = str(rec.network) if rec.network else ""
            elif self.network_kind == "asn-csv":
                number, _org, routed = self.asn_ranges.lookup(ip)
                asn = f"AS{number}" if number else ""
        except (geoip2.errors.AddressNotFoundError, ValueError):
            pass
        try:
            rec = getattr(self.city_reader, self.city_method)(ip)
            country = rec.country.iso_code or ""
            if self.city_method == "city":
                city = rec.city.name or ""
                district = rec.subdivisions.most_specific.name or ""
                lat = rec.location.latitude if rec.location.latitude is not None else lat
                lon = rec.location.longitude if rec.location.longitude is not None else lon
        except (geoip2.errors.AddressNotFoundError, ValueError):
            pass
        return isp, asn, routed, country, city, district, lat, lon

    def close(self) -> None:
        self.city_reader.close()
        if self.network_reader is not None:
            self.network_reader.close()
