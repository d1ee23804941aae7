"""The webcam page in a real browser: Debian's headless Chromium, driven by Selenium through chromedriver, with a
fake camera that plays a real face photo, against the service running under uvicorn on a loopback port.

What is checked is the page's plumbing (camera -> 10 JPEG frames -> POST /v1/liveness -> the decision shown), not
accuracy: the bundle is the tiny untrained test bundle, the face detector is the card's real one (blazeface), so the
photo has to hold a real face. Chromium and chromedriver come from Debian's packages ``chromium`` and
``chromium-driver`` (``.ci/run`` installs them); Selenium must never download a driver, so the driver's path is given
and Selenium Manager is made to fail if anything calls it.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from antispoof.config import load_config
from antispoof.methods import method_class
from antispoof.serve.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TOKEN = "browser-test-token-0123456789"
WIDTH, HEIGHT, FPS = 640, 480, 30
# As the machine notes say: without these Chromium's background connections fail on this closed network.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage")
DECISIONS = ("bonafide", "attack", "failed_to_acquire")
WAIT_S = 60.0


def write_y4m(path: Path, photo: np.ndarray, frames: int = 30, seed: int = 0) -> Path:
    """A YUV4MPEG2 file (what Chromium's ``--use-file-for-fake-video-capture`` plays): ``photo`` (RGB) fitted into
    640x480 on black, every frame one I420 picture, every fifth frame shifted by a pixel or two (a live-ish jitter)."""
    h, w = photo.shape[:2]
    scale = min(WIDTH / w, HEIGHT / h)
    fitted = cv2.resize(photo, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    y0, x0 = (HEIGHT - fitted.shape[0]) // 2, (WIDTH - fitted.shape[1]) // 2
    canvas[y0:y0 + fitted.shape[0], x0:x0 + fitted.shape[1]] = fitted
    rng = np.random.default_rng(seed)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for i in range(frames):
            shift = tuple(int(v) for v in rng.integers(-2, 3, size=2)) if i % 5 == 4 else (0, 0)
            frame = np.roll(canvas, shift, axis=(0, 1))
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())  # Y plane, then U, then V
    return path


def test_the_y4m_writer_writes_i420_frames(tmp_path):
    photo = np.full((100, 80, 3), 128, dtype=np.uint8)
    data = write_y4m(tmp_path / "grey.y4m", photo, frames=3).read_bytes()
    header, _, rest = data.partition(b"\n")
    assert header == b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg"
    frame_bytes = WIDTH * HEIGHT * 3 // 2
    assert len(rest) == 3 * (len(b"FRAME\n") + frame_bytes)
    first = np.frombuffer(rest[6:6 + frame_bytes], dtype=np.uint8).reshape(HEIGHT * 3 // 2, WIDTH)
    back = cv2.cvtColor(first, cv2.COLOR_YUV2RGB_I420)
    assert abs(int(back[HEIGHT // 2, WIDTH // 2, 0]) - 128) <= 2 and back[0, 0].max() <= 2  # photo centred, black border


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    from test_method_contract import _bundle

    torch.manual_seed(0)
    config = load_config(method_class("entry").config_schema, None, ["model.backbone=plain_cnn", "data.image_size=32"])
    return _bundle(method_class("entry").from_config(config).eval(), tmp_path_factory.mktemp("serve-browser")).path


@pytest.fixture
def camera(samples_dir, tmp_path) -> Path:
    """The fake camera's video: a real face photo, so that the real detector finds a face."""
    photo = cv2.imread(str(samples_dir / "silentface_image_T1.jpg"))
    if photo is None:
        pytest.skip(f"the real face photo {samples_dir / 'silentface_image_T1.jpg'} is missing or unreadable")
    return write_y4m(tmp_path / "camera.y4m", photo[:, :, ::-1])


class _Records(logging.Handler):
    """The service's JSON-line log records (logger ``antispoof.serve``), from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(json.loads(record.getMessage()))
        except ValueError:
            pass  # the predictor's and the service's other messages are plain text


@pytest.fixture
def records():
    logger = logging.getLogger("antispoof.serve")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


class _Server:
    """uvicorn serving ``app`` in a background thread on a loopback socket bound to a free port."""

    def __init__(self, app) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 30 s")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


@pytest.fixture
def browser(camera, tmp_path, monkeypatch):
    """Headless Chromium through chromedriver, with a fake camera playing ``camera`` and camera access granted."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.is_file():
            pytest.skip(f"{path} not found: install Debian's {package} (apt-get install chromium chromium-driver; "
                        ".ci/run does this in CI)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.selenium_manager import SeleniumManager

    monkeypatch.setenv("SE_OFFLINE", "true")

    def no_download(*args, **kwargs):
        raise AssertionError("Selenium Manager was called: it would try to download a driver or a browser")

    monkeypatch.setattr(SeleniumManager, "binary_paths", no_download)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDTH + 100},{HEIGHT + 500}",
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 f"--use-file-for-fake-video-capture={camera}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log")),
                              options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _page(driver) -> dict:
    """What the page shows now (None for an element that is not there, e.g. before the page loaded)."""
    return driver.execute_script("""
        const text = (id) => { const e = document.getElementById(id); return e ? e.innerText : null; };
        const decision = document.getElementById("decision");
        return {decision: decision ? decision.dataset.decision : null, decision_text: text("decision"),
                status: text("status"), details: text("details")};
    """)


