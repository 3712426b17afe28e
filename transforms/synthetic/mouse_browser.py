"""The real-browser demo path: headless Chromium (Selenium) on a local page carrying the recorder.

A local FastAPI site serves a star-drawing page and a long browsing page, both embedding
``recorder.js`` with consent granted, and mounts the collector at ``/mouse``. Simulated users with
distinct motor profiles (:mod:`transforms.synthetic.mouse_sessions`) draw the star and browse
(click, drag, scroll) through WebDriver actions; the recorder's batches reach the collector and land in the lake under the day
the demo pins (``site.day``), ready for the ``mouse_features`` DAG.
"""
from __future__ import annotations

import html
import logging
import socket
import tempfile
import threading
import time
from contextlib import contextmanager

import numpy as np
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from transforms.common.lake import Lake
from transforms.synthetic import mouse_sessions
from transforms.mouse.collector import create_app

log = logging.getLogger(__name__)
VIEWPORT = (1280, 800)
STEP_SAMPLES = 3  # send every 3rd trajectory sample as one WebDriver move (timed by its duration)

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{margin:0;font-family:sans-serif}} .tile{{display:inline-block;width:180px;height:120px;margin:10px;
background:#eef;border:1px solid #99c}} canvas{{display:block;background:#fafafa}}</style></head><body>
{body}
<script src="/mouse/recorder.js" data-endpoint="/mouse/collect" data-user="{user}" data-task="{task}"
 data-consent="{consent}" data-flush-ms="300"></script>
</body></html>"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DemoSite:
    """The local site + collector, on 127.0.0.1 in a background thread."""

    def __init__(self, lake: Lake, day: str):
        self.day = day
        self.port = _free_port()
        app = FastAPI()
        app.mount("/mouse", create_app(lake, day=lambda: self.day, open_mode=True))  # local demo: no token

        def page(title, body, user, task, consent):
            return HTMLResponse(PAGE.format(title=title, body=body, user=html.escape(user), task=html.escape(task),
                                            consent="granted" if consent else "denied"))

        @app.get("/star")
        def star(user: str = "", consent: bool = True):
            body = f'<canvas id="c" width="{VIEWPORT[0]}" height="{VIEWPORT[1]}"></canvas>'
            return page("Draw a star", body, user, "star", consent)

        @app.get("/browse")
        def browse(user: str = "", consent: bool = True):
            tiles = "".join(f'<a class="tile" href="#t{i}" id="t{i}">item {i}</a>' for i in range(90))
            return page("Browse", f"<h1>Catalogue</h1>{tiles}", user, "browse", consent)

        @app.get("/blank")
        def blank():
            return HTMLResponse("<!doctype html><title>blank</title>")

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("demo site did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def chromium(binary: str = "/usr/bin/chromium", driver_path: str = "/usr/bin/chromedriver"):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="mouse-chromium-") as profile_dir:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", f"--user-data-dir={profile_dir}",
                    f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}"):
            options.add_argument(arg)
        driver = webdriver.Chrome(options=options, service=Service(driver_path))
        try:
            yield driver
        finally:
            driver.quit()


class Performer:
    """Replays a motor profile's strokes through WebDriver pointer actions."""

    def __init__(self, driver, profile: mouse_sessions.MotorProfile, rng: np.random.Generator, pause_scale: float):
        self.driver, self.rng, self.pause_scale = driver, rng, pause_scale
        self.profile = profile.varied(rng)
        # the viewport is smaller than the window; WebDriver refuses moves outside it
        self.viewport = tuple(driver.execute_script("return [window.innerWidth, window.innerHeight]"))
        self.pos = (self.viewport[0] / 2, self.viewport[1] / 2)

    def _builder(self):
        from selenium.webdriver.common.actions.action_builder import ActionBuilder

        return ActionBuilder(self.driver, duration=0)

    def _clamp(self, x, y):
        return int(np.clip(x, 1, self.viewport[0] - 2)), int(np.clip(y, 1, self.viewport[1] - 2))

    def stroke(self, builder, target):
        samples = mouse_sessions.stroke(self.profile, self.pos, target, self.rng)
        previous = 0.0
        for t, x, y in list(samples[STEP_SAMPLES - 1::STEP_SAMPLES]) + [samples[-1]]:
            cx, cy = self._clamp(x, y)
            builder.pointer_action.source.create_pointer_move(
                duration=max(1, int((t - previous) * 1000)), x=cx, y=cy, origin="viewport")
            previous = t
        self.pos = target

    def target(self):
        return self._clamp(*mouse_sessions._target(self.profile, self.rng))

    def pause(self, builder, mean):
        builder.pointer_action.pause(float(self.rng.exponential(mean * self.pause_scale)) + 0.02)

    def draw_star(self):
        from selenium.webdriver.common.actions.mouse_button import MouseButton

        builder = self._builder()
        home = self.profile.home
        margin = self.profile.star_size + 5
        center = (float(np.clip(home[0], margin, self.viewport[0] - margin)),
                  float(np.clip(home[1], margin, self.viewport[1] - margin)))
        points = [self._clamp(*p) for p in mouse_sessions.star_points(self.profile, center)]
        self.stroke(builder, points[0])
        self.pause(builder, self.profile.pause)
        builder.pointer_action.pointer_down(MouseButton.LEFT)
        for vertex in points[1:]:
            self.stroke(builder, vertex)
        builder.pointer_action.pointer_up(MouseButton.LEFT)
        self.pause(builder, self.profile.pause)
        self.stroke(builder, self.target())
        builder.perform()

    def browse(self, n_actions: int):
        from selenium.webdriver import ActionChains
        from selenium.webdriver.common.actions.mouse_button import MouseButton

        for _ in range(n_actions):
            builder = self._builder()
            self.stroke(builder, self.target())
            roll = self.rng.random()
            if roll < 0.45:
                builder.pointer_action.pointer_down(MouseButton.LEFT)
                builder.pointer_action.pause(self.profile.click_dwell)
                builder.pointer_action.pointer_up(MouseButton.LEFT)
            elif roll < 0.55:
                builder.pointer_action.pointer_down(MouseButton.LEFT)
                self.stroke(builder, self.target())
                builder.pointer_action.pointer_up(MouseButton.LEFT)
            self.pause(builder, self.profile.pause)
            builder.perform()
            if 0.55 <= roll < 0.75:
                direction = 1 if self.rng.random() < 0.7 else -1
                for _ in range(int(self.rng.integers(3, 8))):
                    ActionChains(self.driver).scroll_by_amount(0, 100 * direction).perform()
                    time.sleep(self.profile.scroll_dt)


def record_session(driver, site: DemoSite, profile: mouse_sessions.MotorProfile, task: str, rng,
                   browse_actions: int = 6, pause_scale: float = 0.5, consent: bool = True) -> None:
    """One recorded session (a fresh recorder session id) of ``profile`` doing ``task``."""
    started = time.time()
    driver.get(f"{site.url}/blank")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{site.url}/{task}?user={profile.name}&consent={'true' if consent else 'false'}")
    performer = Performer(driver, profile, rng, pause_scale)
    if task == "star":
        performer.draw_star()
    else:
        performer.browse(browse_actions)
    driver.execute_script("return window.trackscopeMouse && window.trackscopeMouse.flush()")
    time.sleep(0.4)  # let the last fetch reach the collector before the page is left
    log.info("recorded %s %s in %.1f s", profile.name, task, time.time() - started)


def run(lake: Lake, plan: dict[str, tuple[int, int]], users: int, seed: int, browse_actions: int = 6,
        pause_scale: float = 0.5) -> dict:
    """Record every user's sessions in one browser: ``plan`` maps each day to its
    (star sessions, browse sessions) per user. Returns the number of batches stored per day."""
    profiles = mouse_sessions.profiles(users, seed)
    rng = np.random.default_rng(seed)
    counts = {}
    days = list(plan)
    with DemoSite(lake, days[0]) as site, chromium() as driver:
        for day in days:
            site.day = day
            started = time.time()
            star_sessions, browse_sessions = plan[day]
            for profile in profiles:
                for task in ["star"] * star_sessions + ["browse"] * browse_sessions:
                    record_session(driver, site, profile, task, rng, browse_actions, pause_scale)
            counts[day] = len(lake.list_files(f"raw/mouse/recorder/ds={day}", ".json"))
            log.info("browser demo %s: %d users recorded, %d batches, %.0f s", day, users, counts[day],
                     time.time() - started)
    return counts


def main(argv=None) -> None:
    import argparse

    from transforms.common import settings as settings_module
    from transforms.mouse.settings import MouseSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parser = argparse.ArgumentParser(description="Record simulated users in headless Chromium")
    parser.add_argument("days", nargs="+")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--browse-actions", type=int, default=6)
    parser.add_argument("--star-sessions", type=int, default=1)
    parser.add_argument("--browse-sessions", type=int, default=1)
    parser.add_argument("--pause-scale", type=float, default=0.5, help="shortens the profiles' pauses")
    args = parser.parse_args(argv)
    lake = settings_module.load(MouseSettings).lake
    plan = {day: (args.star_sessions, args.browse_sessions) for day in args.days}
    print(run(lake, plan, args.users, args.seed, args.browse_actions, args.pause_scale))


if __name__ == "__main__":
    main()
