"""Run the app for real: gunicorn with several workers, as `make run` does."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60, verify=True) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=1, verify=verify)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not answer within {timeout}s")


class Gunicorn:
    def __init__(self, database_url: str, instance: Path, workers: int = 4, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test", "WH_INSTANCE_PATH": str(instance),
               **(env or {})}
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,  # kill() takes the master and its workers at once
        )

    def __enter__(self) -> Gunicorn:
        wait_until_up(self.url + "/login", self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL to the master and every worker: no handler runs, nothing is finished."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
