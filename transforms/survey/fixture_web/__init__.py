"""Offline "fixture web" for the SRS survey crawler: ≥60 virtual-host sites and stub vendor hosts on
one loopback port, reached by headless Chromium through ``--host-resolver-rules``.

    from transforms.survey.fixture_web import FixtureWeb, load_ground_truth
    with FixtureWeb() as web:
        options.add_argument(...) for each of web.chromium_args()

Site specs and the ground truth they imply live in :mod:`transforms.survey.fixture_web.sites`.
"""
from __future__ import annotations

import json

from transforms.survey.fixture_web.server import FixtureWeb
from transforms.survey.fixture_web.sites import GROUND_TRUTH_PATH, TRANCO_FIXTURE_PATH


def load_ground_truth() -> dict:
    """``{domain: {rank, group, expected_outcome, final_host, services, disclosure, ...}}``."""
    return json.loads(GROUND_TRUTH_PATH.read_text(encoding="utf-8"))


__all__ = ["FixtureWeb", "load_ground_truth", "GROUND_TRUTH_PATH", "TRANCO_FIXTURE_PATH"]
