"""antispoof: face presentation-attack detection, five published methods in one toolkit."""

__version__ = "0.1.0"
