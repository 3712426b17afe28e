"""Member-ID datasets, declared once; every table is partitioned by day (ds=YYYY-MM-DD).

Each contract gives the Parquet schema and the baseline GX suite (transforms/common/contract.py);
the checkpoints in stages.py add the rules that need the partition or several columns."""
import pyarrow as pa

from transforms.common.contract import Col
from transforms.common.lake import DatasetSpec

KEY = "ds"
_ts = pa.timestamp("us", tz="UTC")

ACCESSES = DatasetSpec("mid_accesses", [
    Col("member_id", pa.string(), doc='"" when the access carries no member (anonymous, bots)'),
    Col("ts", _ts), Col("ip", pa.string(), nullable=False), Col("user_agent", pa.string(), nullable=False),
    Col("source", pa.string()), Col("line_no", pa.int64()),
], KEY, min_rows=1)

# Every enrichment field may be empty; "place" and "network" are the finest evidence available
# (city > region > country; ISP > ASN > routed prefix > /24 or /48), "ip_prefix_wide" is /16 or /48.
STRING_FEATURES = ["ip_prefix", "ip_prefix_wide", "isp", "asn", "routed_prefix", "network", "country", "city",
                   "district", "place", "os_name", "os_version", "browser_name", "browser_version",
                   "device_model", "device_brand", "user_agent"]
# missingness is a feature: 1.0 when the field could not be derived for the access
MISSING_FLAGS = ["city", "district", "country", "isp", "asn", "os_version", "browser_version", "ua_family"]
NUMERIC_FEATURES = ["year", "month", "day", "hour", "minute", "second", "weekday", "unix_time",
                    "ip_o1", "ip_o2", "ip_o3", "ip_o4", "ip_version", "latitude", "longitude",
                    "os_major", "os_minor", "os_patch", "browser_major", "browser_minor", "browser_patch"] + [
                    f"miss_{name}" for name in MISSING_FLAGS]

_RULES = {"network": {"nullable": False}, "ip_version": {"values": (4.0, 6.0)}, "hour": {"min": 0, "max": 23},
          "latitude": {"min": -90, "max": 90}, "longitude": {"min": -180, "max": 180}}
ENRICHED = DatasetSpec("mid_enriched", [Col("member_id", pa.string()), Col("ts", _ts), Col("ip", pa.string())]
    + [Col(name, pa.string(), **_RULES.get(name, {})) for name in STRING_FEATURES if name != "user_agent"]
    + [Col("user_agent", pa.string())]
    + [Col(name, pa.float64(), **_RULES.get(name, {})) for name in NUMERIC_FEATURES]
    + [Col("is_bot", pa.bool_()),
       Col("missing_fields", pa.string(), doc='fields that could not be derived (informational; "" = all)'),
       Col("evidence", pa.string(),
           doc='"ua=version|family|none;place=city|region|country|none;network=isp|asn|prefix"'),
       Col("unusable", pa.string(), doc='"" when estimable, else why not (bot, or no usable evidence at all)')],
    KEY)
