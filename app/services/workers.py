"""A worker thread per server process: the one way long work (imports, webhook deliveries) runs off the request.

Each worker is a daemon thread started once per process (again after a fork: a forked child has the
parent's memory but not its threads), that does one pass of its work, then sleeps until woken or
until its pause is over. A pass that fails (a database away for a moment) is logged and tried again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


class Worker:
    def __init__(self, name: str, pause_seconds: float, work: Callable[[], None]):
        self.name, self.pause, self.work = name, pause_seconds, work
        self.pid: int | None = None
        self.thread: threading.Thread | None = None
        self.event = threading.Event()

    def wake(self) -> None:
        self.event.set()

    def start(self, app, on_start: Callable[[], None] | None = None) -> bool:
        """Start this process's thread unless it runs already (`on_start` first, in this process);
        whether it was started now."""
        if self.pid == os.getpid() and self.thread is not None and self.thread.is_alive():
            return False
        if on_start is not None:
            on_start()
        self.pid, self.event = os.getpid(), threading.Event()
        event = self.event

        def loop():
            while True:
                try:
                    with app.app_context():
                        self.work()
                except Exception:  # noqa: BLE001 - a database away for a moment: try again later
                    app.logger.exception(self.name)
                event.wait(self.pause)
                event.clear()

        self.thread = threading.Thread(target=loop, name=self.name, daemon=True)
        self.thread.start()
        return True
