"""The training engine: Lightning runs of the methods of :mod:`antispoof.methods`, evaluation, the quickstart.

- :mod:`~antispoof.training.runner`: ``train``, ``resume``, ``load_trained`` (``init_from`` starts from another run);
- :mod:`~antispoof.training.frames`, :mod:`~antispoof.training.data` and
  :mod:`~antispoof.training.datamodule`: datasets shaped by the method's input spec,
  seeded sampling and augmentation, DDP sharding, the method's sampler hook (its samplers:
  :mod:`antispoof.data.samplers`);
- :mod:`~antispoof.training.checkpoints`: Lightning checkpoints and the exported weights;
- :mod:`~antispoof.training.evaluation`: score files, metrics, reports and plots of a run;
- :mod:`~antispoof.training.quickstart`: the whole pipeline on synthetic data for any method.
"""
