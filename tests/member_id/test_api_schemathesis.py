"""schemathesis against the member-ID API's OpenAPI (examples, coverage, fuzzing and stateful
phases; all checks) on SQLite and PostgreSQL, with a trained model serving: 0 failures."""
import re

import pytest

from transforms.member_id.api import db
from tests.webapps.st_run import run_schemathesis, serve

from .api_fixtures import db_url  # noqa: F401 - fixture
from .test_api import make_app


@pytest.mark.slow
def test_schemathesis_finds_nothing(trained, db_url):
    app = make_app(trained, db_url, workers=2, lease_s=10.0)
    key = db.create_key(app.state.engine, "fuzzer", rate_per_minute=100_000, is_admin=True)
    with serve(app) as url:
        output = run_schemathesis(url, {"X-API-Key": key}, max_examples=25)
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase}", output), f"{phase} did not run and pass:\n{output[-3000:]}"
    assert re.search(r"API Links:\s+[1-9]\d* covered", output), output[-3000:]  # POST → GET reached
