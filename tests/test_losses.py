"""Losses against their equations, by hand and against independent implementations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops import sigmoid_focal_loss

from antispoof.losses import DistillationLoss, ReducedFocalLoss, create_loss, list_losses
from antispoof.losses.distillation import binary_to_two_class


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _rfl_by_hand(logit: float, target: int, gamma: float, th: float) -> float:
    p = _sigmoid(logit)
    p_t = p if target == 1 else 1.0 - p
    if p_t < th:
        return -math.log(p_t)
    return -((1.0 - p_t) ** gamma / th**gamma) * math.log(p_t)


def test_registry_lists_every_loss():
    assert {"reduced_focal", "distillation"} <= set(list_losses())
    assert isinstance(create_loss("reduced_focal", gamma=1.0), ReducedFocalLoss)


def test_reduced_focal_matches_formula_by_hand_with_mask():
    logits = torch.tensor([[2.0, -1.0, 0.3], [-3.0, 0.5, 1.5]])
    targets = torch.tensor([[1.0, 1.0, float("nan")], [0.0, 0.0, 1.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    loss = ReducedFocalLoss(gamma=2.0, threshold=0.5)(logits, targets, mask)
    # counted: (0,0) p_t=s(2)=.881 focal branch; (0,1) p_t=s(-1)=.269 CE branch;
    # (1,0) p_t=1-s(-3)=.953 focal; (1,1) p_t=1-s(.5)=.378 CE; NaN and mask=False dropped
    expected = [_rfl_by_hand(2.0, 1, 2, 0.5), _rfl_by_hand(-1.0, 1, 2, 0.5), _rfl_by_hand(-3.0, 0, 2, 0.5), _rfl_by_hand(0.5, 0, 2, 0.5)]
    assert loss.item() == pytest.approx(sum(expected) / 4, rel=1e-6)
    # the two branches really were exercised
    assert expected[0] < -math.log(_sigmoid(2.0)) and expected[1] == pytest.approx(-math.log(_sigmoid(-1.0)))


def test_reduced_focal_equals_bce_when_gamma_zero_or_threshold_one():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(16, 8, generator=g) * 3
    targets = (torch.rand(16, 8, generator=g) > 0.5).float()
    bce = F.binary_cross_entropy_with_logits(logits, targets)
    assert ReducedFocalLoss(gamma=0.0, threshold=0.5)(logits, targets).item() == pytest.approx(bce.item(), rel=1e-6)
    assert ReducedFocalLoss(gamma=2.0, threshold=1.0)(logits, targets).item() == pytest.approx(bce.item(), rel=1e-6)


def test_reduced_focal_is_scaled_focal_where_every_p_t_is_above_threshold():
    g = torch.Generator().manual_seed(1)
    targets = (torch.rand(32, 8, generator=g) > 0.5).float()
    # logits on the right side of 0, so p_t > 0.5 everywhere
    logits = (torch.rand(32, 8, generator=g) * 4 + 0.01) * (2 * targets - 1)
    th, gamma = 0.5, 2.0
    rfl = ReducedFocalLoss(gamma=gamma, threshold=th, reduction="sum")(logits, targets)
    focal = sigmoid_focal_loss(logits, targets, alpha=-1, gamma=gamma, reduction="sum")
    assert rfl.item() == pytest.approx(focal.item() / th**gamma, rel=1e-5)


def test_reduced_focal_is_plain_ce_below_threshold():
    logits = torch.tensor([-2.0, -0.5, 0.4])  # all wrong-side for target 1 except p_t=.599 < 0.7
    targets = torch.ones(3)
    rfl = ReducedFocalLoss(gamma=2.0, threshold=0.7, reduction="none")(logits, targets)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    assert torch.allclose(rfl, ce)


def test_reduced_focal_all_masked_gives_zero_with_gradient():
    logits = torch.zeros(2, 3, requires_grad=True)
    loss = ReducedFocalLoss()(logits, torch.full((2, 3), float("nan")))
    loss.backward()
    assert loss.item() == 0.0 and torch.all(logits.grad == 0)


@settings(max_examples=50, deadline=None)
@given(st.floats(-8, 8), st.integers(0, 1), st.floats(0.5, 4.0), st.floats(0.05, 1.0))
def test_reduced_focal_never_exceeds_ce_for_th_half_or_more_property(logit, target, gamma, th):
    # With th >= 0.5 the focal-branch weight (1-p_t)^g / th^g <= 1, since p_t >= th implies 1-p_t <= 1-th <= th.
    th = max(th, 0.5)
    x, y = torch.tensor([logit]), torch.tensor([float(target)])
    rfl = ReducedFocalLoss(gamma=gamma, threshold=th)(x, y).item()
    ce = F.binary_cross_entropy_with_logits(x, y).item()
    assert rfl <= ce + 1e-6
    assert rfl == pytest.approx(_rfl_by_hand(logit, target, gamma, th), rel=1e-4, abs=1e-6)


def test_reduced_focal_rejects_bad_arguments():
    with pytest.raises(ValueError, match="threshold"):
        ReducedFocalLoss(threshold=0.0)
    with pytest.raises(ValueError, match="gamma"):
        ReducedFocalLoss(gamma=-1)
    with pytest.raises(ValueError, match="same shape"):
        ReducedFocalLoss()(torch.zeros(2, 3), torch.zeros(2, 2))


def _eq1_by_hand(student, teacher, labels, alpha, tau, tau2=False):
    def softmax(z, t):
        e = [math.exp(v / t) for v in z]
        return [v / sum(e) for v in e]

    hard = [-math.log(softmax(s, 1.0)[y]) for s, y in zip(student, labels) if y >= 0]
    soft = [
        -sum(pt * math.log(ps) for pt, ps in zip(softmax(t, tau), softmax(s, tau)))
        for s, t in zip(student, teacher)
    ]
    h = sum(hard) / len(hard) if hard else 0.0
    s = sum(soft) / len(soft) * (tau**2 if tau2 else 1.0)
    return (1 - alpha) * h + alpha * s


@pytest.mark.parametrize("alpha,tau,tau2", [(0.5, 1.0, False), (0.3, 4.0, False), (0.7, 2.0, True), (0.0, 3.0, False), (1.0, 3.0, False)])
def test_distillation_matches_eq1_by_hand(alpha, tau, tau2):
    student = [[0.2, 1.5], [-1.0, 0.4], [2.0, -0.3]]
    teacher = [[-0.5, 2.5], [1.0, -1.0], [0.0, 0.7]]
    labels = [1, -1, 0]  # the middle sample is unlabelled
    loss = DistillationLoss(alpha=alpha, tau=tau, scale_soft_by_tau_squared=tau2)(
        torch.tensor(student), torch.tensor(teacher), torch.tensor(labels)
    )
    assert loss.item() == pytest.approx(_eq1_by_hand(student, teacher, labels, alpha, tau, tau2), rel=1e-6)


def test_distillation_limits_are_ce_and_kl_plus_entropy():
    g = torch.Generator().manual_seed(2)
    s, t = torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g)
    y = torch.randint(0, 2, (8,), generator=g)
    assert DistillationLoss(alpha=0.0)(s, t, y).item() == pytest.approx(F.cross_entropy(s, y).item(), rel=1e-6)
    # alpha=1: soft CE = KL(P^T || P^S) + H(P^T), an independent route to the same number
    tau = 2.0
    pt = F.softmax(t / tau, -1)
    kl = F.kl_div(F.log_softmax(s / tau, -1), pt, reduction="batchmean")
    entropy = -(pt * pt.log()).sum(-1).mean()
    assert DistillationLoss(alpha=1.0, tau=tau)(s, t, y).item() == pytest.approx((kl + entropy).item(), rel=1e-5)


def test_distillation_does_not_train_the_teacher_and_binary_helper():
    z = torch.tensor([0.3, -2.0])
    two = binary_to_two_class(z)
    assert torch.allclose(F.softmax(two / 3.0, -1)[:, 1], torch.sigmoid(z / 3.0))
    teacher = torch.randn(2, 2, requires_grad=True)
    DistillationLoss(alpha=0.5)(two.requires_grad_(), teacher, torch.tensor([1, 0])).backward()
    assert teacher.grad is None


# -- every registered loss against an independent computation ---------------------------------


def _softmax(z: list[float]) -> list[float]:
    e = [math.exp(v - max(z)) for v in z]
    return [v / sum(e) for v in e]


def _check_reduced_focal() -> None:
    logits, targets = [2.0, -1.0, 0.3, -3.0], [1, 1, 0, 0]
    got = create_loss("reduced_focal", gamma=2.0, threshold=0.5)(torch.tensor(logits), torch.tensor(targets, dtype=torch.float))
    expected = sum(_rfl_by_hand(x, y, 2.0, 0.5) for x, y in zip(logits, targets)) / 4
    assert got.item() == pytest.approx(expected, rel=1e-6)


def _check_distillation() -> None:
    student, teacher, labels = [[0.2, 1.5], [-1.0, 0.4]], [[-0.5, 2.5], [1.0, -1.0]], [1, 0]
    got = create_loss("distillation", alpha=0.4, tau=2.0)(torch.tensor(student), torch.tensor(teacher), torch.tensor(labels))
    assert got.item() == pytest.approx(_eq1_by_hand(student, teacher, labels, 0.4, 2.0), rel=1e-6)


def _check_weighted_focal() -> None:
    logits, targets, weights, gamma = [[1.0, -0.5, 0.2], [0.3, 2.0, -1.0], [0.0, 0.0, 4.0]], [0, 2, -1], [0.5, 0.25, 0.25], 2.0
    got = create_loss("weighted_focal", weights=weights, gamma=gamma)(torch.tensor(logits), torch.tensor(targets))
    per = [-weights[y] * (1 - _softmax(z)[y]) ** gamma * math.log(_softmax(z)[y]) for z, y in zip(logits, targets) if y >= 0]
    assert got.item() == pytest.approx(sum(per) / len(per), rel=1e-6)  # Lin et al. Eq. 5, the ignored target left out


def _check_binary_weighted_focal() -> None:
    logits, targets, alpha, gamma = [1.5, -0.7, 0.2, 3.0], [1, 0, 0, -1], 0.8, 2.0
    got = create_loss("binary_weighted_focal", alpha=alpha, gamma=gamma)(torch.tensor(logits), torch.tensor(targets))
    per = []
    for x, y in zip(logits[:3], targets[:3]):
        p_t = _sigmoid(x) if y == 1 else 1 - _sigmoid(x)
        per.append(-(alpha if y == 1 else 1 - alpha) * (1 - p_t) ** gamma * math.log(p_t))
    assert got.item() == pytest.approx(sum(per) / 3, rel=1e-6)


def _check_live_anchor_triplet() -> None:
    features = [[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.2], [0.9, 0.1]]
    labels, margin = [1, 1, 0, 0, -1], 0.5
    unit = [[v / math.hypot(*f) for v in f] for f in features]
    dist = [[math.dist(a, b) for b in unit] for a in unit]
    losses = [dist[a][p] - dist[a][n] + margin for a in range(5) for p in range(5) for n in range(5)
              if labels[a] == labels[p] == 1 and a != p and labels[n] == 0]
    positive = [v for v in losses if v > 0]
    got = create_loss("live_anchor_triplet", margin=margin)(torch.tensor(features), torch.tensor(labels))
    assert positive and got.item() == pytest.approx(sum(positive) / len(positive), rel=1e-5)  # Eq. 7, positive triplets


def _check_live_cue_l1() -> None:
    cues = torch.tensor([[[[1.0, -2.0], [0.5, 0.0]]], [[[9.0, 9.0], [9.0, 9.0]]], [[[-1.0, 1.0], [1.0, 1.0]]]])
    labels = torch.tensor([1, 0, 1])  # the spoof map is left free
    assert create_loss("live_cue_l1")(cues, labels).item() == pytest.approx((3.5 + 4.0) / 8)
    assert create_loss("live_cue_l1", reduction="sample_sum")(cues, labels).item() == pytest.approx((3.5 + 4.0) / 2)


def _check_gradient_reversal() -> None:
    x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    upstream = torch.tensor([1.0, 2.0, -3.0])
    y = create_loss("gradient_reversal", coefficient=0.3)(x)
    (y * upstream).sum().backward()
    assert torch.equal(y.detach(), x.detach())  # R(x) = x
    assert torch.allclose(x.grad, -0.3 * upstream)  # dR/dx = -lambda I


#: One check per registered loss (a new loss without one fails the test below).
REFERENCE_CHECKS = {
    "reduced_focal": _check_reduced_focal, "distillation": _check_distillation, "weighted_focal": _check_weighted_focal,
    "binary_weighted_focal": _check_binary_weighted_focal, "live_anchor_triplet": _check_live_anchor_triplet,
    "live_cue_l1": _check_live_cue_l1, "gradient_reversal": _check_gradient_reversal,
}


def _package_losses() -> list[str]:
    from antispoof.losses import LOSSES

    return [n for n in list_losses() if LOSSES.get(n).__module__.startswith("antispoof.")]  # not test-only ones


def test_every_registered_loss_has_a_reference_check():
    assert sorted(REFERENCE_CHECKS) == _package_losses(), "give each registered loss a check against its equation here"


@pytest.mark.parametrize("name", _package_losses())
def test_registered_loss_matches_its_equation(name):
    assert name in REFERENCE_CHECKS, f"no reference check for the loss {name!r}"
    REFERENCE_CHECKS[name]()
