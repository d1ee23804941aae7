"""Face detection behind one interface, and the crop used by training and inference alike.

Detectors register in ``antispoof._registry.DETECTORS``.
"""
