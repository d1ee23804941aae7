"""The packaged recipes: the seed papers' result-table experiments (see :mod:`antispoof.recipes`).

Each number is read from the seed paper's table named beside it (``../shared/seeds/``).
"""

from __future__ import annotations

from antispoof.recipes import Data, PaperNumber, Recipe, register

# --- seed 004, LGSC: OULU-NPU protocols 1-4 (Table 2, "Ours") -----------------------------------------------------
_LGSC_OULU = {
    "Protocol_1": (0.8, 0.0, 0.4, None),
    "Protocol_2": (0.8, 0.6, 0.7, None),
    "Protocol_3": (1.5, 1.9, 1.7, 1.6),
    "Protocol_4": (5.8, 1.7, 3.7, 2.1),
}
for _protocol, (_apcer, _bpcer, _acer, _std) in _LGSC_OULU.items():
    _number = _protocol.split("_")[1]
    register(Recipe(
        name=f"lgsc-oulu-p{_number}",
        seed="004",
        method="lgsc",
        train=Data("oulu-npu", _protocol),
        folds=tuple(f"{_protocol}_{k}" for k in range(1, 7)) if _number in ("3", "4") else (),
        metric="acer",
        prepare={"native": "true"},
        paper=(PaperNumber("Table 2", f"Ours, protocol {_number}", "apcer", _apcer),
               PaperNumber("Table 2", f"Ours, protocol {_number}", "bpcer", _bpcer),
               PaperNumber("Table 2", f"Ours, protocol {_number}", "acer", _acer, _std)),
    ))
