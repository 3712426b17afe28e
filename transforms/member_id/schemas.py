"""Member-ID datasets, declared once; every table is partitioned by day (ds=YYYY-MM-DD)."""
import pyarrow as pa

from transforms.common.lake import DatasetSpec

KEY = "ds"
_ts = pa.timestamp("us", tz="UTC")

ACCESSES = DatasetSpec("mid_accesses", pa.schema([
    ("member_id", pa.string()),  # "" when the access carries no member (anonymous, bots)
    ("ts", _ts), ("ip", pa.string()), ("user_agent", pa.string()),
    ("source", pa.string()), ("line_no", pa.int64()),
]), KEY)

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

ENRICHED = DatasetSpec("mid_enriched", pa.schema(
    [("member_id", pa.string()), ("ts", _ts), ("ip", pa.string())]
    + [(name, pa.string()) for name in STRING_FEATURES if name != "user_agent"]
    + [("user_agent", pa.string())]
    + [(name, pa.float64()) for name in NUMERIC_FEATURES]
    + [("is_bot", pa.bool_()),
       ("missing_fields", pa.string()),  # fields that could not be derived (informational; "" = all)
       ("evidence", pa.string()),  # "ua=version|family|none;place=city|region|country|none;network=isp|asn|prefix"
       ("unusable", pa.string())]  # "" when estimable, else why not (bot, or no usable evidence at all)
), KEY)
