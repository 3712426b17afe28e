"""Balabit-format loader and validation on small hand-written files."""
from pathlib import Path

import pandas as pd

from transforms.common.quarantine import Quarantine
from transforms.mouse import balabit

HEADER = "record timestamp,client timestamp,button,state,x,y\n"


def _write(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + body)


def test_states_scrolls_and_bad_rows(tmp_path):
    _write(tmp_path / "training_files/user7/session_0001", "\n".join([
        "0.0,0.0,NoButton,Move,100,200",
        "0.01,0.016,NoButton,Move,104,203",
        "0.02,0.031,Left,Pressed,104,203",
        "0.03,0.047,NoButton,Drag,110,210",
        "0.04,0.062,Left,Released,110,210",
        "0.05,0.070,Scroll,Down,110,210",
        "0.06,0.080,Scroll,Up,110,210",
        "0.07,0.010,NoButton,Move,111,211",  # time goes back
        "0.08,0.090,NoButton,Move,,211",  # missing x
        "0.09,0.095,NoButton,Move,nan,211",  # NaN x
        "0.10,0.100,Left,Wiggle,111,211",  # unknown state
        "0.11,0.110,NoButton,Move,65535,211",  # off-screen sentinel
        "0.12,0.120,NoButton,Move",  # truncated line
        "0.13,0.130,NoButton,Move,120,220",
    ]) + "\n")
    quarantine = Quarantine("ingest")
    events = balabit.load(tmp_path, quarantine)
    assert events["event"].tolist() == ["move", "move", "press", "drag", "release", "scroll_down", "scroll_up", "move"]
    assert events["button"].tolist()[:6] == ["none", "none", "left", "none", "left", "scroll"]
    assert events["seq"].tolist() == list(range(8))
    assert set(events["user_id"]) == {"balabit:user7"} and set(events["session_id"]) == {"balabit:0001"}
    assert events["is_illegal"].tolist() == [-1] * 8
    assert quarantine.counts() == {
        "non-monotonic time (earlier than the previous event)": 1, "coordinate missing or NaN": 2,
        "unknown event/state 'Left/Wiggle'": 1, "coordinate out of range": 1, "line 14: 4 fields, expected 6": 1}


def test_test_files_use_public_labels_and_skip_unlabelled(tmp_path):
    row = "0.0,0.0,NoButton,Move,1,1\n0.1,0.1,NoButton,Move,2,2\n"
    _write(tmp_path / "training_files/user1/session_a", row)
    _write(tmp_path / "test_files/user1/session_legal", row)
    _write(tmp_path / "test_files/user1/session_illegal", row)
    _write(tmp_path / "test_files/user1/session_unknown", row)
    (tmp_path / "public_labels.csv").write_text("filename,is_illegal\nsession_legal,0\nsession_illegal,1\n")
    (tmp_path / "session_tasks.csv").write_text("filename,task\nsession_a,star\n")
    events = balabit.load(tmp_path, Quarantine("ingest"))
    labels = events.groupby("session_id")["is_illegal"].first().to_dict()
    assert labels == {"balabit:a": -1, "balabit:legal": 0, "balabit:illegal": 1}
    assert events.groupby("session_id")["task"].first().to_dict() == {
        "balabit:a": "star", "balabit:legal": "balabit", "balabit:illegal": "balabit"}


def test_wrong_header_is_quarantined_not_crashing(tmp_path):
    path = tmp_path / "training_files/user1/session_x"
    path.parent.mkdir(parents=True)
    path.write_text("a,b,c\n1,2,3\n")
    quarantine = Quarantine("ingest")
    assert balabit.load(tmp_path, quarantine).empty
    assert len(quarantine) == 1 and "not a Balabit session file" in quarantine.rows[0]["reason"]


def test_vectorised_loader_equals_the_row_by_row_reference(tmp_path):
    """The vectorised loader keeps the same rows, in the same order, with the same quarantine reasons
    as the reference (one dict per row) loader, including non-numbers in numeric columns."""
    _write(tmp_path / "training_files/user3/session_b", "\n".join([
        "0.0,0.0,NoButton,Move,100,200", "0.01,0.5,NoButton,Move,101,201", "0.02,0.2,NoButton,Move,102,202",
        "0.03,0.3,NoButton,Move,103,203",  # earlier than 0.5: backwards
        "0.04,abc,NoButton,Move,104,204", "0.05,0.6,Left,Pressed,104,-3", "0.06,0.7,Left,Released,104,204",
        "0.07,0.8,Scroll,Sideways,1,1", "0.08,0.9,Gizmo,Move,1,1", "1,2,3", "0.09,1.0,NoButton,Move,105,205",
    ]) + "\n")
    _write(tmp_path / "test_files/user3/session_c", "0.0,0.0,NoButton,Move,1,1\n0.1,0.1,NoButton,Drag,2,2\n")
    (tmp_path / "public_labels.csv").write_text("filename,is_illegal\nsession_c,1\n")
    q_new, q_old = Quarantine("ingest"), Quarantine("ingest")
    new, old = balabit.load(tmp_path, q_new), balabit.load_rowwise(tmp_path, q_old)
    old["scroll_y"] = old["scroll_y"].astype(float)
    text = ["source", "user_id", "session_id", "task", "event", "button"]
    assert all(isinstance(new[c].dtype, pd.CategoricalDtype) for c in text)  # lean: no string per row
    new, old = new.astype({c: object for c in text}), old.astype({c: object for c in text})
    assert len(new) == 6
    pd.testing.assert_frame_equal(new, old, check_dtype=False)
    assert q_new.counts() == q_old.counts()
    assert "line 11: 3 fields, expected 6" in q_new.counts()
