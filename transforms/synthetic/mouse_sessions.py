"""Synthetic users with distinct motor profiles, written in the Balabit layout.

A profile fixes how a person moves: peak speed, how much strokes bow sideways, tremor, sampling
jitter, overshoot habit, pauses, click dwell, scroll rhythm, where on screen they work and how they
draw the star. Strokes follow a minimum-jerk velocity profile (Flash & Hogan), the classic model of
aimed hand movements; all randomness comes from one seed, so a generated data set is reproducible.
The same profiles drive the real browser in :mod:`transforms.synthetic.mouse_browser`.
"""
from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SCREEN = (1280, 800)


@dataclass(frozen=True)
class MotorProfile:
    name: str
    peak_speed: float  # px/s
    bow: float  # sideways bulge as a fraction of the stroke length (signed: handedness)
    tremor: float  # px
    sample_dt: float  # s between pointer samples
    overshoot: float  # probability of overshooting a target and correcting
    pause: float  # mean pause between actions, s
    click_dwell: float  # s between press and release
    scroll_dt: float  # s between wheel notches
    home: tuple[float, float]  # preferred screen area
    star_size: float  # px

    @classmethod
    def random(cls, name: str, rng: np.random.Generator) -> "MotorProfile":
        return cls(name=name, peak_speed=float(rng.uniform(800, 1600)), bow=float(rng.uniform(-0.12, 0.12)),
                   tremor=float(rng.uniform(0.5, 1.5)), sample_dt=float(rng.uniform(0.01, 0.016)),
                   overshoot=float(rng.uniform(0.05, 0.35)), pause=float(rng.uniform(0.3, 0.8)),
                   click_dwell=float(rng.uniform(0.07, 0.15)), scroll_dt=float(rng.uniform(0.04, 0.1)),
                   home=(float(rng.uniform(500, 780)), float(rng.uniform(300, 500))),
                   star_size=float(rng.uniform(120, 220)))

    def varied(self, rng: np.random.Generator) -> "MotorProfile":
        """The same person on another occasion: speed, bow, tremor, pauses and position drift."""
        return dataclasses.replace(
            self, peak_speed=self.peak_speed * float(rng.lognormal(0, 0.2)), bow=self.bow + float(rng.normal(0, 0.06)),
            tremor=self.tremor * float(rng.lognormal(0, 0.25)), pause=self.pause * float(rng.lognormal(0, 0.3)),
            overshoot=float(np.clip(self.overshoot + rng.normal(0, 0.08), 0, 1)),
            click_dwell=self.click_dwell * float(rng.lognormal(0, 0.2)),
            scroll_dt=self.scroll_dt * float(rng.lognormal(0, 0.2)),
            home=(self.home[0] + float(rng.normal(0, 80)), self.home[1] + float(rng.normal(0, 60))),
            star_size=self.star_size * float(rng.lognormal(0, 0.15)))


def profiles(n: int, seed: int) -> list[MotorProfile]:
    rng = np.random.default_rng(seed)
    return [MotorProfile.random(f"user{i + 1}", rng) for i in range(n)]


