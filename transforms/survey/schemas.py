"""Survey datasets, declared once. Every table is partitioned by crawl id."""
import pyarrow as pa

from transforms.common.lake import DatasetSpec

KEY = "crawl_id"
_ts = pa.timestamp("us", tz="UTC")

SITE_LIST = DatasetSpec("survey_site_list", pa.schema([
    ("rank", pa.int64()), ("domain", pa.string()), ("group", pa.string()),  # group: jp | other
    ("list_sha256", pa.string()), ("list_id", pa.string()), ("list_source", pa.string()),
]), KEY)

SITE_VISITS = DatasetSpec("survey_site_visits", pa.schema([
    ("visit_id", pa.string()), ("domain", pa.string()), ("rank", pa.int64()), ("group", pa.string()),
    ("start_url", pa.string()), ("final_url", pa.string()), ("redirect_chain", pa.list_(pa.string())),
    ("title", pa.string()), ("html_size", pa.int64()), ("html_sha256", pa.string()),
    ("outcome", pa.string()),  # ok | timeout | dns | tls | refused | crash | error
    ("error_message", pa.string()), ("started_at", _ts), ("ended_at", _ts), ("duration_s", pa.float64()),
    ("retries", pa.int64()), ("partial", pa.bool_()), ("request_count", pa.int64()),
    ("source", pa.string()),  # crawler | har
]), KEY)

REQUESTS = DatasetSpec("survey_requests", pa.schema([
    ("visit_id", pa.string()), ("domain", pa.string()), ("request_id", pa.string()),
    ("url", pa.string()), ("host", pa.string()), ("registrable_domain", pa.string()),
    ("method", pa.string()), ("resource_type", pa.string()),
    ("initiator_type", pa.string()), ("initiator_url", pa.string()), ("frame_id", pa.string()),
    ("ts", _ts), ("status", pa.int64()), ("remote_ip", pa.string()), ("mime_type", pa.string()),
    ("post_body_size", pa.int64()), ("third_party", pa.bool_()),
    ("failed", pa.bool_()), ("error_text", pa.string()), ("partial", pa.bool_()),
]), KEY)

CRAWL_HISTORY = DatasetSpec("survey_crawl_history", pa.schema([
    ("visit_id", pa.string()), ("domain", pa.string()), ("attempt", pa.int64()), ("url", pa.string()),
    ("outcome", pa.string()), ("error_message", pa.string()), ("started_at", _ts),
    ("duration_s", pa.float64()), ("browser_id", pa.string()),
]), KEY)

PAGES = DatasetSpec("survey_pages", pa.schema([  # home HTML and policy text kept for re-analysis
    ("visit_id", pa.string()), ("domain", pa.string()), ("html", pa.string()),
    ("policy_url", pa.string()), ("policy_link_text", pa.string()), ("policy_outcome", pa.string()),
    ("policy_text", pa.string()), ("meta_description", pa.string()), ("meta_keywords", pa.string()),
]), KEY)

DETECTIONS = DatasetSpec("survey_detections", pa.schema([
    ("domain", pa.string()), ("group", pa.string()), ("service_id", pa.string()),
    ("service_name", pa.string()), ("kind", pa.string()), ("detected", pa.bool_()),
    ("evidence_source", pa.string()),  # requests | html | none
    ("evidence_urls", pa.list_(pa.string())), ("signatures_version", pa.string()),
]), KEY)

DISCLOSURES = DatasetSpec("survey_disclosures", pa.schema([
    ("domain", pa.string()), ("group", pa.string()), ("service_id", pa.string()),
    ("policy_url", pa.string()),
    ("disclosure_class", pa.string()),  # both | purpose_only | service_only | neither | no_policy
    ("mentions_purpose", pa.bool_()), ("mentions_service", pa.bool_()), ("evidence_sentence", pa.string()),
]), KEY)

CATEGORIES = DatasetSpec("survey_categories", pa.schema([
    ("domain", pa.string()), ("category", pa.string()), ("category_source", pa.string()),  # input | heuristic
]), KEY)

OUTCOMES = ["ok", "timeout", "dns", "tls", "refused", "crash", "error"]
DISCLOSURE_CLASSES = ["both", "purpose_only", "service_only", "neither", "no_policy"]
