"""Datasets: adapters for the standard FAS datasets, protocols, the generic manifest and the synthetic generator.

Adapters register in ``antispoof._registry.DATASETS``. Importing this package must stay
light (no torch): ``antispoof list`` imports it.
"""
