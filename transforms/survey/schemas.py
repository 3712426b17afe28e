"""Survey datasets, declared once. Every table is partitioned by crawl id.

Each contract gives the Parquet schema and the baseline GX suite (transforms/common/contract.py);
checkpoints.py adds the rules across tables (every request belongs to a visit, ...)."""
import pyarrow as pa

from transforms.common.contract import Col
from transforms.common.lake import DatasetSpec

KEY = "crawl_id"
_ts = pa.timestamp("us", tz="UTC")
OUTCOMES = ("ok", "timeout", "dns", "tls", "refused", "crash", "error")
EVIDENCE_SOURCES = ("requests", "agent_path", "global", "html", "none")  # detect.EVIDENCE_RANK + none

SITE_LIST = DatasetSpec("survey_site_list", pa.schema([
    ("rank", pa.int64()), ("domain", pa.string()), ("group", pa.string()),  # group: jp | other
    ("list_sha256", pa.string()), ("list_id", pa.string()), ("list_source", pa.string()),
]), KEY)

SITE_VISITS = DatasetSpec("survey_site_visits", [
    Col("visit_id", pa.string(), nullable=False), Col("domain", pa.string(), nullable=False),
    Col("rank", pa.int64()), Col("group", pa.string(), doc="jp | other"),
    Col("start_url", pa.string()), Col("final_url", pa.string()), Col("redirect_chain", pa.list_(pa.string())),
    Col("title", pa.string()), Col("html_size", pa.int64()), Col("html_sha256", pa.string()),
    Col("outcome", pa.string(), values=OUTCOMES),
    Col("error_message", pa.string()), Col("started_at", _ts), Col("ended_at", _ts), Col("duration_s", pa.float64()),
    Col("retries", pa.int64()), Col("partial", pa.bool_()), Col("request_count", pa.int64()),
    Col("source", pa.string(), doc="crawler | har"),
], KEY, unique=("visit_id",))

REQUESTS = DatasetSpec("survey_requests", [
    Col("visit_id", pa.string(), nullable=False), Col("domain", pa.string()),
    Col("request_id", pa.string(), nullable=False),
    Col("url", pa.string(), nullable=False), Col("host", pa.string()), Col("registrable_domain", pa.string()),
    Col("method", pa.string()), Col("resource_type", pa.string()),
    Col("initiator_type", pa.string()), Col("initiator_url", pa.string()), Col("frame_id", pa.string()),
    Col("ts", _ts, nullable=False), Col("status", pa.int64()), Col("remote_ip", pa.string()),
    Col("mime_type", pa.string()), Col("post_body_size", pa.int64()), Col("third_party", pa.bool_()),
    Col("failed", pa.bool_()), Col("error_text", pa.string()), Col("partial", pa.bool_()),
], KEY, unique=("visit_id", "request_id"))

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

DETECTIONS = DatasetSpec("survey_detections", [
    Col("domain", pa.string(), nullable=False), Col("group", pa.string()),
    Col("service_id", pa.string(), nullable=False),
    Col("service_name", pa.string()), Col("kind", pa.string()), Col("detected", pa.bool_(), nullable=False),
    Col("evidence_source", pa.string(), values=EVIDENCE_SOURCES),
    Col("evidence_urls", pa.list_(pa.string())), Col("signatures_version", pa.string()),
], KEY, unique=("domain", "service_id"))

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

DISCLOSURE_CLASSES = ["both", "purpose_only", "service_only", "neither", "unsupported_language", "no_policy"]
