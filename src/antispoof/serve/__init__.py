"""The HTTP liveness service and its webcam page (``antispoof serve``): :func:`~antispoof.serve.app.create_app`."""
