"""Run the liveness service under uvicorn and drain it on SIGTERM (what orchestrators send before they stop a pod).

On SIGTERM: ``/readyz`` answers 503 at once (load balancers stop sending), requests keep being
accepted for ``drain_delay`` seconds (the time a balancer takes to notice), then new ones get
503 ``shutting_down``; once no request is in flight (or after the request timeout and a margin),
uvicorn closes the port, finishes the open connections and the process exits 0. A second
SIGTERM, or SIGINT (Ctrl-C), stops at once as uvicorn does.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType
from typing import Any

import uvicorn

__all__ = ["DrainingServer", "serve"]

log = logging.getLogger("antispoof.serve")


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose SIGTERM drains the service (see the module docstring) and ends with status 0."""

    def __init__(self, config: uvicorn.Config, service: Any, drain_delay: float = 0.0) -> None:
        super().__init__(config)
        self.service, self.drain_delay = service, drain_delay
        self._drainer: threading.Thread | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self._drainer is not None:
            super().handle_exit(sig, frame)  # SIGINT, or a second SIGTERM: uvicorn's own (prompt) shutdown
            return
        # not recorded as a captured signal, so uvicorn does not re-raise it after shutdown: the exit status is 0
        self.service.drain()
        self._drainer = threading.Thread(target=self._drain, name="drain", daemon=True)
        self._drainer.start()

    def _drain(self) -> None:
        log.info('{"event": "draining", "in_flight": %d, "drain_delay_s": %g}', self.service.in_flight, self.drain_delay)
        time.sleep(self.drain_delay)
        self.service.accepting = False
        deadline = time.monotonic() + self.service.limits.timeout_s + 5.0  # a request never outlives its timeout by more
        while self.service.in_flight > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        log.info('{"event": "stopping", "in_flight": %d}', self.service.in_flight)
        self.should_exit = True


def serve(app: Any, host: str, port: int, *, drain_delay: float = 0.0, **uvicorn_options: Any) -> None:
    """Serve ``app`` (from :func:`~antispoof.serve.app.create_app`) until SIGTERM has drained it, or SIGINT."""
    service = app.state.service
    config = uvicorn.Config(app, host=host, port=port, timeout_graceful_shutdown=int(service.limits.timeout_s) + 10,
                            **uvicorn_options)
    DrainingServer(config, service, drain_delay=drain_delay).run()
