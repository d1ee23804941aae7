"""The methods: one module per method, holding its config schema and its LightningModule.

Each module registers its method with ``@METHODS.register(NAME)`` (:mod:`antispoof._registry`)
and is imported below, so importing this package fills ``METHODS``; a new method is one
new module here plus its import line (and its network in ``models/`` and its YAML in
``configs/``). Method modules import Lightning, so this package does too. The plain
networks the methods train live in :mod:`antispoof.models`.

Configs are found by name among the YAML files packaged with the toolkit
(``antispoof train entry``), or by path.
"""

from __future__ import annotations

from antispoof.methods import entry, entry_distill, face_id, lgsc, multimodal, pdle, sequence, ssl  # noqa: F401  (register)
from antispoof.methods._configs import (
    config_path,
    list_configs,
    list_methods,
    load_method_config,
    method_class,
    read_run_config,
)

__all__ = ["method_class", "list_methods", "config_path", "list_configs", "load_method_config", "read_run_config"]
