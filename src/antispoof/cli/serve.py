"""``antispoof serve``: the HTTP liveness service and its webcam page for one bundle."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    model: Path = typer.Option(..., "--model", help="Model bundle folder to serve (or a run folder with RUN/bundle)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", help="Port."),
    workers: int = typer.Option(1, "--workers", help="Requests scored at once (one Predictor and thread each)."),
    queue: int = typer.Option(8, "--queue", help="Requests that may wait for a worker; beyond them: 503 with Retry-After."),
    token_file: Path = typer.Option(None, "--token-file", help="File holding the API token (else $ANTISPOOF_TOKEN)."),
    insecure_no_auth: bool = typer.Option(False, "--insecure-no-auth", help="Serve without a token (local use only)."),
    max_frames: int = typer.Option(32, "--max-frames", help="Frames per request, at most."),
    max_request_mb: float = typer.Option(25.0, "--max-request-mb", help="Request body size limit in MB."),
    max_side: int = typer.Option(4096, "--max-side", help="Image width and height limit in pixels (read from the header)."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds a request may take before it gets 504."),
    keep_failures: Path = typer.Option(None, "--keep-failures", help="Store the frames of failed requests here (off: nothing is stored)."),
    drain_delay: float = typer.Option(0.0, "--drain-delay", help="On SIGTERM, seconds to keep accepting requests after /readyz "
                                      "starts failing (time for a load balancer to notice); the requests in flight are always answered."),
) -> None:
    """Serve POST /v1/liveness, GET /v1/model, /healthz, /readyz, /docs and the webcam page at / (FastAPI + uvicorn).

    SIGTERM drains: /readyz fails at once, the requests in flight are answered, then the process exits 0.
    """
    import logging

    from antispoof.cli.predict import resolve_model
    from antispoof.serve.app import create_app, load_token
    from antispoof.serve.server import serve
    from antispoof.serve.limits import Limits

    if drain_delay < 0:
        raise ValueError(f"--drain-delay must be >= 0 seconds, got {drain_delay:g}")
    model = resolve_model(model)  # a run folder stands for its bundle, as for predict and export
    token = None if insecure_no_auth else load_token(token_file)
    limits = Limits(max_request_bytes=int(max_request_mb * 1024 * 1024), max_frames=max_frames, max_side=max_side,
                    max_pixels=max_side * max_side, timeout_s=timeout)
    requests_log = logging.getLogger("antispoof.serve")  # one JSON line a request, nothing else on it
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    requests_log.addHandler(handler)
    requests_log.setLevel(logging.INFO)
    requests_log.propagate = False
    app = create_app(model, token=token, insecure=insecure_no_auth, workers=workers, queue=queue, limits=limits,
                     keep_failures=keep_failures)
    if insecure_no_auth:
        typer.echo("warning: serving WITHOUT an API token (--insecure-no-auth); anyone who reaches this port can use it", err=True)
    typer.echo(f"serving {model} on http://{host}:{port} (webcam page at /, API docs at /docs)")
    # the service answers 503 + Retry-After beyond workers + queue itself, before reading a body; uvicorn's own
    # limit (a plain 503) is only a backstop against floods of idle connections
    serve(app, host, port, drain_delay=drain_delay, log_level="warning", access_log=False,
          limit_concurrency=max(256, 4 * (workers + queue)))
