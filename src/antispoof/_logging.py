"""Logging setup: one console handler (rich) for the CLI, one file handler per run.

Third-party chatter goes to the run's ``run.log``, not the terminal: Python log records
of other libraries (onnxruntime's ``WARNING:root:Please consider ...``) through a handler
on the root logger, and lines that native code writes straight to file descriptor 2
(LiteRT's ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.``, absl's
``I0000 ...`` lines) through :func:`filter_native_stderr`, which the CLI installs.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading
from pathlib import Path

LOGGER_NAME = "antispoof"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_console_logging(level: int = logging.INFO) -> None:
    """Route the package's log records to stderr through rich; idempotent."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if any(getattr(h, "_antispoof_console", False) for h in logger.handlers):
        return
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False)
    handler._antispoof_console = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logging.captureWarnings(True)  # other libraries' Python warnings become records of "py.warnings": the run log's
    _route_root_to_run_log(verbose=level <= logging.DEBUG)


def add_file_handler(path: Path, level: int = logging.DEBUG) -> logging.Handler:
    """Also write the package's log records to ``path``; returns the handler to remove later."""
    logger = logging.getLogger(LOGGER_NAME)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.setLevel(level)
    logger.addHandler(handler)
    return handler


# Third-party chatter (Lightning's info lines and tips, Python warnings) is kept off the
# console but still reaches the run's run.log, so nothing is lost.
THIRD_PARTY_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning", "py.warnings")
NATIVE_LOGGER = "native"  # the name on run.log lines that native code wrote to stderr


class _ToRunLog(logging.Handler):
    """Hands other libraries' records to the run's log files (the ``antispoof`` logger's file handlers), if any;
    their errors (and, with ``--verbose``, everything) also to the terminal.

    Sits on the root logger, so a library's ``logging.warning(...)`` neither reaches the terminal nor makes
    ``logging`` install its own stderr handler (it does when the root logger has none).
    """

    def __init__(self, verbose: bool = False) -> None:
        super().__init__()
        self.verbose = verbose

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == LOGGER_NAME or record.name.startswith(LOGGER_NAME + "."):
            return  # the package's own records reach its handlers directly
        for handler in logging.getLogger(LOGGER_NAME).handlers:
            if isinstance(handler, logging.FileHandler) and record.levelno >= handler.level:
                handler.handle(record)
        if self.verbose or record.levelno >= logging.ERROR:  # their errors still reach the terminal
            sys.stderr.write(f"{record.levelname}:{record.name}: {record.getMessage()}\n")


def _route_root_to_run_log(verbose: bool = False) -> None:
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, _ToRunLog):
            handler.verbose = verbose
            return
    root.addHandler(_ToRunLog(verbose))


def quiet_third_party() -> None:
    """Route Lightning's log records and ``warnings`` to the run's log files only (idempotent)."""
    logging.captureWarnings(True)
    files = [h for h in logging.getLogger(LOGGER_NAME).handlers if isinstance(h, logging.FileHandler)]
    for name in THIRD_PARTY_LOGGERS:
        logger = logging.getLogger(name)
        logger.propagate = False
        for handler in list(logger.handlers):
            if handler not in files:
                logger.removeHandler(handler)
        for handler in files:
            if handler not in logger.handlers:
                logger.addHandler(handler)


def remove_file_handler(handler: logging.Handler) -> None:
    """Detach a run's file handler from every logger it was given to, and close it."""
    for name in (LOGGER_NAME, *THIRD_PARTY_LOGGERS):
        logging.getLogger(name).removeHandler(handler)
    handler.close()


# Lines native libraries print on fd 2 by themselves: LiteRT/TFLite's minimal logger ("INFO: ...", "WARNING: ..."
# before absl is set up) and absl/glog's "I1207 13:47:56.123456  1234 file.cc:12] ..." lines.
NATIVE_NOISE = re.compile(r"^(INFO: |WARNING: All log messages before absl|[IW]\d{4} [\d:.]+\s+\d+ \S+:\d+\] )")

_native: dict[str, object] = {}


def filter_native_stderr(pattern: re.Pattern[str] = NATIVE_NOISE, verbose: bool = False) -> bool:
    """Send lines that native code writes to fd 2 and that match ``pattern`` to the run log; pass the rest through.

    Python's own ``sys.stderr`` keeps writing to the terminal directly (rich still sees a terminal, and
    tracebacks keep their order); only writes that bypass Python (C/C++ libraries) go through a pipe
    read by a thread. Returns False where it cannot be installed (no fd 2, or already installed).
    """
    if _native:
        return False
    try:
        terminal = os.dup(2)
    except OSError:
        return False
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    python_stderr = os.fdopen(os.dup(terminal), "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
                              errors="backslashreplace")
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = python_stderr

    def handle(raw: bytes, end: bytes = b"\n") -> None:
        text = raw.decode("utf-8", "replace")
        if pattern.match(text) and not verbose:
            _to_run_files(text)
        else:
            os.write(terminal, raw + end)

    def pump() -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(read_end, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                if pending:
                    handle(pending, b"")
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for raw in lines:
                handle(raw)

    thread = threading.Thread(target=pump, name="native-stderr", daemon=True)
    thread.start()
    _native.update(terminal=terminal, read_end=read_end, thread=thread)
    atexit.register(_restore_native_stderr)
    return True


def _to_run_files(text: str) -> None:
    record = logging.getLogger(NATIVE_LOGGER).makeRecord(NATIVE_LOGGER, logging.INFO, "(native)", 0, text, None, None)
    for handler in logging.getLogger(LOGGER_NAME).handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _restore_native_stderr() -> None:
    """Put the terminal back on fd 2 and let the pump pass on what it still holds (at exit)."""
    if not _native:
        return
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os.dup2(_native["terminal"], 2)  # type: ignore[arg-type]  # closes the pipe's last write end held here
    _native["thread"].join(timeout=2.0)  # type: ignore[attr-defined]  # a forked child may still hold the pipe
