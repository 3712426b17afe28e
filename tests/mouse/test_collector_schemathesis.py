"""schemathesis against the collector's OpenAPI (examples, coverage, fuzzing; all checks): 0
failures. The collector has no links, so schemathesis has no stateful phase to run on it."""
import re
from datetime import datetime, timezone

import pytest

from tests.webapps.st_run import run_schemathesis, serve
from transforms.mouse import recorder
from transforms.mouse.collector import create_app, issue_token


@pytest.mark.slow
def test_schemathesis_finds_nothing(lake):
    token = issue_token(lake, "shop", ["https://shop.example"])
    app = create_app(lake, max_batch_events=200)
    with serve(app) as url:
        output = run_schemathesis(url, {"X-Collector-Token": token}, max_examples=40)
    for phase in ("Examples", "Coverage", "Fuzzing"):
        assert re.search(rf"✅\s+{phase}", output), f"{phase} did not run and pass:\n{output[-3000:]}"
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert lake.list_files(recorder.batch_dir(today), ".json")  # generated batches were stored
