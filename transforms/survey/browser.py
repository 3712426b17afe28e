"""One headless Chromium (with ChromeDriver) and the worker that owns successive ones.

Process management for :mod:`transforms.survey.crawler`: a throw-away profile per browser, the
browser's process tree (for memory sampling and for killing it), and a per-worker deadline that
a watchdog thread enforces by killing the browser when a WebDriver call overruns.
"""
from __future__ import annotations

import itertools
import json
import logging
import shlex
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Optional

import psutil

log = logging.getLogger("transforms.survey.crawler")  # one logger name for the whole crawl


def short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    # Selenium messages carry a long stack trace after "Stacktrace:"; keep the useful head.
    return text.split("\nStacktrace:")[0][:2000]


BASE_CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
COMMAND_MARGIN_S = 15.0  # extra time a WebDriver call may take beyond its own timeout
# JavaScript dialogs never block a visit: alert/confirm/prompt are answered at once as a user
# dismissing them would (undefined / false / null) and recorded in window.__trackscopeDialogs;
# any other dialog (beforeunload, a dialog from a frame the shim missed) is dismissed by
# ChromeDriver (capability unhandledPromptBehavior) and seen as Page.javascriptDialogOpening.
DIALOG_SHIM = """(() => {
  const seen = (type, message) => { try {
    (window.__trackscopeDialogs = window.__trackscopeDialogs || []).push([type, String(message === undefined ? '' : message)]);
  } catch (e) {} };
  window.alert = function alert(message) { seen('alert', message); };
  window.confirm = function confirm(message) { seen('confirm', message); return false; };
  window.prompt = function prompt(message) { seen('prompt', message); return null; };
})();"""


# -- one browser --------------------------------------------------------------------------------
class BrowserStartError(RuntimeError):
    """Chrome/ChromeDriver would not start: an infrastructure failure, not a site outcome."""


class Browser:
    """One Chrome + ChromeDriver, with its own throw-away profile directory."""

    _ids = itertools.count(1)

    def __init__(self, settings, args: list[str]):
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        self.id = f"browser-{next(self._ids)}"
        self.settings = settings
        self.killed = False
        self.profile = tempfile.mkdtemp(prefix="trackscope-chrome-")
        options = Options()
        options.binary_location = settings.chromium_binary
        for arg in args:
            options.add_argument(arg)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        options.set_capability("unhandledPromptBehavior", "dismiss")
        self.service = Service(settings.chromedriver)
        self.driver = None
        try:
            self.driver = webdriver.Chrome(service=self.service, options=options)
        except BaseException:
            self.kill()
            raise
        self.driver.set_page_load_timeout(settings.page_load_timeout_s)
        try:
            self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_SHIM})
        except Exception:  # noqa: BLE001 - the capability still dismisses dialogs
            log.warning("%s: dialog shim not installed", self.id, exc_info=True)
        self.set_command_timeout(settings.page_load_timeout_s + COMMAND_MARGIN_S)
        self._no_read_retries()

    def _no_read_retries(self) -> None:
        # urllib3 by default retries a command whose response timed out (3x): against a hung
        # browser that multiplies every wait. Fail on the first read timeout instead.
        try:
            import urllib3

            executor = self.driver.command_executor
            executor._conn = urllib3.PoolManager(
                timeout=executor._client_config.timeout,
                retries=urllib3.util.Retry(total=1, connect=1, read=0, redirect=0, status=0, other=0))
        except Exception:  # noqa: BLE001 - selenium internals changed: keep its defaults
            log.debug("could not disable command read retries", exc_info=True)

    # Selenium 4.50: each connection owns a ClientConfig whose ``timeout`` applies per request.
    def set_command_timeout(self, seconds: float) -> None:
        if self.driver is not None:
            try:
                self.driver.command_executor._client_config.timeout = seconds
            except AttributeError:  # older selenium: class-wide setting
                self.driver.command_executor.set_timeout(seconds)

    def pids(self) -> list[int]:
        proc = getattr(self.service, "process", None)
        if proc is None:
            return []
        try:
            root = psutil.Process(proc.pid)
            return [root.pid] + [c.pid for c in root.children(recursive=True)]
        except psutil.Error:
            return []

    def memory_bytes(self, pss: bool = False) -> int:
        """Sum of RSS (or PSS: shared pages split between processes) over the process tree."""
        total = 0
        for pid in self.pids():
            try:
                proc = psutil.Process(pid)
                total += proc.memory_full_info().pss if pss else proc.memory_info().rss
            except (psutil.Error, AttributeError):
                pass
        return total

    def _profile_pids(self) -> list[int]:
        """Chrome processes using this browser's profile, even if orphaned (chromedriver gone)."""
        marker = f"--user-data-dir={self.profile}"
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if marker in (proc.info.get("cmdline") or []):
                    found.append(proc.pid)
            except psutil.Error:
                pass
        return found

    def kill(self) -> None:
        """Kill chromedriver and every Chrome process of this browser (hung or crashed browser)."""
        self.killed = True
        procs = {}
        for pid in self.pids() + self._profile_pids():
            try:
                proc = psutil.Process(pid)
                procs[pid] = proc
                for child in proc.children(recursive=True):
                    procs[child.pid] = child
            except psutil.Error:
                pass
        procs = list(procs.values())
        for p in procs:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=5)
        self._remove_profile()

    def close(self, graceful: bool = True) -> None:
        if graceful and not self.killed and self.driver is not None:
            self.set_command_timeout(10)
            try:
                self.driver.quit()
            except Exception:  # noqa: BLE001 - fall through to kill
                pass
        self.kill()

    def _remove_profile(self) -> None:
        shutil.rmtree(self.profile, ignore_errors=True)