def stroke(profile: MotorProfile, start, end, rng: np.random.Generator) -> np.ndarray:
    """(t offset, x, y) samples from start to end (start excluded), minimum-jerk in time."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    distance = float(np.hypot(*(end - start)))
    duration = 0.08 + 1.875 * distance / profile.peak_speed * rng.uniform(0.85, 1.15)
    n = max(2, int(duration / profile.sample_dt))
    times = np.cumsum(rng.uniform(0.7, 1.3, n) * profile.sample_dt)
    s = np.clip(times / times[-1], 0, 1)
    progress = 10 * s**3 - 15 * s**4 + 6 * s**5
    normal = np.array([-(end - start)[1], (end - start)[0]]) / max(distance, 1e-9)
    bulge = profile.bow * distance * np.sin(math.pi * progress) * rng.uniform(0.7, 1.3)
    points = start + np.outer(progress, end - start) + np.outer(bulge, normal)
    points += rng.normal(0, profile.tremor, points.shape)
    points[-1] = end
    return np.column_stack([times, np.clip(points[:, 0], 0, SCREEN[0]), np.clip(points[:, 1], 0, SCREEN[1])])


def _target(profile: MotorProfile, rng) -> tuple[float, float]:
    x = np.clip(rng.normal(profile.home[0], 250), 10, SCREEN[0] - 10)
    y = np.clip(rng.normal(profile.home[1], 180), 10, SCREEN[1] - 10)
    return float(x), float(y)


def star_points(profile: MotorProfile, center) -> list[tuple[float, float]]:
    """The five-pointed star drawn in one stroke (vertex order 0, 2, 4, 1, 3, 0)."""
    vertices = [(center[0] + profile.star_size * math.sin(2 * math.pi * k / 5),
                 center[1] - profile.star_size * math.cos(2 * math.pi * k / 5)) for k in range(5)]
    return [vertices[k % 5] for k in (0, 2, 4, 1, 3, 5)]


class SessionWriter:
    """Accumulates (t, button, state, x, y) rows of one session."""

    def __init__(self, profile: MotorProfile, rng: np.random.Generator):
        self.profile, self.rng = profile.varied(rng), rng
        self.t, self.pos = 0.0, _target(profile, rng)
        self.rows: list[tuple] = []

    def emit(self, button, state, x=None, y=None):
        x, y = self.pos if x is None else (x, y)
        self.rows.append((self.t, button, state, x, y))

    def move(self, target, state="Move", button="NoButton"):
        if self.rng.random() < self.profile.overshoot and state == "Move":
            over = np.asarray(target) + (np.asarray(target) - np.asarray(self.pos)) * self.rng.uniform(0.05, 0.15)
            self._path(tuple(over), state, button)
        self._path(target, state, button)

    def _path(self, target, state, button):
        base = self.t
        for dt, x, y in stroke(self.profile, self.pos, target, self.rng):
            self.rows.append((base + dt, button, state, x, y))
        self.t, self.pos = self.rows[-1][0], (self.rows[-1][3], self.rows[-1][4])

    def wait(self, mean):
        self.t += float(self.rng.exponential(mean)) + 0.02

    def click(self):
        self.emit("Left", "Pressed")
        self.t += self.profile.click_dwell * self.rng.uniform(0.7, 1.3)
        self.emit("Left", "Released")

    def scroll(self):
        direction = "Down" if self.rng.random() < 0.7 else "Up"
        for _ in range(int(self.rng.integers(3, 12))):
            self.t += self.profile.scroll_dt * self.rng.uniform(0.6, 1.4)
            self.emit("Scroll", direction)


def star_session(profile: MotorProfile, rng) -> list[tuple]:
    writer = SessionWriter(profile, rng)
    profile = writer.profile
    points = star_points(profile, (profile.home[0] + rng.normal(0, 30), profile.home[1] + rng.normal(0, 30)))
    writer.move(points[0])
    writer.wait(profile.pause)
    writer.emit("Left", "Pressed")
    for vertex in points[1:]:
        writer.move(vertex, state="Drag", button="NoButton")
        writer.t += float(rng.exponential(profile.pause / 5))
    writer.emit("Left", "Released")
    writer.wait(profile.pause)
    writer.move(_target(profile, rng))
    return writer.rows


def browse_session(profile: MotorProfile, rng, n_actions: int) -> list[tuple]:
    writer = SessionWriter(profile, rng)
    profile = writer.profile
    for _ in range(n_actions):
        roll = rng.random()
        writer.move(_target(profile, rng))
        if roll < 0.45:
            writer.click()
        elif roll < 0.55:
            writer.emit("Left", "Pressed")
            writer.move(_target(profile, rng), state="Drag")
            writer.emit("Left", "Released")
        elif roll < 0.75:
            writer.scroll()
        writer.wait(profile.pause)
    return writer.rows


def write_session(path: Path, rows: list[tuple], rng) -> None:
    """One Balabit CSV; the record timestamp trails the client's by a small logging lag."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["record timestamp", "client timestamp", "button", "state", "x", "y"])
        for t, button, state, x, y in rows:
            coords = [c if math.isnan(c) else int(round(c)) for c in (x, y)]
            out.writerow([f"{t + rng.uniform(0, 0.004):.3f}", f"{t:.3f}", button, state, *coords])


