"""The training engine: one LightningModule base for methods, seeded data, checkpoints, runs.

- :mod:`~antispoof.training.method`: :class:`Method`, the base every method subclasses;
- :mod:`~antispoof.training.runner`: ``train``, ``resume``, ``load_trained``;
- :mod:`~antispoof.training.data` and :mod:`~antispoof.training.datamodule`: seeded sampling
  and augmentation, DDP sharding;
- :mod:`~antispoof.training.checkpoints`: Lightning checkpoints and safetensors weights;
- :mod:`~antispoof.training.distill`: distillation of an Entry teacher (seed 000 Eq. 1).
"""
