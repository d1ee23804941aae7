"""The liveness service through FastAPI's test client: the happy path, every malformed request answered with
the right 4xx and a clear message (the server still up after them), auth, capacity, privacy, the OpenAPI schema."""

from __future__ import annotations

import base64
import json
import re
import logging
import struct
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from toy_methods import FixedBox

from antispoof.config import load_config
from antispoof.methods import method_class
from antispoof.serve.app import create_app, load_token
from antispoof.serve.limits import Limits

TOKEN = "s3cret-token-0123456789"
BOX = (24.0, 24.0, 104.0, 104.0)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    from test_method_contract import _bundle

    torch.manual_seed(0)
    config = load_config(method_class("entry").config_schema, None, ["model.backbone=plain_cnn", "data.image_size=32"])
    return _bundle(method_class("entry").from_config(config).eval(), tmp_path_factory.mktemp("serve")).path


def _app(bundle: Path, **kwargs):
    app = create_app(bundle, **{"token": TOKEN, **kwargs})
    for predictor in app.state.service.predictors.queue:  # synthetic frames: a fixed face box instead of a detector
        predictor.detector = FixedBox(BOX)
    return app


@pytest.fixture(scope="module")
def client(bundle):
    return TestClient(_app(bundle, limits=Limits(max_frames=4, max_side=1024, max_pixels=1024 * 1024, max_request_bytes=2_000_000)))


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def jpeg(seed: int = 0, size: int = 128) -> bytes:
    image = np.random.default_rng(seed).integers(30, 220, size=(size, size, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + b"\0" * 64


def frames(*parts: bytes) -> list:
    return [("frames", (f"f{i}.jpg", p, "image/jpeg")) for i, p in enumerate(parts)]


def test_happy_path_multipart_frames(client):
    r = client.post("/v1/liveness", files=frames(jpeg(0), jpeg(1), jpeg(2)), headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"] in ("bonafide", "attack") and 0 <= body["score"] <= 1
    assert body["n_frames"] == 3 and len(body["frames"]) == 3 and body["frames"][0]["box"] == list(BOX)
    assert len(body["request_id"]) == 16 and "source" not in body and set(body["explanation"]) >= {"moire", "fingers"}
    assert body["threshold_rule"] == "fixed=0.5" and "decode_request" in body["timings_ms"]


def test_json_base64_frames_and_data_urls_give_the_same_result(client):
    parts = [jpeg(0), jpeg(1)]
    a = client.post("/v1/liveness", files=frames(*parts), headers=AUTH).json()
    b64 = [base64.b64encode(p).decode() for p in parts]
    b = client.post("/v1/liveness", json={"frames": [b64[0], "data:image/jpeg;base64," + b64[1]]}, headers=AUTH).json()
    assert a["score"] == pytest.approx(b["score"], abs=1e-6) and a["decision"] == b["decision"]


def test_a_short_video(client, tmp_path):
    import av

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 128
        for i in range(10):
            image = np.random.default_rng(i).integers(30, 220, size=(128, 128, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    r = client.post("/v1/liveness", files={"video": ("clip.mp4", path.read_bytes(), "video/mp4")}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["n_frames"] >= 1
    assert r.json()["kind"] == "video"  # what was sent, though the Predictor scored decoded frames
    assert client.post("/v1/liveness", files=frames(jpeg()), headers=AUTH).json()["kind"] == "frames"


@pytest.mark.parametrize("name,kwargs,status,message", [
    ("no token", {"files": frames(jpeg())}, 401, "missing_token"),
    ("wrong token", {"files": frames(jpeg()), "headers": {"Authorization": "Bearer nope"}}, 403, "wrong_token"),
    ("wrong content type", {"content": b"hello", "headers": {**AUTH, "Content-Type": "text/plain"}}, 415, "multipart/form-data"),
    ("zero bytes", {"content": b"", "headers": {**AUTH, "Content-Type": "application/json"}}, 400, "empty_request"),
    ("zero-byte frame", {"files": frames(b""), "headers": AUTH}, 400, "empty_frame"),
    ("truncated jpeg", {"files": frames(jpeg()[:200]), "headers": AUTH}, 400, "unreadable_frame: frame 0"),
    ("not an image", {"files": frames(b"GIF89a but not really"), "headers": AUTH}, 400, "unreadable_frame"),
    ("huge declared png", {"files": frames(png_header(40000, 40000)), "headers": AUTH}, 413, "image_too_large: frame 0: 40000x40000"),
    ("too many frames", {"files": frames(*[jpeg(i) for i in range(5)]), "headers": AUTH}, 413, "too_many_frames: 5 frames"),
    ("far too many frames", {"files": frames(*[jpeg(0)] * 70), "headers": AUTH}, 413, "too_many_frames"),
    ("empty bearer", {"files": frames(jpeg()), "headers": {"Authorization": "Bearer "}}, 401, "missing_token"),
    ("jpeg whose header gives no size", {"files": frames(jpeg()[:2] + b"\x00" + jpeg()[2:]), "headers": AUTH}, 400,
     "header gives its size"),
    ("no frames field", {"files": {"other": ("x.txt", b"x", "text/plain")}, "headers": AUTH}, 422, "no frames"),
    ("bad json", {"content": b"{not json", "headers": {**AUTH, "Content-Type": "application/json"}}, 400, "malformed_json"),
    ("json without frames", {"json": {"images": []}, "headers": AUTH}, 422, '{"frames"'),
    ("bad base64", {"json": {"frames": ["%%%"]}, "headers": AUTH}, 400, "not valid base64"),
    ("body over the limit", {"content": b"x" * 2_000_001, "headers": {**AUTH, "Content-Type": "application/json"}}, 413,
     "request_too_large"),
])
def test_malformed_requests_get_the_right_4xx_and_the_server_stays_up(client, name, kwargs, status, message):
    r = client.post("/v1/liveness", **kwargs)
    assert r.status_code == status, (name, r.text)
    assert message in r.json()["error"], (name, r.json())
    assert r.json()["request_id"]
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.post("/v1/liveness", files=frames(jpeg()), headers=AUTH).status_code == 200


def test_model_card_health_and_openapi(client):
    assert client.get("/v1/model").status_code == 401
    model = client.get("/v1/model", headers=AUTH).json()
    assert model["inputs"] == ["rgb"] and model["card"]["method"] == "test" and model["auth"] is True
    assert "/tmp" not in json.dumps(model)
    assert client.get("/readyz").json()["ready"] is True
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/v1/liveness"]["post"]
    assert {"multipart/form-data", "application/json"} <= set(post["requestBody"]["content"])
    assert {"400", "401", "403", "413", "415", "422", "503"} <= set(post["responses"])
    fields = schema["components"]["schemas"]["LivenessResponse"]["properties"]
    assert all(f.get("description") for f in fields.values())  # every field documented
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    script = client.get("/static/app.js")
    assert script.headers["content-type"].startswith("text/javascript") and "getUserMedia" in script.text
    for text in (page.text, script.text):  # works offline: no CDN, no other host
        assert not re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text)


def test_a_full_queue_answers_503_with_retry_after(bundle):
    app = _app(bundle, workers=1, queue=0)
    gate = threading.Event()
    service = app.state.service
    original = service.run

    def slow(*args):
        gate.wait(10)
        return original(*args)

    service.run = slow
    with TestClient(app) as c:
        results = {}
        first = threading.Thread(target=lambda: results.setdefault("first", c.post("/v1/liveness", files=frames(jpeg()), headers=AUTH)))
        first.start()
        for _ in range(100):
            if service.in_flight:
                break
            threading.Event().wait(0.05)
        busy = c.post("/v1/liveness", files=frames(jpeg()), headers=AUTH)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1" and "busy" in busy.json()["error"]
        assert c.get("/readyz").status_code == 503
        gate.set()
        first.join(20)
        assert results["first"].status_code == 200
        assert c.post("/v1/liveness", files=frames(jpeg()), headers=AUTH).status_code == 200


def test_a_slow_request_gets_504(bundle):
    app = _app(bundle, limits=Limits(timeout_s=0.2))
    service = app.state.service
    original = service.run
    service.run = lambda *a: (threading.Event().wait(1.0), original(*a))[1]
    with TestClient(app) as c:
        r = c.post("/v1/liveness", files=frames(jpeg()), headers=AUTH)
    assert r.status_code == 504 and "timeout" in r.json()["error"]


def test_logs_are_json_lines_without_pixels_and_nothing_is_written(client, caplog, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.INFO, logger="antispoof.serve"):
        client.post("/v1/liveness", files=frames(jpeg()), headers=AUTH)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "antispoof.serve"]
    assert lines and set(lines[-1]) >= {"request_id", "status", "ms", "decision", "score", "timings_ms"}
    assert all(len(r.getMessage()) < 2000 for r in caplog.records)
    assert list(tmp_path.iterdir()) == []


def test_keep_failures_stores_only_failed_requests(bundle, tmp_path):
    app = _app(bundle, keep_failures=tmp_path / "kept")
    for predictor in app.state.service.predictors.queue:
        predictor.detector = type("NoFace", (), {"needs_annotation": False, "detect": lambda self, image, annotation=None: []})()
    with TestClient(app) as c:
        r = c.post("/v1/liveness", files=frames(jpeg()), headers=AUTH)
    assert r.json()["decision"] == "failed_to_acquire" and r.json()["reasons"] == ["no_face"]
    assert len(list((tmp_path / "kept" / r.json()["request_id"]).glob("*.jpg"))) == 1


def test_a_token_is_required_unless_insecure(bundle, tmp_path, monkeypatch):
    monkeypatch.delenv("ANTISPOOF_TOKEN", raising=False)
    with pytest.raises(ValueError, match="--insecure-no-auth"):
        create_app(bundle, token=None)
    open_app = TestClient(_app(bundle, token=None, insecure=True))
    assert open_app.post("/v1/liveness", files=frames(jpeg())).status_code == 200
    (tmp_path / "t").write_text("short\n")
    with pytest.raises(ValueError, match="at least 16"):
        load_token(tmp_path / "t")
    (tmp_path / "t").write_text(TOKEN + "\n")
    assert load_token(tmp_path / "t") == TOKEN
    monkeypatch.setenv("ANTISPOOF_TOKEN", TOKEN)
    assert load_token(None) == TOKEN


def test_predict_refuses_a_huge_declared_png_before_decoding(bundle, tmp_path):
    from antispoof.inference.predictor import Predictor

    path = tmp_path / "huge.png"
    path.write_bytes(png_header(40000, 40000))
    result = Predictor(bundle).predict_path(path)
    assert result.decision == "failed_to_acquire" and result.reasons == ["image_too_large"]
    assert "40000x40000" in result.frames[0].failure and "limit" in result.frames[0].failure


def test_a_model_with_cue_maps_returns_them_as_overlays(tmp_path):
    from toy_methods import ToyModalNet

    from antispoof.data.inputs import InputSpec
    from antispoof.inference.bundle import bundle_network
    from antispoof.inference.card import ThresholdSpec, TrainingData

    torch.manual_seed(0)
    net = ToyModalNet(channels=(3,)).eval()  # an RGB-only network with a dense cue map
    path = bundle_network(tmp_path / "maps", net, InputSpec.rgb(32), method="toy", backbone="none",
                          threshold=ThresholdSpec(value=0.5, rule="fixed=0.5", split="dev", dataset="none", metrics={}),
                          training_data=TrainingData(dataset="none")).path
    with TestClient(_app(path)) as c:
        body = c.post("/v1/liveness", files=frames(jpeg()), headers=AUTH).json()
    assert set(body["maps"]) == {"spoof_map"} and body["maps"]["spoof_map"].startswith("data:image/png;base64,")
    image = cv2.imdecode(np.frombuffer(base64.b64decode(body["maps"]["spoof_map"].partition(",")[2]), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (32, 32, 3)


def test_docs_render_from_packaged_swagger_ui_with_no_other_host(client):
    from antispoof.serve.app import STATIC_FILES

    page = client.get("/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assert not re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page.text), "the docs page names another host"
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 500, url
    assert client.get("/static/swagger-ui-bundle.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/../app.py").status_code == 404 and client.get("/static/swagger-ui.LICENSE").status_code == 404
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN
    static = Path(__file__).resolve().parents[1] / "src" / "antispoof" / "serve" / "static"
    assert "Apache License" in (static / "swagger-ui.LICENSE").read_text() and set(STATIC_FILES) <= {p.name for p in static.iterdir()}


def test_draining_fails_readyz_first_then_refuses_new_requests(bundle):
    app = _app(bundle)
    service = app.state.service
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200
        service.drain()
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["draining"] is True
        assert c.post("/v1/liveness", files=frames(jpeg()), headers=AUTH).status_code == 200  # still accepting (drain delay)
        service.accepting = False
        refused = c.post("/v1/liveness", files=frames(jpeg()), headers=AUTH)
        assert refused.status_code == 503 and refused.json()["error"].startswith("shutting_down")
        assert refused.headers["Retry-After"] == "1"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str):
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


@pytest.mark.slow
def test_sigterm_drains_a_real_server_answering_every_request_in_flight_then_exits_0(bundle, tmp_path):
    """A uvicorn subprocess gets SIGTERM while three uploads are half sent: /readyz fails at once, a new request is
    refused, the three are answered 200, and the process exits 0 (none dropped)."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    port = _free_port()
    token = tmp_path / "token.txt"
    token.write_text(TOKEN)
    server = subprocess.Popen([sys.executable, "-c", "from antispoof.cli import main; main()", "serve", "--model", str(bundle),
                               "--port", str(port), "--token-file", str(token), "--workers", "2", "--queue", "4"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    uploads: list[socket.socket] = []
    try:
        for _ in range(600):  # up to a minute for torch and the model to load
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start: " + server.stderr.read() if server.poll() is not None else "no answer")
        body = json.dumps({"frames": [base64.b64encode(jpeg(0)).decode()]}).encode()
        head = (f"POST /v1/liveness HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        for _ in range(3):  # three requests in flight: headers and half of each body sent
            upload = socket.create_connection(("127.0.0.1", port), timeout=30)
            upload.sendall(head + body[: len(body) // 2])
            uploads.append(upload)
        for _ in range(200):
            if _get(port, "/readyz")[1]["in_flight"] == 3:
                break
            time.sleep(0.05)
        assert _get(port, "/readyz")[1]["in_flight"] == 3

        server.send_signal(signal.SIGTERM)
        for _ in range(200):  # the handler runs between two bytecodes of the server's main thread
            status, ready = _get(port, "/readyz")
            if status == 503:
                break
            time.sleep(0.05)
        assert status == 503 and ready["draining"] is True and ready["in_flight"] == 3
        import http.client

        late = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        late.request("POST", "/v1/liveness", body=body, headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        refused = late.getresponse()
        assert refused.status == 503 and b"shutting_down" in refused.read()
        late.close()

        answers = []
        for upload in uploads:
            upload.sendall(body[len(body) // 2:])
            reply = b""
            while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < _length(reply):
                chunk = upload.recv(65536)
                if not chunk:
                    break
                reply += chunk
            answers.append(reply)
        statuses = [reply.split(b"\r\n", 1)[0] for reply in answers]
        assert statuses == [b"HTTP/1.1 200 OK"] * 3, answers
        assert all(json.loads(reply.split(b"\r\n\r\n", 1)[1])["request_id"] for reply in answers)
        assert server.wait(timeout=60) == 0, server.stderr.read()
        lines = [json.loads(line) for line in server.stderr.read().splitlines() if line.startswith("{")]
        assert [line["status"] for line in lines if "status" in line].count(200) == 3
        assert os.path.exists(bundle)
    finally:
        for upload in uploads:
            upload.close()
        if server.poll() is None:
            server.kill()
            server.wait()


def _length(reply: bytes) -> int:
    for line in reply.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0