def inject_bad_rows(rows: list[tuple], rng) -> list[tuple]:
    """Three rows of the kinds real logs contain: time going back, NaN coordinate, unknown state."""
    rows = list(rows)
    i = int(rng.integers(5, len(rows) - 5))
    t, button, _, x, y = rows[i]
    rows.insert(i + 1, (t - 5.0, "NoButton", "Move", x, y))
    rows.insert(i + 2, (t, "NoButton", "Move", float("nan"), y))
    rows.insert(i + 3, (t, "Left", "Wiggle", x, y))
    return rows


def write_day(folder: Path, users: list[MotorProfile], day_index: int, seed: int, star_sessions: int = 1,
              browse_sessions: int = 1, browse_actions: int = 25, labelled_tests: int = 0,
              bad_rows: bool = True) -> dict:
    """One day's Balabit-layout folder: training sessions for every user (star and browse tasks
    have their own session ids) and, optionally, labelled test sessions (half of them produced by
    another user: is_illegal=1). Returns counts."""
    rng = np.random.default_rng([seed, day_index])
    counts = {"sessions": 0, "bad_rows": 0, "labelled_tests": 0}
    labels, tasks = [], []
    for u, profile in enumerate(users):
        for k in range(star_sessions + browse_sessions):
            task = "star" if k < star_sessions else "browse"
            rows = star_session(profile, rng) if task == "star" else browse_session(profile, rng, browse_actions)
            if bad_rows and u == 0 and k == star_sessions:
                rows = inject_bad_rows(rows, rng)
                counts["bad_rows"] += 3
            name = f"session_d{day_index:02d}{task}{k}u{u + 1:02d}"
            write_session(folder / "training_files" / profile.name / name, rows, rng)
            tasks.append((name, task))
            counts["sessions"] += 1
        for k in range(labelled_tests):
            illegal = k % 2 == 1
            actor = users[(u + 1 + int(rng.integers(0, len(users) - 1))) % len(users)] if illegal else profile
            name = f"session_d{day_index:02d}test{k}u{u + 1:02d}"
            write_session(folder / "test_files" / profile.name / name, browse_session(actor, rng, browse_actions), rng)
            labels.append((name, int(illegal)))
            tasks.append((name, "browse"))
            counts["labelled_tests"] += 1
    for file_name, header, rows in (("public_labels.csv", ["filename", "is_illegal"], labels),
                                    ("session_tasks.csv", ["filename", "task"], tasks)):
        if rows:
            with (folder / file_name).open("w", newline="") as handle:
                out = csv.writer(handle)
                out.writerow(header)
                out.writerows(rows)
    return counts


def write_inbox(inbox: Path, days: list[str], n_users: int, seed: int, **options) -> dict:
    """Balabit-layout folders for consecutive days under ``<inbox>/ds=<day>/``."""
    users = profiles(n_users, seed)
    return {day: write_day(Path(inbox) / f"ds={day}", users, i, seed, **options) for i, day in enumerate(days)}


def main(argv=None) -> None:
    import argparse

    from transforms.common.days import span

    parser = argparse.ArgumentParser(description="Write synthetic Balabit-layout mouse logs per day")
    parser.add_argument("inbox")
    parser.add_argument("--start", required=True, help="first day YYYY-MM-DD")
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--browse-actions", type=int, default=25)
    parser.add_argument("--labelled-tests", type=int, default=2)
    args = parser.parse_args(argv)
    counts = write_inbox(Path(args.inbox), span(args.start, args.days), args.users, args.seed, browse_actions=args.browse_actions,
                         labelled_tests=args.labelled_tests)
    for day, c in counts.items():
        print(f"{day}: {c}")


if __name__ == "__main__":
    main()
