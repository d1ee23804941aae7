"""Datasets: adapters for the standard FAS datasets, protocols, the generic manifest and the synthetic generator.

Adapters register in ``antispoof._registry.DATASETS``. Importing this package must stay
light (no torch): ``antispoof list`` imports it.

Reading a dataset::

    from antispoof.data import open_dataset
    ds = open_dataset("oulu-npu", "/data/OULU-NPU")
    ds.protocols()                                  # ['Protocol_1', 'Protocol_2', ...]
    train = ds.samples("Protocol_1", "train")       # DataFrame, manifest columns
    ds.face_annotations(train.path[0])              # {frame: {"eyes": ...}} or None

Composed protocols (cross-dataset, leave-one-dataset-out, attack folds) live in
:mod:`antispoof.data.protocols`.
"""

from antispoof.data import (  # noqa: F401  (each module registers its adapter)
    casia_fasd,
    casia_surf,
    celeba_spoof,
    folder,
    manifest,
    msu_mfsd,
    oulu_npu,
    replay_attack,
    siw,
)
from antispoof.data.protocols import (
    CrossDataset,
    IntraDataset,
    LeaveOneAttackOut,
    Protocol,
    leave_one_dataset_out,
    open_dataset,
)

__all__ = [
    "open_dataset",
    "Protocol",
    "IntraDataset",
    "CrossDataset",
    "LeaveOneAttackOut",
    "leave_one_dataset_out",
]