# -- one worker -----------------------------------------------------------------------------------
class Worker:
    """Owns (successive) browsers; a watchdog kills the current one when a call overruns."""

    def __init__(self, settings, args: list[str], number: int):
        self.settings = settings
        self.args = args
        self.number = number
        self.browser: Optional[Browser] = None
        self._deadline: Optional[float] = None
        self._lock = threading.Lock()
        self.peak_rss = 0
        self.peak_pss = 0

    # watchdog interface
    def check_deadline(self) -> None:
        with self._lock:
            deadline, browser = self._deadline, self.browser
        if browser is not None and deadline is not None and time.monotonic() > deadline and not browser.killed:
            log.warning("worker %d: %s overran its deadline; killing it", self.number, browser.id)
            browser.kill()

    def sample_memory(self, pss: bool = False) -> None:
        browser = self.browser
        if browser is not None and not browser.killed:
            self.peak_rss = max(self.peak_rss, browser.memory_bytes())
            if pss:
                self.peak_pss = max(self.peak_pss, browser.memory_bytes(pss=True))

    @contextmanager
    def guard(self, seconds: float, margin: float = COMMAND_MARGIN_S):
        """Limit a block of WebDriver calls to ``seconds`` (+ margin) of wall time."""
        with self._lock:
            self._deadline = time.monotonic() + seconds + margin
        if self.browser is not None:
            self.browser.set_command_timeout(seconds + margin / 2)
        try:
            yield
        finally:
            with self._lock:
                self._deadline = None

    @property
    def driver(self):
        return self.ensure_browser().driver

    def ensure_browser(self) -> Browser:
        if self.browser is None or self.browser.killed:
            self.drop_browser()
            with self._lock:
                previous, self._deadline = self._deadline, time.monotonic() + 60 + COMMAND_MARGIN_S
            try:
                try:
                    self.browser = Browser(self.settings, self.args)
                except Exception as first:  # noqa: BLE001 - one more try, then give up
                    log.warning("worker %d: browser failed to start (%s); retrying", self.number, short_error(first))
                    time.sleep(1)
                    try:
                        self.browser = Browser(self.settings, self.args)
                    except Exception as exc:  # noqa: BLE001
                        raise BrowserStartError(f"browser failed to start: {short_error(exc)}") from exc
            finally:
                with self._lock:
                    self._deadline = previous
            log.debug("worker %d started %s", self.number, self.browser.id)
        return self.browser

    def drop_browser(self, graceful: bool = True) -> None:
        """Close the current browser (``graceful=False``: just kill it, it may be hung)."""
        browser, self.browser = self.browser, None
        if browser is not None:
            browser.close(graceful)

    # -- small helpers --------------------------------------------------------------------
    def drain_log(self) -> list[dict]:
        events = []
        for entry in self.driver.get_log("performance"):
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, TypeError, ValueError):
                continue
            method = str(message.get("method", ""))
            if method.startswith("Network.") or method == "Page.javascriptDialogOpening":
                events.append({"method": method, "params": message.get("params") or {}})
        return events

    def try_salvage_events(self) -> list[dict]:
        """Events of a timed-out/crashed visit, if the browser still answers (short timeout)."""
        if self.browser is None or self.browser.killed:
            return []
        try:
            with self.guard(4, margin=2):
                return self.drain_log()
        except Exception:  # noqa: BLE001
            return []

    def reset_context(self, origins: list[str]) -> None:
        """Fresh context for the next site: cookies, cache and the visited origins' storage."""
        with self.guard(15):
            driver = self.driver
            driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
            driver.execute_cdp_cmd("Network.clearBrowserCache", {})
            for origin in origins:
                driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
            driver.get("about:blank")
            self.drain_log()


# -- one site -------------------------------------------------------------------------------------


def chromium_args(settings, extra_chromium_args=()) -> list[str]:
    args = list(BASE_CHROMIUM_ARGS)
    if settings.js_heap_limit_mb:  # a runaway page then crashes its renderer instead of eating the worker
        args.append(f"--js-flags=--max-old-space-size={settings.js_heap_limit_mb}")
    if settings.host_resolver_rules:
        args.append(f"--host-resolver-rules={settings.host_resolver_rules}")
    args += shlex.split(settings.chromium_extra_args or "")
    args += list(extra_chromium_args or [])
    return args
