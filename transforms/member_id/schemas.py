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

STRING_FEATURES = ["ip_prefix", "isp", "country", "city", "district", "os_name", "os_version",
                   "browser_name", "browser_version", "device_model", "device_brand", "user_agent"]
NUMERIC_FEATURES = ["year", "month", "day", "hour", "minute", "second", "weekday", "unix_time",
                    "ip_o1", "ip_o2", "ip_o3", "ip_o4", "ip_version", "latitude", "longitude",
                    "os_major", "os_minor", "os_patch", "browser_major", "browser_minor", "browser_patch"]

ENRICHED = DatasetSpec("mid_enriched", pa.schema(
    [("member_id", pa.string()), ("ts", _ts), ("ip", pa.string())]
    + [(name, pa.string()) for name in STRING_FEATURES if name != "user_agent"]
    + [("user_agent", pa.string())]
    + [(name, pa.float64()) for name in NUMERIC_FEATURES]
    + [("is_bot", pa.bool_()), ("missing_fields", pa.string())]  # "" when estimable
), KEY)
