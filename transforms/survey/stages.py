"""The survey's stages as plain functions of (settings, crawl id): what each DAG task calls.

Each stage reads its inputs from the lake and replaces its own partition, so any stage can be
rerun or backfilled for a crawl id on its own.
"""
from __future__ import annotations

import logging

import pandas as pd

from transforms.common.quarantine import Quarantine
from transforms.common.settings import Settings
from transforms.survey import checkpoints, extract, raw, schemas, tranco
from transforms.survey.detect import load_signatures
from transforms.survey.detect import detect as detect_frame

log = logging.getLogger(__name__)
SETTINGS = Settings  # what the DAGs load for these stages


def select_sites(settings: Settings, crawl_id: str) -> list[list[dict]]:
    """Load the Tranco list, keep the paper's selection, store it; return crawl batches."""
    lake = settings.lake
    quarantine = Quarantine("tranco")
    try:
        listing = tranco.load(settings.tranco_list, quarantine)
    except tranco.UnreadableList:
        quarantine.write(lake, "survey_site_list", schemas.KEY, crawl_id)  # what the bad lines were
        raise
    sites = tranco.select(listing, settings.top_n, settings.jp_within_top, settings.other_top)
    lake.write_partition(schemas.SITE_LIST, crawl_id, sites)
    quarantine.write(lake, "survey_site_list", schemas.KEY, crawl_id)
    log.info("crawl %s: %d sites selected (%d .jp) from %s sha256=%s list_id=%s; %d lines quarantined",
             crawl_id, len(sites), (sites["group"] == "jp").sum(), listing.source, listing.sha256[:12],
             listing.list_id or "-", len(quarantine))
    return tranco.batches(sites, settings.crawl_batch_size)


def crawl(settings: Settings, crawl_id: str, batch: list[dict]) -> dict:
    from transforms.survey.crawler import crawl_batch

    return crawl_batch(settings, crawl_id, batch)


def _raw_outcomes(settings: Settings, crawl_id: str) -> pd.DataFrame:
    rows = [{"domain": d["domain"], "outcome": d.get("outcome")} for d in raw.read_visits(settings.lake, crawl_id)]
    return pd.DataFrame(rows, columns=["domain", "outcome"])


def check_crawl(settings: Settings, crawl_id: str) -> dict:
    sites = settings.lake.read_partition(schemas.SITE_LIST, crawl_id)
    visits = _raw_outcomes(settings, crawl_id)
    checkpoints.after_crawl(settings.lake, crawl_id, sites, visits)
    return visits["outcome"].value_counts().to_dict()


def extract_crawl(settings: Settings, crawl_id: str) -> dict:
    return extract.extract(settings.lake, crawl_id, raw.read_visits(settings.lake, crawl_id))


def check_extraction(settings: Settings, crawl_id: str) -> None:
    lake = settings.lake
    checkpoints.after_extraction(lake, crawl_id, lake.read_partition(schemas.SITE_VISITS, crawl_id, staged=True),
                                 lake.read_partition(schemas.REQUESTS, crawl_id, staged=True))
    for spec in extract.EXTRACTED:
        lake.publish_staged(spec, crawl_id)


def detect_services(settings: Settings, crawl_id: str) -> dict:
    lake = settings.lake
    signatures = load_signatures(settings.signatures_file)
    detections = detect_frame(lake.read_partition(schemas.SITE_VISITS, crawl_id),
                              lake.read_partition(schemas.REQUESTS, crawl_id),
                              lake.read_partition(schemas.PAGES, crawl_id), signatures)
    lake.stage_partition(schemas.DETECTIONS, crawl_id, detections)
    found = detections[detections["detected"]]
    counts = found.groupby("service_id").size().to_dict()
    log.info("crawl %s: detections per service %s (signatures %s)", crawl_id, counts, signatures.version)
    return counts


def check_detection(settings: Settings, crawl_id: str) -> None:
    signatures = load_signatures(settings.signatures_file)
    checkpoints.after_detection(settings.lake, crawl_id,
                                settings.lake.read_partition(schemas.DETECTIONS, crawl_id, staged=True), signatures.ids)
    settings.lake.publish_staged(schemas.DETECTIONS, crawl_id)


def classify_disclosures(settings: Settings, crawl_id: str) -> dict:
    """Disclosure class of every detected service on its site's whole policy (the policy page,
    linked cookie policies, PDF): the learned classifier, with the rule baseline beside it."""
    from transforms.survey import disclosure, policy, policy_model
    from transforms.common.validation import run_checkpoint

    lake = settings.lake
    signatures = load_signatures(settings.signatures_file)
    detections = lake.read_partition(schemas.DETECTIONS, crawl_id)
    policies = disclosure.site_policies(raw.read_visits(lake, crawl_id))
    model, version = policy_model.load_promoted(lake)
    classifier = disclosure.DisclosureClassifier(model, version)
    rows = []
    for domain, hits in detections[detections["detected"]].groupby("domain", sort=True):
        policy_url, pages = policies.get(domain, (None, []))
        services = [signatures.by_id(s).as_dict() for s in hits["service_id"]]
        verdicts = classifier.classify(pages, services)
        joined = "\n\n".join(p.text for p in pages) or None
        for hit, service in zip(hits.itertuples(index=False), services):
            rows.append({"domain": domain, "group": hit.group, "service_id": hit.service_id, "policy_url": policy_url,
                         "policy_pages": len(pages), **verdicts[hit.service_id],
                         "baseline_class": policy.classify_disclosure(joined, service)["disclosure_class"]})
    frame = pd.DataFrame(rows, columns=schemas.DISCLOSURES.schema.names)
    lake.stage_partition(schemas.DISCLOSURES, crawl_id, frame)
    run_checkpoint(lake, "survey_disclosures", crawl_id, lake.read_partition(schemas.DISCLOSURES, crawl_id, staged=True),
                   [], spec=schemas.DISCLOSURES)
    lake.publish_staged(schemas.DISCLOSURES, crawl_id)
    log.info("crawl %s: disclosures of %d site x service pairs with %s: %s", crawl_id, len(frame),
             classifier.version, frame["disclosure_class"].value_counts().to_dict())
    return {"classifier_version": classifier.version, **frame["disclosure_class"].value_counts().to_dict()}


def categorize_sites(settings: Settings, crawl_id: str) -> dict:
    from transforms.survey.categories import categorize

    lake = settings.lake
    pages = lake.read_partition(schemas.PAGES, crawl_id)
    titles = lake.read_partition(schemas.SITE_VISITS, crawl_id)[["domain", "title"]]
    frame = categorize(pages.merge(titles, on="domain", how="left"), settings.categories_file or None)
    lake.write_partition(schemas.CATEGORIES, crawl_id, frame)
    return frame["category_source"].value_counts().to_dict()


def build_report(settings: Settings, crawl_id: str) -> str:
    from transforms.survey.report import build_report as render

    signatures = load_signatures(settings.signatures_file)
    path = render(settings.lake, crawl_id, {s.id: s.as_dict() for s in signatures.services})
    log.info("survey report for crawl %s: %s", crawl_id, path)
    return path