def _wait_for_decision(driver, timeout: float = WAIT_S) -> dict:
    """The page once ``#decision`` has a data-decision (bounded by ``timeout``); the browser's console on failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = _page(driver)
        if shown["decision"]:
            return shown
        time.sleep(0.2)
    console = [entry["message"] for entry in driver.get_log("browser")]
    raise AssertionError(f"no decision on the page within {timeout:g} s: {_page(driver)}; browser console: {console}")


def _request_id(shown: dict) -> str:
    found = re.search(r"request ([0-9a-f]{16})", shown["details"])
    assert found, shown
    return found.group(1)


@pytest.mark.slow
def test_the_page_records_sends_and_shows_a_decision(bundle, browser, records, tmp_path):
    app = create_app(bundle, insecure=True, workers=1, queue=4)
    with _Server(app) as url:
        started = time.monotonic()
        browser.get(url + "/?auto=1")
        shown = _wait_for_decision(browser)
        elapsed = time.monotonic() - started
        screenshot = browser.get_screenshot_as_png()
        (tmp_path / "page.png").write_bytes(screenshot)  # to look at when this fails (pytest's tmp folder)
        video = browser.execute_script("const v = document.getElementById('preview'); return [v.videoWidth, v.videoHeight];")
    assert shown["decision"] in DECISIONS, (shown, [e["message"] for e in browser.get_log("browser")])
    assert shown["status"].startswith("Done"), shown
    assert shown["decision_text"].startswith(shown["decision"]) and "threshold 0.500" in shown["decision_text"], shown
    assert video == [WIDTH, HEIGHT]  # the fake camera played our file
    assert screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    # the server received the page's request: the page shows its id, the log has its line with the same decision
    request_id = _request_id(shown)
    line = next((r for r in records.lines if r["request_id"] == request_id), None)
    assert line is not None, (request_id, records.lines)
    assert line["status"] == 200 and line["n_frames"] == 10 and line["decision"] == shown["decision"], line
    # a real face in a real photo, found by the real detector in the browser's JPEGs
    assert shown["decision"] != "failed_to_acquire", (shown, line)
    assert "10/10 frames scored" in shown["details"], shown
    assert elapsed < WAIT_S


@pytest.mark.slow
def test_with_a_token_the_page_asks_for_it_and_sends_it(bundle, browser, records):
    app = create_app(bundle, token=TOKEN, workers=1, queue=4)
    with _Server(app) as url:
        browser.get(url + "/?auto=1")
        refused = _wait_for_decision(browser)  # the automatic check goes out without a token
        token_row = browser.find_element("id", "token-row")
        assert token_row.is_displayed(), refused
        assert refused["decision"] == "error" and refused["status"].startswith("401: missing_token"), refused
        browser.find_element("id", "token").send_keys(TOKEN)
        browser.find_element("id", "check").click()  # check() clears data-decision before its first await
        shown = _wait_for_decision(browser)
    assert shown["decision"] in DECISIONS and shown["status"].startswith("Done"), shown
    line = next((r for r in records.lines if r["request_id"] == _request_id(shown)), None)
    assert line is not None and line["status"] == 200 and line["n_frames"] == 10, (line, records.lines)
    assert any(r["status"] == 401 for r in records.lines), records.lines  # the first, token-less request


@pytest.mark.slow
def test_the_api_docs_render_in_a_browser_from_the_package_alone(bundle, browser):
    """/docs on a closed network: Swagger UI's script and style come from the service, and the operations show."""
    app = create_app(bundle, insecure=True, workers=1, queue=4)
    with _Server(app) as url:
        browser.get(url + "/docs")
        deadline = time.monotonic() + WAIT_S
        paths: list[str] = []
        while time.monotonic() < deadline and "/v1/liveness" not in paths:
            paths = browser.execute_script(
                "return Array.from(document.querySelectorAll('.opblock-summary-path')).map(e => e.innerText);")
            time.sleep(0.2)
        title = browser.execute_script("const t = document.querySelector('.swagger-ui .info .title'); return t ? t.innerText : null;")
        loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    assert "/v1/liveness" in paths and "/v1/model" in paths, (paths, [e["message"] for e in browser.get_log("browser")])
    assert title and title.startswith("antispoof liveness service"), title
    assert loaded and all(name.startswith(url) for name in loaded), loaded  # nothing from another host
