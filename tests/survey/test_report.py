import os

import pandas as pd
import pyarrow.parquet as pq
import pytest

from transforms.common.lake import Lake
from transforms.survey import schemas
from transforms.survey.categories import categorize
from transforms.survey.report import adoption_table, build_report, disclosure_table

SIGS = {
    "clarity": {"id": "clarity", "name": "Microsoft Clarity", "kind": "session_replay"},
    "hotjar": {"id": "hotjar", "name": "Hotjar", "kind": "session_replay"},
    "google_analytics": {"id": "google_analytics", "name": "Google Analytics", "kind": "analytics"},
}
T0 = pd.Timestamp("2026-01-01", tz="UTC")


def visits_frame(rows):
    out = []
    for i, (domain, group, outcome) in enumerate(rows):
        out.append({"visit_id": f"v{i}-{domain}", "domain": domain, "rank": i + 1, "group": group,
                    "start_url": f"https://{domain}/", "final_url": f"https://{domain}/", "redirect_chain": [],
                    "title": domain, "html_size": 100, "html_sha256": "x", "outcome": outcome,
                    "error_message": None if outcome == "ok" else outcome, "started_at": T0, "ended_at": T0,
                    "duration_s": 1.0, "retries": 0, "partial": False, "request_count": 3, "source": "crawler"})
    return pd.DataFrame(out)


def detections_frame(visits, hits, html_hits=()):
    out = []
    for v in visits[visits["outcome"] == "ok"].itertuples():
        for sid, s in SIGS.items():
            src = "requests" if (v.domain, sid) in hits else ("html" if (v.domain, sid) in html_hits else "none")
            out.append({"domain": v.domain, "group": v.group, "service_id": sid, "service_name": s["name"],
                        "kind": s["kind"], "detected": src != "none", "evidence_source": src,
                        "evidence_urls": [], "signatures_version": "test"})
    return pd.DataFrame(out)


def write_crawl(lake, crawl_id, visit_rows, hits, classes, html_hits=()):
    visits = visits_frame(visit_rows)
    det = detections_frame(visits, hits, html_hits)
    lake.write_partition(schemas.SITE_VISITS, crawl_id, visits)
    lake.write_partition(schemas.DETECTIONS, crawl_id, det)
    disc = pd.DataFrame([{"domain": d, "group": "jp" if d.endswith(".jp") else "other", "service_id": s,
                          "policy_url": f"https://{d}/privacy", "disclosure_class": c,
                          "mentions_purpose": c in ("both", "purpose_only"),
                          "mentions_service": c in ("both", "service_only"), "evidence_sentence": "",
                          "policy_pages": 1, "purpose_score": 0.9 if c in ("both", "purpose_only") else 0.1,
                          "purpose_sentence": "We analyse how visitors use our site." if c in ("both", "purpose_only") else None,
                          "purpose_url": f"https://{d}/privacy", "service_url": f"https://{d}/cookies",
                          "service_sentence": f"{s} | analytics cookie" if c in ("both", "service_only") else None,
                          "classifier_version": "survey_disclosure_purpose:vTEST+r2", "baseline_class": "neither"}
                         for (d, s), c in classes.items()], columns=schemas.DISCLOSURES.schema.names)
    lake.write_partition(schemas.DISCLOSURES, crawl_id, disc)
    pages = pd.DataFrame({"domain": [r[0] for r in visit_rows], "title": ["オンラインショップ 通販"] * len(visit_rows),
                          "meta_description": [""] * len(visit_rows), "meta_keywords": [""] * len(visit_rows),
                          "html": [""] * len(visit_rows)})
    lake.write_partition(schemas.CATEGORIES, crawl_id, categorize(pages, None))
    return visits, det


VISITS_1 = [("a.jp", "jp", "ok"), ("b.jp", "jp", "ok"), ("c.jp", "jp", "ok"), ("d.jp", "jp", "ok"),
            ("e.jp", "jp", "timeout"), ("f.jp", "jp", "dns"),
            ("x.com", "other", "ok"), ("y.com", "other", "ok"), ("z.com", "other", "tls")]
HITS_1 = {("a.jp", "clarity"), ("a.jp", "hotjar"), ("b.jp", "clarity"), ("a.jp", "google_analytics"),
          ("x.com", "hotjar"), ("x.com", "google_analytics")}
