"""Settings of the mouse-dynamics pipeline (env ``TRACKSCOPE_MOUSE_*``)."""
from __future__ import annotations

import dataclasses

from transforms.common.settings import DEFAULT_HOME, BaseSettings


@dataclasses.dataclass(frozen=True)
class MouseSettings(BaseSettings):
    # Balabit-layout folders dropped per day: <inbox>/ds=YYYY-MM-DD/{training_files,test_files}/userN/...
    mouse_inbox: str = str(DEFAULT_HOME / "mouse_inbox")
    mouse_pause_s: float = 1.0  # a gap this long ends a movement action
    mouse_min_action_points: int = 4  # shorter actions carry no usable velocity profile
    mouse_train_days: int = 3  # nightly retraining: days before the test period
    mouse_test_days: int = 1  # ... and the most recent days, held out for evaluation
    mouse_window_sizes: str = "1,5,10,20"  # actions aggregated per verification decision
    mouse_gate_window: int = 10  # the window size whose overall ROC AUC the promotion gate compares
    mouse_gate_tolerance: float = 0.02
    mouse_trees: int = 150
    mouse_max_depth: int = 14  # action forest depth limit (model size: 32 MB on Balabit, 72 MB at 18); 0 = unbounded
    mouse_keep_versions: int = 5  # registry retention: current, previous promoted and the newest N
    # robustness (issue 17): fixed time step for action trajectories (0 = raw samples), coordinates
    # as fractions of the session's screen bounds, session features without screen extents
    mouse_resample_ms: float = 0.0
    mouse_screen_normalise: bool = False
    mouse_drop_screen_extent: bool = False
    mouse_balabit_dir: str = ""  # default Balabit directory of the mouse_balabit DAG / CLI
    mouse_seed: int = 7
    mouse_collector_host: str = "127.0.0.1"
    mouse_collector_port: int = 8799
    mouse_max_batch_events: int = 2000  # the collector refuses larger batches (the recorder sends <= 500)
    # ... and larger request bodies (413); 0: just above the largest valid batch of that many events
    mouse_max_batch_bytes: int = 0
    # local demos only: accept batches without a site write token (from any origin)
    mouse_collector_open: bool = False

    @property
    def window_sizes(self) -> list[int]:
        return sorted({int(k) for k in self.mouse_window_sizes.split(",") if k.strip()})
