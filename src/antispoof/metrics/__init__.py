"""ISO/IEC 30107-3 presentation-attack-detection metrics, thresholds and reports.

Conventions (each one is tested in ``tests/test_metrics*.py``):

- **Scores**: higher = more likely bona fide. **Decision**: bona fide iff
  ``score >= threshold``. An attack scoring exactly the threshold is a false accept; a
  bona fide scoring exactly the threshold is accepted.
- **APCER** of a presentation-attack-instrument (PAI) species = share of that species'
  attacks accepted. ``apcer`` = max over species (``apcer_per_pai`` is the table);
  ``apcer_pooled`` = share of all attacks accepted. Without PAI labels all attacks are one
  species named ``attack`` and the report says APCER equals the pooled APCER.
  **BPCER** = share of bona fide rejected. **ACER** = (APCER + BPCER) / 2.
  **HTER** = (pooled APCER + BPCER) / 2. Every rate is ``count / total`` in float64.
- **Candidate thresholds** (:mod:`.sweep`): the lowest score, the midpoint
  ``(a + b) / 2`` of each pair of consecutive distinct scores, and "just above the
  highest" = ``numpy.nextafter(highest, inf)``, the next float64 (so every score is
  rejected there, and no larger gap is invented). If ``a`` and ``b`` are adjacent floats
  the rounded midpoint can equal ``a``; ``b`` is used instead.
- **EER**: the candidate minimising ``|FAR - FRR|`` (FAR = pooled APCER, FRR = BPCER),
  ties going to the higher threshold; EER = (FAR + FRR) / 2 there, no interpolation.
  Rates are compared exactly as integer cross-products, so a tie is a true tie.
- **Threshold rules** (:mod:`.threshold`), chosen on the dev set and applied unchanged to
  test: ``eer``; ``min-hter`` (min FAR + FRR); ``bpcer@apcer=X`` (lowest BPCER among
  candidates with APCER, max over species, ``<= X``); ``apcer@bpcer=X`` (lowest APCER,
  max over species, among candidates with BPCER ``<= X``); a fixed number; ``oracle``
  (the ``eer`` rule on the test set itself). All ties go to the higher threshold. Every
  report names its rule (``threshold_rule``).
  A deployment threshold (runs, bundles, ensembles) comes from one function,
  :func:`.calibration.dev_threshold`: dev only, no oracle, no target finer than dev resolves.
- **Conventions** (which tied candidate wins): ``bob`` (default) picks the ``eer``,
  ``oracle`` and ``min-hter`` thresholds exactly as bob.measure 6.x does (its running float
  sums decide near-ties; in a few exact ties it takes the lower candidate), and the
  ``bpcer@apcer`` / ``apcer@bpcer`` thresholds as defined above; ``exact`` applies the
  rules above literally, every tie to the higher threshold on exact counts; ``bob-pad`` is
  ``bob`` plus bob.pad.base's score-valued ``bpcerXX`` / ``apcerXX`` thresholds.
  :mod:`._bob` lists the differences. Rates at a threshold, ACER, HTER and AUC are the
  same under all three; every report names its convention in ``notes``.
- **TPR at FPR** 1e-2, 1e-3, 1e-4: the best TPR (accepted bona fide / all bona fide)
  among candidates whose FPR (pooled APCER) is ``<= target``. With fewer than
  ``1 / target`` attacks only FPR 0 fits and the report notes the value is not meaningful.
- **AUC**: exact Mann-Whitney statistic, a bona fide/attack tie counting one half.
- **Per-video aggregation** (:mod:`.aggregate`): rows sharing a ``video`` id become one
  presentation: ``mean`` (default), ``median``, ``min``, ``trimmed-mean=P``, ``vote=T``
  (share of frames ``>= T``), or ``none``; the report states the method and the frames.
- **Folds** (:mod:`.folds`, OULU-NPU protocols 3 and 4): a threshold per fold on that
  fold's dev set, then the mean and the sample standard deviation (``ddof=1``) over folds.
- **Failure to acquire**: a row with an empty score cell in a score file
  (``failed_to_acquire=True`` in arrays). Counted (``n_failed_to_acquire``, per class and
  reason) and left out of every error rate, never dropped silently. A NaN score is an error.
- **Confidence intervals** (:mod:`.bootstrap`): percentile bootstrap resampling whole
  subjects (videos without a subject column), seeded; threshold held fixed; EER and AUC
  recomputed per resample.
- **Errors**: ValueError saying what to do for an empty class, a NaN or infinite score, a
  max over species with one species (:func:`.rates.apcer_max`), a malformed score file
  (file, line and column named).

Entry points: :func:`evaluate` (score sets), :func:`compute_report` (arrays),
:func:`plots.plot_report` (ROC, DET, histograms),
:func:`read_scores` / :func:`write_scores` (score files), :class:`MetricsReport`
(``to_dict``, ``to_json``, ``to_markdown``), :func:`evaluate_folds`.
"""

from antispoof.metrics.aggregate import Aggregation, AggregationInfo, aggregate_videos, parse_aggregation
from antispoof.metrics.bootstrap import bootstrap_ci
from antispoof.metrics.curves import auc, auc_of_sweep, det_curve, roc_curve, tpr_at_fpr
from antispoof.metrics.folds import FoldsReport, evaluate_folds, summarize_folds
from antispoof.metrics.rates import ErrorRates, apcer_max, apcer_per_pai, error_rates, far_frr
from antispoof.metrics.report import OPTIONAL_KEYS, REPORT_KEYS, MetricsReport, compute_report, evaluate
from antispoof.metrics.scorefile import ScoreSet, read_scores, write_scores
from antispoof.metrics.sweep import Sweep, sweep
from antispoof.metrics.threshold import (
    ThresholdRule,
    choose_threshold,
    eer,
    eer_of_sweep,
    eer_threshold,
    parse_threshold_rule,
)

__all__ = [
    "Aggregation",
    "AggregationInfo",
    "ErrorRates",
    "FoldsReport",
    "MetricsReport",
    "OPTIONAL_KEYS",
    "REPORT_KEYS",
    "ScoreSet",
    "Sweep",
    "ThresholdRule",
    "aggregate_videos",
    "apcer_max",
    "apcer_per_pai",
    "auc",
    "auc_of_sweep",
    "bootstrap_ci",
    "choose_threshold",
    "compute_report",
    "det_curve",
    "eer",
    "eer_of_sweep",
    "eer_threshold",
    "error_rates",
    "evaluate",
    "evaluate_folds",
    "far_frr",
    "parse_aggregation",
    "parse_threshold_rule",
    "read_scores",
    "roc_curve",
    "summarize_folds",
    "sweep",
    "tpr_at_fpr",
    "write_scores",
]
