"""Run schemathesis (the CLI, all phases and all checks) against an app served by uvicorn on
loopback. Kept modest: ``max_examples`` per operation, fixed seed (reproducible)."""
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

REPO = Path(__file__).resolve().parents[2]
HOOKS = "tests.webapps.st_hooks"


@contextlib.contextmanager
def serve(app):
    """``app`` on http://127.0.0.1:<free port> in a thread (lifespan included)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def run_schemathesis(base_url: str, headers: dict, max_examples: int = 25, seed: int = 1,
                     phases: str = "examples,coverage,fuzzing,stateful", timeout_s: float = 600) -> str:
    """The CLI's output; fails the test (with the output) unless schemathesis found 0 failures."""
    command = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{base_url}/openapi.json",
               "--checks", "all", "--phases", phases, "--max-examples", str(max_examples), "--seed", str(seed),
               "--workers", "1", "--request-timeout", "40", "--no-color"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    scratch = Path(tempfile.mkdtemp(prefix="schemathesis-"))  # its cache and reports stay out of the repo
    repaired = scratch / "repaired.log"
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "ST_REPAIRED_LOG": str(repaired),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=scratch)
    output = done.stdout + done.stderr
    print(output[-1500:])
    print(f"positive cases repaired by before_call: {len(repaired.read_text().splitlines()) if repaired.exists() else 0}")
    assert done.returncode == 0, output[-6000:]
    assert "No issues found" in output, output[-6000:]
    return output
