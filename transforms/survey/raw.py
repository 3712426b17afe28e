"""The crawler's raw output: one JSON document per site, the contract between crawl and extraction.

Stored at ``raw/survey/crawl_id=<id>/<domain>.json`` (written atomically, so its presence means
the site is finished; a rerun of the crawl skips it). Fields::

    crawl_id, domain, rank, group, visit_id ("<crawl_id>:<domain>")
    outcome            ok | timeout | dns | tls | refused | crash | error
    error_message, retries (attempts - 1), partial (events cut short by timeout/crash)
    started_at, ended_at (ISO-8601 UTC), duration_s
    start_url, final_url, redirect_chain [urls], title, html (capped), html_size, html_sha256
    meta_description, meta_keywords
    attempts   [{url, outcome, error_message, started_at, duration_s, browser_id}]
    events     [ChromeDriver performance-log messages: {"method": "Network.…", "params": {…}}]
    policy     {url, link_text, outcome, text, error_message} | null
"""
from __future__ import annotations

from transforms.common.lake import Lake


def raw_dir(crawl_id: str) -> str:
    return f"raw/survey/crawl_id={crawl_id}"


def raw_path(crawl_id: str, domain: str) -> str:
    return f"{raw_dir(crawl_id)}/{domain}.json"


def done_domains(lake: Lake, crawl_id: str) -> set[str]:
    return {name[: -len(".json")] for name in lake.list_files(raw_dir(crawl_id), ".json")}


def write_visit(lake: Lake, doc: dict) -> str:
    return lake.write_json(raw_path(doc["crawl_id"], doc["domain"]), doc)


def read_visits(lake: Lake, crawl_id: str):
    for name in lake.list_files(raw_dir(crawl_id), ".json"):
        yield lake.read_json(f"{raw_dir(crawl_id)}/{name}")
