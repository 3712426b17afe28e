"""The mouse action model for the shared model-contract test: generated Balabit-layout days of
four users (synthetic motor profiles), trained on the first two days, held out on the third
(with labelled legal and impostor sessions)."""
import tempfile
from pathlib import Path

import pandas as pd

from transforms.common.quarantine import Quarantine
from transforms.mouse import balabit, features
from transforms.synthetic import mouse_sessions
from transforms.mouse.model import ActionModel, gate_rule
from transforms.mouse.settings import MouseSettings

DAYS = ["2026-10-01", "2026-10-02", "2026-10-03"]


def _actions(folder: Path) -> pd.DataFrame:
    events = balabit.load(folder, Quarantine("example"))
    return features.compute(events, pause_s=1.0, min_points=4)[1]


def example():
    with tempfile.TemporaryDirectory() as root:
        mouse_sessions.write_inbox(Path(root), DAYS, n_users=4, seed=3, browse_actions=12, labelled_tests=2)
        train = pd.concat([_actions(Path(root) / f"ds={d}") for d in DAYS[:2]], ignore_index=True)
        test = _actions(Path(root) / f"ds={DAYS[2]}")
    return ActionModel(trees=40, window=5), train, test, gate_rule(MouseSettings())
