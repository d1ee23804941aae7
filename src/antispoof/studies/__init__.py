"""Studies built on the training engine, each run by ``antispoof benchmark`` or ``antispoof study ...``.

- :mod:`~antispoof.studies.benchmark` (with :mod:`~antispoof.studies.benchmark_runs` and
  :mod:`~antispoof.studies.benchmark_table`): every method and bundle on the same synthetic protocols;
- :mod:`~antispoof.studies.unseen_attack`: each method trained without one attack family, tested on it;
- :mod:`~antispoof.studies.ssl_premise`: seed 000's premise, a frozen self-supervised backbone on an unseen domain;
- :mod:`~antispoof.studies.multimodal_table`: seed 001's modality and initialisation tables.

The studies import :mod:`antispoof.training` and :mod:`antispoof.methods`; the engine never imports a study.
"""
