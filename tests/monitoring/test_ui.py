"""The monitoring pages inside the real Airflow UI, seen by a headless Chromium.

Runs a small survey crawl of the fixture web (crawl + analysis) and one daily pipeline
(fingerprint_daily on a generated day with damaged lines) through `airflow dags test`, starts
`airflow api-server` on a loopback port with a password-protected user, then in Chromium: logs
in, opens the survey run's "trackscope report" tab and the "trackscope" nav page, checks what they
show and saves screenshots under the test's folder (``$TRACKSCOPE_UI_SCREENSHOTS`` too, if set:
that is how ``docs/img/`` is refreshed)."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from tests.airflow_run import (AirflowDeployment, airflow_env, deployment_env, free_loopback_port, migrate,
                               run_dag)
from transforms.common import monitoring
from transforms.common.lake import Lake

CRAWL = "ui-2026-09-01"
USER = "operator"


def _fingerprint_day(folder: Path) -> str:
    from transforms.synthetic.fingerprint_visits import GeneratorConfig, HistoryGenerator, add_bad_lines, write_daily_files

    visits = HistoryGenerator(GeneratorConfig(seed=7, devices=150, days=40, start=date(2015, 5, 1))).visits()
    day = visits[len(visits) // 2]["ts"][:10]
    [path] = write_daily_files([v for v in visits if v["ts"].startswith(day)], folder)
    add_bad_lines(path)
    return day


def _wait_text(driver, needle: str, timeout_s: float = 60, frame: bool = False) -> str:
    """Until ``needle`` is in the page (or, with ``frame``, in the first iframe's page); returns that text."""
    from selenium.webdriver.common.by import By

    deadline, text = time.monotonic() + timeout_s, ""
    while time.monotonic() < deadline:
        try:
            driver.switch_to.default_content()
            if frame:
                frames = driver.find_elements(By.TAG_NAME, "iframe")
                if frames:
                    driver.switch_to.frame(frames[0])
            text = driver.find_element(By.TAG_NAME, "body").text
            if needle in text:
                return text
        except Exception:  # noqa: BLE001 - the React page re-renders while loading
            pass
        time.sleep(0.5)
    raise AssertionError(f"{needle!r} not shown after {timeout_s}s; page: {driver.current_url}\n{text[-3000:]}")


def _login(driver, base_url: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not driver.find_elements(By.CSS_SELECTOR, "input[type=password]"):
        time.sleep(0.5)
    driver.find_element(By.CSS_SELECTOR, "input[name=username], input[type=text]").send_keys(USER)
    driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not driver.get_cookie("_token"):
        time.sleep(0.5)
    assert driver.get_cookie("_token"), f"no session after login: {driver.current_url}"


@pytest.mark.slow
def test_reports_inside_the_airflow_ui(tmp_path):
    from transforms.common import settings as settings_module
    from transforms.survey.browser import Browser, chromium_args
    from transforms.survey.fixture_web import TRANCO_FIXTURE_PATH, FixtureWeb

    shots = tmp_path / "screenshots"
    shots.mkdir()
    lake_uri = (tmp_path / "lake").as_uri()
    password = secrets.token_urlsafe(12)
    (tmp_path / "passwords.json").write_text(json.dumps({USER: password}))
    day = _fingerprint_day(tmp_path / "fp_input")
    tranco = tmp_path / "tranco.csv"  # the fixture list's first sites: a small crawl, detections included
    tranco.write_text("".join(TRANCO_FIXTURE_PATH.read_text().splitlines(keepends=True)[:8]))
    env = airflow_env(tmp_path / "airflow", TRACKSCOPE_LAKE_URI=lake_uri, TRACKSCOPE_HOME=str(tmp_path),
                      TRACKSCOPE_FP_INPUT_DIR=str(tmp_path / "fp_input"), TRACKSCOPE_TRANCO_LIST=str(tranco),
                      TRACKSCOPE_DWELL_S="1", TRACKSCOPE_PAGE_LOAD_TIMEOUT_S="20", TRACKSCOPE_JS_HEAP_LIMIT_MB="256",
                      TRACKSCOPE_CHROMIUM_EXTRA_ARGS="--ignore-certificate-errors",
                      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USER}:admin",
                      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(tmp_path / "passwords.json"))
    migrate(env)
    started = time.monotonic()
    with FixtureWeb() as web:
        env["TRACKSCOPE_HOST_RESOLVER_RULES"] = web.host_resolver_rules
        crawl = run_dag(env, "survey_crawl", {"crawl_id": CRAWL})
    assert crawl.state == "success", crawl.output[-3000:]
    analysis = run_dag(env, "survey_analysis", {"crawl_id": CRAWL})
    assert analysis.state == "success", analysis.output[-3000:]
    daily = run_dag(env, "fingerprint_daily", logical_date=day)
    assert daily.state == "success", daily.output[-3000:]
    print(f"DAG runs took {time.monotonic() - started:.0f}s")
    # the daily run's asset event carries its partition and quarantine counts (shown in the Assets view)
    [extra] = _asset_extras(env, "fingerprint_links")
    assert extra["ds"] == day and extra["quarantined"] > 0 and extra["quarantine_reasons"], extra
    lake = Lake(lake_uri)
    assert monitoring.reports(lake, "survey", ("crawl_id", CRAWL)), "the survey wrote no report"

    deployment = AirflowDeployment(deployment_env(env, free_loopback_port()), {"api-server": []})
    browser = None
    try:
        deployment.start()
        deployment.wait_healthy(180)
        base_url = deployment.base_url
        # the pages are behind Airflow's login: no token, no report
        for path in ("/trackscope/", f"/trackscope/reports/survey/crawl_id={CRAWL}"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base_url + path, timeout=30)
            assert refused.value.code in (401, 403)

        settings = settings_module.load(page_load_timeout_s=60.0)
        browser = Browser(settings, chromium_args(settings, ["--window-size=1440,1000"]))
        driver = browser.driver
        _login(driver, base_url, password)

        run_id = _latest_run_id(deployment.env, "survey_analysis")
        driver.get(f"{base_url}/dags/survey_analysis/runs/{run_id}/plugin/trackscope_run")
        text = _wait_text(driver, "Checkpoints", frame=True)
        assert f"partition crawl_id={CRAWL}" in text
        assert "survey_after_extraction" in text and "survey_after_detection" in text  # checkpoint results
        assert "Quarantine" in text and "Model gate" in text
        driver.switch_to.default_content()
        driver.save_screenshot(str(shots / "survey_run_report.png"))
        # the survey's own HTML report inside the run view (a frame in the plugin's frame)
        from selenium.webdriver.common.by import By

        driver.switch_to.frame(driver.find_elements(By.TAG_NAME, "iframe")[0])
        inner = driver.find_element(By.CSS_SELECTOR, "iframe.report").get_attribute("src")
        driver.switch_to.default_content()
        driver.get(inner)
        survey_html = _wait_text(driver, CRAWL)
        assert "Clarity" in survey_html or "Hotjar" in survey_html, survey_html[:2000]
        assert driver.execute_script(
            "return [...document.images].filter(i => i.complete && i.naturalWidth > 0).length") >= 1
        driver.save_screenshot(str(shots / "survey_report_page.png"))

        fp_run = _latest_run_id(deployment.env, "fingerprint_daily")
        driver.get(f"{base_url}/dags/fingerprint_daily/runs/{fp_run}/plugin/trackscope_run")
        fp_text = _wait_text(driver, "fingerprint_after_linking", frame=True)
        assert f"partition ds={day}" in fp_text and "malformed JSON" in fp_text  # quarantine reasons of the day
        driver.switch_to.default_content()
        driver.save_screenshot(str(shots / "fingerprint_daily_run.png"))

        driver.get(f"{base_url}/plugin/trackscope")
        nav = _wait_text(driver, "trackscope monitoring", frame=True)
        assert CRAWL in nav and "fingerprint_daily" in nav and "survey_analysis" in nav
        driver.switch_to.default_content()
        driver.save_screenshot(str(shots / "trackscope_nav.png"))
    except BaseException:
        if browser is not None:
            try:
                browser.driver.switch_to.default_content()
                browser.driver.save_screenshot(str(shots / "failure.png"))
            except Exception:  # noqa: BLE001
                pass
        print(deployment.logs())
        raise
    finally:
        if browser is not None:
            browser.close()
        deployment.stop()
    print(f"screenshots in {shots}")
    target = os.environ.get("TRACKSCOPE_UI_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for shot in shots.glob("*.png"):
            shutil.copy(shot, Path(target) / shot.name)
    assert all((shots / name).stat().st_size > 10_000 for name in
               ("survey_run_report.png", "survey_report_page.png", "fingerprint_daily_run.png", "trackscope_nav.png"))


def _latest_run_id(env: dict, dag_id: str) -> str:
    import sqlalchemy as sa

    from tests.airflow_run import metadata_url

    engine = sa.create_engine(metadata_url(env))
    with engine.connect() as db:
        run_id = db.execute(sa.text("SELECT run_id FROM dag_run WHERE dag_id = :d ORDER BY id DESC LIMIT 1"),
                            {"d": dag_id}).scalar()
    engine.dispose()
    return run_id


def _asset_extras(env: dict, asset_name: str) -> list[dict]:
    import sqlalchemy as sa

    from tests.airflow_run import metadata_url

    engine = sa.create_engine(metadata_url(env))
    with engine.connect() as db:
        rows = db.execute(sa.text("SELECT e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id "
                                  "WHERE a.name = :n ORDER BY e.id"), {"n": asset_name}).scalars().all()
    engine.dispose()
    return [json.loads(r) if isinstance(r, str) else r for r in rows]
