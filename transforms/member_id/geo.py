"""GeoIP lookups (MaxMind City + ISP/ASN mmdb via ``geoip2``) and a writer for small test databases.

Users bring GeoLite2/GeoIP2 files; the project builds its own small databases for tests and the
demo with ``mmdb-writer`` (never downloads). Records follow the GeoIP2-City / GeoIP2-ISP layout,
so the same reader code serves real and generated files.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import geoip2.database
import geoip2.errors


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
    in_city_db: bool = True  # False: the City database has no record (estimation must report it)


def write_databases(networks: Iterable[Network], city_path: str, isp_path: str) -> None:
    from mmdb_writer import MMDBWriter, MmdbF64, MmdbU32
    from netaddr import IPSet

    city = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City",
                      languages=["en"], description="trackscope generated City test database")
    isp = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-ISP",
                     languages=["en"], description="trackscope generated ISP test database")
    for net in networks:
        cidrs = IPSet([net.cidr])
        isp.insert_network(cidrs, {"isp": net.isp, "organization": net.isp,
                                   "autonomous_system_number": MmdbU32(net.asn),
                                   "autonomous_system_organization": net.isp})
        if net.in_city_db:
            city.insert_network(cidrs, {
                "city": {"names": {"en": net.city}},
                "country": {"iso_code": net.country, "names": {"en": net.country}},
                "subdivisions": [{"names": {"en": net.district}}],
                "location": {"latitude": MmdbF64(net.latitude), "longitude": MmdbF64(net.longitude)}})
    for path, writer in ((city_path, city), (isp_path, isp)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer.to_db_file(path)


class GeoLookup:
    """IP → ISP, country, city, district, latitude, longitude ('' / NaN when unknown)."""

    def __init__(self, city_mmdb: str, isp_mmdb: str):
        self.city_reader = geoip2.database.Reader(city_mmdb)
        self.isp_reader = geoip2.database.Reader(isp_mmdb)
        self.isp_is_asn = "ASN" in self.isp_reader.metadata().database_type
        self.lookup = functools.lru_cache(maxsize=500_000)(self._lookup)

    def _lookup(self, ip: str) -> tuple:
        isp, country, city, district, lat, lon = "", "", "", "", float("nan"), float("nan")
        try:
            if self.isp_is_asn:
                isp = self.isp_reader.asn(ip).autonomous_system_organization or ""
            else:
                isp = self.isp_reader.isp(ip).isp or ""
        except (geoip2.errors.AddressNotFoundError, ValueError):
            pass
        try:
            rec = self.city_reader.city(ip)
            country = rec.country.iso_code or ""
            city = rec.city.name or ""
            district = rec.subdivisions.most_specific.name or ""
            lat = rec.location.latitude if rec.location.latitude is not None else lat
            lon = rec.location.longitude if rec.location.longitude is not None else lon
        except (geoip2.errors.AddressNotFoundError, ValueError):
            pass
        return isp, country, city, district, lat, lon

    def close(self) -> None:
        self.city_reader.close()
        self.isp_reader.close()