CLASSES_1 = {("a.jp", "clarity"): "both", ("a.jp", "hotjar"): "both", ("b.jp", "clarity"): "neither",
             ("a.jp", "google_analytics"): "both", ("x.com", "hotjar"): "no_policy",
             ("x.com", "google_analytics"): "purpose_only"}
VISITS_2 = [("a.jp", "jp", "ok"), ("b.jp", "jp", "ok"), ("c.jp", "jp", "ok"), ("d.jp", "jp", "crash"),
            ("e.jp", "jp", "ok"), ("f.jp", "jp", "ok"),
            ("x.com", "other", "ok"), ("y.com", "other", "ok"), ("z.com", "other", "ok")]
HITS_2 = {("a.jp", "clarity"), ("c.jp", "clarity"), ("e.jp", "hotjar"), ("x.com", "hotjar"), ("z.com", "clarity")}
CLASSES_2 = {("a.jp", "clarity"): "both", ("c.jp", "clarity"): "service_only", ("e.jp", "hotjar"): "neither",
             ("x.com", "hotjar"): "purpose_only", ("z.com", "clarity"): "both"}


def test_adoption_numbers_exclude_failures():
    visits = visits_frame(VISITS_1)
    det = detections_frame(visits, HITS_1, html_hits={("c.jp", "hotjar")})
    t = adoption_table(visits, det, SIGS).set_index("service_id")
    assert t.loc["clarity", "jp_sites"] == 2 and t.loc["clarity", "jp_ok"] == 4
    assert t.loc["clarity", "jp_pct"] == 50.0            # 2 of 4 ok (.jp failures not counted)
    assert t.loc["hotjar", "jp_sites"] == 1 and t.loc["hotjar", "jp_pct"] == 25.0
    assert t.loc["hotjar", "jp_html_only"] == 1          # HTML-only snippet shown, not counted
    assert t.loc["hotjar", "other_sites"] == 1 and t.loc["hotjar", "other_pct"] == 50.0
    assert t.loc["any_srs", "jp_sites"] == 2 and t.loc["any_srs", "jp_pct"] == 50.0
    assert t.loc["any_srs", "other_sites"] == 1 and t.loc["any_srs", "other_ok"] == 2
    assert t.loc["google_analytics", "jp_sites"] == 1
    assert list(t.index).index("any_srs") < list(t.index).index("google_analytics")


def test_intervals_difference_and_failed_visit_detections():
    from transforms.survey.report import failed_visit_detections

    visits = visits_frame(VISITS_1)
    det = detections_frame(visits, HITS_1)
    # e.jp timed out after its Hotjar request was captured: listed apart, not counted
    timeout = {"domain": "e.jp", "group": "jp", "service_id": "hotjar", "service_name": "Hotjar", "kind": "session_replay",
               "detected": True, "evidence_source": "requests", "evidence_urls": ["https://static.hotjar.com/c/hotjar-1.js"],
               "signatures_version": "test"}
    det = pd.concat([det, pd.DataFrame([timeout])], ignore_index=True)
    t = adoption_table(visits, det, SIGS).set_index("service_id")
    assert t.loc["hotjar", "jp_sites"] == 1 and t.loc["hotjar", "jp_ok"] == 4
    assert (t.loc["clarity", "jp_pct_low"], t.loc["clarity", "jp_pct_high"]) == (15.0, 85.0)  # Wilson 2/4
    assert t.loc["clarity", "diff_pp"] == 50.0 and t.loc["clarity", "diff_low_pp"] < 0 < t.loc["clarity", "diff_high_pp"]
    assert 0 < t.loc["clarity", "fisher_p"] <= 1
    failed = failed_visit_detections(visits, det)
    assert failed[["domain", "outcome", "service_id"]].values.tolist() == [["e.jp", "timeout", "hotjar"]]


def test_disclosure_table_counts():
    visits = visits_frame(VISITS_1)
    det = detections_frame(visits, HITS_1)
    disc = pd.DataFrame([{"domain": d, "group": "jp" if d.endswith(".jp") else "other", "service_id": s,
                          "disclosure_class": c} for (d, s), c in CLASSES_1.items()])
    t = disclosure_table(visits, det, disc, SIGS)
    any_jp = t[(t.service_id == "any_srs") & (t.group == ".jp")].iloc[0]
    assert any_jp["sites"] == 3 and any_jp["both"] == 2 and any_jp["neither"] == 1
    assert round(any_jp["both_pct"], 1) == 66.7
    ga_other = t[(t.service_id == "google_analytics") & (t.group == "other")].iloc[0]
    assert ga_other["sites"] == 1 and ga_other["purpose_only"] == 1


