"""Survey datasets, declared once. Every table is partitioned by crawl id."""
import pyarrow as pa

from transforms.common.contract import Col
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
    ("js_globals", pa.list_(pa.string())),  # signature globals defined in the page after the dwell
    ("dialogs", pa.list_(pa.string())),  # JavaScript dialogs the crawler dismissed: "<type>: <message>"
]), KEY)

DETECTIONS = DatasetSpec("survey_detections", pa.schema([
    ("domain", pa.string()), ("group", pa.string()), ("service_id", pa.string()),
    ("service_name", pa.string()), ("kind", pa.string()), ("detected", pa.bool_()),
    ("evidence_source", pa.string()),  # requests | html | none
    ("evidence_urls", pa.list_(pa.string())), ("signatures_version", pa.string()),
]), KEY)

_sentence = {"max_length": 1000}
DISCLOSURES = DatasetSpec("survey_disclosures", [  # issue 20; columns documented in docs/survey.md
    Col("domain", pa.string(), nullable=False), Col("group", pa.string(), values=("jp", "other")),
    Col("service_id", pa.string(), nullable=False),
    Col("policy_url", pa.string(), doc="the privacy-policy link the crawler followed"),
    Col("policy_pages", pa.int64(), nullable=False, min=0, doc="pages read: policy, linked cookie policies, PDF"),
    Col("disclosure_class", pa.string(), nullable=False, values=(
        "both", "purpose_only", "service_only", "neither", "unsupported_language", "no_policy")),
    Col("mentions_purpose", pa.bool_(), nullable=False), Col("mentions_service", pa.bool_(), nullable=False),
    Col("evidence_sentence", pa.string(), nullable=False, **_sentence),
    Col("evidence_url", pa.string(), doc="URL of the page the evidence sentence is on"),
    Col("purpose_sentence", pa.string(), **_sentence), Col("purpose_url", pa.string()),
    Col("purpose_score", pa.float64(), nullable=False, min=0, max=1, doc="best sentence's purpose-model score"),
    Col("service_sentence", pa.string(), **_sentence), Col("service_url", pa.string()),
    Col("policy_language", pa.string(), doc="language of most of the policy's text (ISO code)"),
    Col("classifier_version", pa.string(), nullable=False, min_length=1,
        doc="purpose model name:registry version + name/scope rules version"),
    Col("baseline_class", pa.string(), nullable=False, values=(
        "both", "purpose_only", "service_only", "neither", "no_policy"), doc="the rule baseline's answer"),
], KEY, unique=("domain", "service_id"))

CATEGORIES = DatasetSpec("survey_categories", pa.schema([
    ("domain", pa.string()), ("category", pa.string()), ("category_source", pa.string()),  # input | heuristic
]), KEY)

OUTCOMES = ["ok", "timeout", "dns", "tls", "refused", "crash", "error"]
DISCLOSURE_CLASSES = ["both", "purpose_only", "service_only", "neither", "unsupported_language", "no_policy"]