def test_build_report_two_crawls(tmp_path):
    lake = Lake(f"file://{tmp_path}/lake")
    write_crawl(lake, "2026-01-01", VISITS_1, HITS_1, CLASSES_1)
    path1 = build_report(lake, "2026-01-01", SIGS)
    assert path1 == f"{lake.current_dir('reports/survey/crawl_id=2026-01-01')}/index.html"
    assert os.path.exists(path1)
    html1 = open(path1, encoding="utf-8").read()
    assert "Change since previous crawl" not in html1
    base1 = os.path.dirname(path1)
    for name in ("adoption.png", "categories.png", "disclosure.png"):
        assert os.path.getsize(os.path.join(base1, name)) > 1000
    for table in ("crawl_summary", "adoption", "categories", "disclosure"):
        assert os.path.exists(os.path.join(base1, "tables", f"{table}.csv"))
        assert pq.read_table(os.path.join(base1, "tables", f"{table}.parquet")).num_rows > 0
    summary = pd.read_csv(os.path.join(base1, "tables", "crawl_summary.csv")).set_index("group")
    assert summary.loc[".jp", "ok"] == 4 and summary.loc[".jp", "failed"] == 2
    assert summary.loc[".jp", "failed_timeout"] == 1 and summary.loc["total", "visited"] == 9
    cats = pd.read_csv(os.path.join(base1, "tables", "categories.csv"))
    assert cats.loc[0, "category"] == "Shopping" and cats.loc[0, "jp_sites"] == 2
    # the disclosure table names the classifier version and links each site's evidence sentence
    assert "survey_disclosure_purpose:vTEST+r2" in html1
    evidence = pd.read_csv(os.path.join(base1, "tables", "disclosure_evidence.csv"))
    with_purpose = evidence[evidence["disclosure_class"].isin(["both", "purpose_only"])]
    assert len(with_purpose) and with_purpose["purpose_url"].notna().all()
    site = with_purpose.iloc[0]["domain"]
    assert (f'href="https://{site}/privacy#:~:text=We%20analyse%20how%20visitors%20use%20our"' in html1
            and ">We analyse how visitors use our site.</a>" in html1)

    write_crawl(lake, "2026-02-01", VISITS_2, HITS_2, CLASSES_2)
    path2 = build_report(lake, "2026-02-01", SIGS)
    html2 = open(path2, encoding="utf-8").read()
    assert "Change since previous crawl (2026-01-01)" in html2
    base2 = os.path.dirname(path2)
    adoption = pd.read_csv(os.path.join(base2, "tables", "adoption.csv")).set_index("service_id")
    assert adoption.loc["clarity", "jp_ok"] == 5 and adoption.loc["clarity", "jp_sites"] == 2
    assert adoption.loc["clarity", "jp_pct"] == 40.0
    counts = pd.read_csv(os.path.join(base2, "tables", "change_counts.csv")).set_index("service_id")
    assert counts.loc["clarity", "jp_prev"] == 2 and counts.loc["clarity", "jp_now"] == 2
    assert counts.loc["hotjar", "jp_delta"] == 0 and counts.loc["clarity", "other_delta"] == 1
    assert counts.loc["clarity", "started"] == 1 and counts.loc["clarity", "stopped"] == 1
    assert counts.loc["clarity", "mcnemar_p"] == 1.0
    assert "mcnemar_p" in html2 and "Wilson" in html2 and "Signatures test" in html2
    sites = pd.read_csv(os.path.join(base2, "tables", "change_sites.csv"))
    got = {(r.domain, r.service_id, r.change) for r in sites.itertuples()}
    # e.jp / z.com failed in crawl 1 and d.jp failed in crawl 2: not listed as started/stopped
    assert got == {("a.jp", "hotjar", "stopped"), ("b.jp", "clarity", "stopped"), ("c.jp", "clarity", "started"),
                   ("a.jp", "google_analytics", "stopped"), ("x.com", "google_analytics", "stopped")}
    # rebuilding the first report does not see the later crawl as "previous"
    assert "Change since previous crawl" not in open(build_report(lake, "2026-01-01", SIGS), encoding="utf-8").read()
