"""PDLE (seed 003): pseudo-discretized label encoding, the expected liveness score, domain-adversarial training.

Training batch: the untouched samples plus one patch-exchanged copy of every sample whose
batch holds an image of the opposite label (the sampler hook deals live and spoof 1:1, so
every batch does; the paper draws the donor from the whole training set, Sec. 2.2). The network
(:class:`antispoof.models.pdle.PDLENet`) regresses the live share of an image with its
expected liveness score rho; the loss is Eq. 6, ``alpha * MSE(rho, label) + (1 - alpha)
* L_adv`` (Eq. 5 without its stray minus sign), L_adv the cross-entropy of a domain
discriminator behind a gradient reversal layer.

Choices where the paper (Sec. 2.2-3.2) is silent (configurable):
- the exchanged rectangle has whole-pixel sides ``round(W sqrt(lambda))`` x ``round(H
  sqrt(lambda))`` placed wholly inside the image, and its label is the *actual* live
  share of the result (the pasted area over the image), within ``1 / min(H, W)`` of the
  discretised lambda;
- the adversarial term is taken on the untouched samples only (an exchanged image holds
  two domains);
- the domains: the paper says "For the domain labels on the intra-dataset, we used the
  number of sessions in each protocol" (Sec. 3.2) and names none for its cross-dataset
  tests (Sec. 3.4). A sample's domain is its ``pdle.domain_key`` column (several columns
  join with '/'); the adapters put the capture session there (OULU-NPU, SiW), or the
  capture condition where a dataset has one session (Replay-Attack's lighting,
  CASIA-FASD's quality, MSU-MFSD's camera), and cross-dataset protocols the source
  dataset (our reading: the usual multi-source domains). The domain ids are the sorted
  distinct names of the training index, built once when training starts (the same on
  every DDP rank, whatever the order or type of the values), saved in the checkpoint and
  restored with it (:meth:`PDLEMethod.set_domains`). One domain is refused while the
  adversarial term weighs anything (``pdle.alpha < 1``): its discriminator would learn
  nothing and its reversed gradient carry nothing;
- the discriminator is two linear layers (hidden ``pdle.discriminator_hidden``, ReLU,
  dropout 0.5) as in Ganin & Lempitsky's domain classifier; reversal coefficient
  ``pdle.grl_coefficient`` = 1 (named apart from the patch ratio lambda);
- the randomness of the exchange comes from torch's global generator (seeded by the run;
  a resumed run draws other rectangles than the uninterrupted one would have).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor, nn
from torch.nn import functional as F

from antispoof._registry import METHODS
from antispoof.config import ModelConfig, Section
from antispoof.data.inputs import InputSpec
from antispoof.losses.gradient_reversal import GradientReversal
from antispoof.methods.base import EngineConfig, EngineTrainConfig, Method
from antispoof.models.pdle import PDLENet

__all__ = ["PDLEModelConfig", "PDLESettings", "PDLEConfig", "PDLEMethod", "patch_exchange", "training_domains"]

DOMAINS_KEY = "pdle_domains"  # the checkpoint entry: {"keys": [column, ...], "names": [domain, ...]}


class PDLEModelConfig(ModelConfig):
    """The PDLE network."""

    method: str = Field("pdle", description="method name")
    backbone: str = Field("resnet18", description="encoder: any timm name (seed 003 Sec. 3.2: ResNet-18)")
    k: int = Field(10, ge=1, description="K, the discretisation level of Eq. 1 (Sec. 3.2: 10)")
    outputs: Literal["k_plus_one", "k"] = Field("k_plus_one", description="FC outputs: K+1 levels c_0..c_K (Eq. 3) or K")
    drop_rate: float = Field(0.0, ge=0, lt=1, description="dropout before the FC")
    features: Literal["pooled", "stages"] = Field("pooled", description="what the FC reads: the pooled output (Sec. 2.3) or "
                                                   "it plus the stages' channel mean/std (a departure for small frozen encoders)")
    freeze_encoder: bool = Field(False, description="freeze the encoder (a departure for a CPU budget: Sec. 3.2 trains it)")


class PDLESettings(Section):
    """Patch exchange and the adversarial term (Eq. 1, 2, 6)."""

    alpha: float = Field(0.5, ge=0, le=1, description="Eq. 6 weight of the MSE term; 1 - alpha weighs L_adv")
    exchange: bool = Field(True, description="patch exchange on (off: plain regression to 0/1 labels, the ablation)")
    grl_coefficient: float = Field(1.0, ge=0, description="gradient reversal coefficient (Ganin & Lempitsky's lambda)")
    domain_key: str | list[str] = Field("domain", description="batch column(s) whose values are the domains (domain, "
                                        "session, [session, device]: joined with '/')")
    max_domains: int = Field(16, ge=1, description="discriminator outputs: at least the training index's number of domains")
    discriminator_hidden: int = Field(256, ge=1, description="hidden width of the domain discriminator")


class PDLETrainConfig(EngineTrainConfig):
    """Seed 003 Sec. 3.2: Adam, lr 1e-4, weight decay 2e-4, x0.99 per epoch, batch 32, 200 epochs, random crop + flip."""

    max_epochs: int = Field(200, ge=1, description="'a max epoch of 200' (Sec. 3.2)")
    optimizer: Literal["adamw", "adam"] = Field("adam", description="Adam (seed 003 Sec. 3.2)")
    lr: float = Field(1e-4, gt=0, description="initial learning rate 1e-4 (Sec. 3.2)")
    weight_decay: float = Field(2e-4, ge=0, description="weight decay 2e-4 (Sec. 3.2)")
    lr_schedule: Literal["constant", "onecycle", "exponential"] = Field("exponential", description="exponential LR (Sec. 3.2)")
    lr_gamma: float = Field(0.99, gt=0, le=1, description="exponential LR gamma 0.99 (Sec. 3.2), per epoch")
    augment: str = Field("crop_flip", description="random crop of the 256 px resize, horizontal flip (Sec. 3.2)")


class PDLEConfig(EngineConfig):
    """A run of PDLE."""

    model: PDLEModelConfig = Field(default_factory=PDLEModelConfig, description="network")
    pdle: PDLESettings = Field(default_factory=PDLESettings, description="patch exchange and adversarial term")
    train: PDLETrainConfig = Field(default_factory=PDLETrainConfig, description="how the run trains")


def patch_exchange(images: Tensor, labels: Tensor, k: int, generator: torch.Generator | None = None
                   ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """Seed 003 Eq. 1-2: one exchanged copy of each sample that has an opposite-label partner in the batch.

    ``images [B, C, H, W]``, ``labels [B]`` (1 live, 0 spoof, anything else skipped). For
    anchor a: u ~ U{1..K}, lambda = u / K, a donor b of the other label drawn from the
    batch, and a rectangle of about a lambda share of the area pasted from b into a.
    Returns ``(images [M, C, H, W], live share [M], facts)``: facts hold ``anchor``,
    ``donor``, ``lam`` and ``box`` (x0, y0, x1, y1) per exchanged sample.
    """
    b, _, h, w = images.shape
    live, spoof = torch.nonzero(labels == 1).flatten(), torch.nonzero(labels == 0).flatten()
    anchors = torch.cat([live, spoof]) if len(live) and len(spoof) else torch.zeros(0, dtype=torch.long)
    out, shares, donors, lams, boxes = [], [], [], [], []
    for a in anchors.tolist():
        pool = spoof if labels[a] == 1 else live
        d = int(pool[torch.randint(len(pool), (1,), generator=generator)])
        lam = int(torch.randint(1, k + 1, (1,), generator=generator)) / k
        rw, rh = min(w, max(1, round(w * lam**0.5))), min(h, max(1, round(h * lam**0.5)))
        x0 = int(torch.randint(w - rw + 1, (1,), generator=generator))
        y0 = int(torch.randint(h - rh + 1, (1,), generator=generator))
        mixed = images[a].clone()
        mixed[:, y0 : y0 + rh, x0 : x0 + rw] = images[d, :, y0 : y0 + rh, x0 : x0 + rw]
        pasted = rw * rh / (w * h)
        out.append(mixed)
        shares.append(1.0 - pasted if labels[a] == 1 else pasted)  # the live share of the exchanged image
        donors.append(d)
        lams.append(lam)
        boxes.append((x0, y0, x0 + rw, y0 + rh))
    facts = {"anchor": anchors, "donor": torch.tensor(donors, dtype=torch.long), "lam": torch.tensor(lams),
             "box": torch.tensor(boxes, dtype=torch.long).reshape(-1, 4)}
    stacked = torch.stack(out) if out else images[:0]
    return stacked, torch.tensor(shares, dtype=torch.float32, device=images.device), facts


def _texts(values: Any) -> list[str]:
    """A batch column as text: a tensor's numbers as Python numbers (``3``, ``1.5``), strings as they are."""
    if isinstance(values, Tensor):
        values = values.tolist()
    return [v if isinstance(v, str) else str(v) for v in values]


def _column_texts(column: Any) -> list[str]:
    """An index column as text, typed as the frame store serves it (so it names domains as batches do)."""
    from antispoof.data._checks import as_text, column_kind

    kind = column_kind(column)
    if kind == "int":
        return [str(int(v)) for v in column.tolist()]
    if kind == "float":
        return [str(float(v)) for v in column.tolist()]
    return [as_text(v) for v in column.tolist()]


def domain_names_of(columns: Sequence[Sequence[str]]) -> list[str]:
    """One domain name per sample: its values of the domain columns, joined with '/'."""
    return ["/".join(parts) for parts in zip(*columns)]


def training_domains(data: Any, keys: Sequence[str]) -> list[str]:
    """The sorted distinct domain names of a training set, from its index where it has one (no image is read).

    Walks concatenations and wrappers (``.base``) to a dataset with ``rows`` (the frame
    store's index); any other dataset is read item by item.
    """
    from torch.utils.data import ConcatDataset

    if isinstance(data, ConcatDataset):
        return sorted({n for part in data.datasets for n in training_domains(part, keys)})
    tags = getattr(data, "tags", None)  # constant keys of a part (the dataset of a multi-source run's store)
    if tags and all(k in tags for k in keys):
        return domain_names_of([[str(tags[k])] for k in keys])
    rows = getattr(data, "rows", None)
    if rows is not None and all(k in rows.columns for k in keys):
        return sorted(set(domain_names_of([_column_texts(rows[k]) for k in keys])))
    base = getattr(data, "base", None)
    if base is not None:
        return training_domains(base, keys)
    items = [data[i] for i in range(len(data))]
    return sorted(set(domain_names_of([_texts([item[k] for item in items]) for k in keys])))


@METHODS.register("pdle")
class PDLEMethod(Method):
    """PDLE (seed 003): patch exchange, expected-liveness regression (Eq. 5), GRL domain discriminator (Eq. 6)."""

    config_schema = PDLEConfig

    def __init__(self, config: PDLEConfig) -> None:
        super().__init__(config)
        m, p = config.model, config.pdle
        self.net = PDLENet(m.backbone, k=m.k, outputs=m.outputs, drop_rate=m.drop_rate, weights=m.weights,
                           features=m.features, freeze_encoder=m.freeze_encoder)
        if m.weights is None:  # the paper: "we used ResNet18 (He et al., 2015) as the encoder" (Sec. 3.2), no word on its start
            import logging

            logging.getLogger(__name__).info("pdle: the %s encoder starts from random weights (model.weights=FILE starts it "
                                             "from a file; the paper does not say how its ResNet-18 starts)", m.backbone)
        # L_adv of seed 003 Eq. 6: a domain classifier behind a GRL (Ganin & Lempitsky, 2015); its layout is our choice
        self.discriminator = nn.Sequential(
            GradientReversal(p.grl_coefficient), nn.Linear(self.net.num_features, p.discriminator_hidden), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(p.discriminator_hidden, p.max_domains))
        self.domain_names: list[str] = []  # the training index's domains, sorted: id = position (set_domains)

    @classmethod
    def input_spec_for(cls, config: EngineConfig) -> InputSpec:
        """Crops stored at 256/224 of the input (Sec. 3.2: resize to 256, random crop; our choice: 224, ResNet's usual input)."""
        size = config.data.image_size
        return InputSpec.rgb(size, crop_size=config.data.crop_size or round(size * 256 / 224), fit="center_crop")

    def network(self) -> nn.Module:
        return self.net

    def train_sampler(self, labels: np.ndarray, seed: int, num_replicas: int, rank: int) -> Any:
        from antispoof.data.samplers import BalancedSampler

        return BalancedSampler(labels, seed, num_replicas, rank)

    @property
    def domain_keys(self) -> list[str]:
        """The batch column(s) naming a sample's domain (``pdle.domain_key``)."""
        key = self.config.pdle.domain_key
        keys = [key] if isinstance(key, str) else list(key)
        if not keys:
            raise ValueError("pdle.domain_key is an empty list; name a column, e.g. pdle.domain_key=domain")
        return keys

    @property
    def domains(self) -> dict[str, int]:
        """Domain name -> discriminator class."""
        return {name: i for i, name in enumerate(self.domain_names)}

    def set_domains(self, names: Iterable[Any]) -> None:
        """Fix the domain ids to the sorted distinct ``names`` (those of the training index), checked against the config.

        Refuses one domain while the adversarial term weighs anything, more domains than
        ``pdle.max_domains``, and a resumed run whose checkpoint holds other domains.
        """
        names = sorted({str(n) for n in names})
        p, keys = self.config.pdle, "+".join(self.domain_keys)
        if len(names) < 2 and p.alpha < 1:
            raise ValueError(
                f"pdle: the adversarial term (weight 1 - pdle.alpha = {1 - p.alpha:g}) needs two domains at least, but the "
                f"training data has {len(names)} under pdle.domain_key={keys} ({', '.join(names) or 'none'}): its "
                "discriminator would learn nothing and its reversed gradient carry nothing. The paper's domains are the "
                "capture sessions within a dataset (Sec. 3.2). Prepare the store again with this version (the OULU-NPU and "
                "SiW adapters give the session, Replay-Attack the lighting), train on several datasets, name a column with "
                "several values (pdle.domain_key=session, or [session,device]), or train without the term: pdle.alpha=1.0")
        if len(names) > p.max_domains:
            raise ValueError(f"pdle: the training data has {len(names)} domains under pdle.domain_key={keys} but the "
                             f"discriminator has pdle.max_domains={p.max_domains} outputs; set pdle.max_domains={len(names)}")
        if self.domain_names and self.domain_names != names:
            raise ValueError(f"pdle: the checkpoint's discriminator was trained on the domains {self.domain_names}, but this "
                             f"run's training data has {names} (pdle.domain_key={keys}); resume on the same data, or start "
                             "a new run")
        self.domain_names = names

    def on_train_start(self) -> None:
        """Domain ids from the training index, on every rank alike, before the first step (a resumed run checks its own)."""
        data = getattr(self.trainer.train_dataloader, "dataset", None)
        if data is None:
            raise ValueError("pdle: the trainer has no training dataset to read the domains from; fit with a DataLoader")
        self.set_domains(training_domains(data, self.domain_keys))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[DOMAINS_KEY] = {"keys": self.domain_keys, "names": list(self.domain_names)}  # plain types: weights_only

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        saved = checkpoint.get(DOMAINS_KEY)
        if saved is None:
            return
        if list(saved["keys"]) != self.domain_keys:
            raise ValueError(f"pdle: the checkpoint's domains come from pdle.domain_key={'+'.join(saved['keys'])}, this "
                             f"config's from {'+'.join(self.domain_keys)}; resume with the same pdle.domain_key")
        self.domain_names = [str(n) for n in saved["names"]]

    def domain_ids(self, batch: dict[str, Any]) -> Tensor:
        """The discriminator class of each sample: its domain's position among the training index's sorted domains.

        Outside a trainer (a bare call, as in a unit test) the first batch's names, sorted, become the domains.
        """
        keys = self.domain_keys
        missing = [k for k in keys if k not in batch]
        if missing:
            raise KeyError(f"pdle.domain_key={'+'.join(missing)} is not a batch column; the frame store gives "
                           f"{', '.join(sorted(k for k, v in batch.items() if isinstance(v, (list, tuple))))}")
        names = domain_names_of([_texts(batch[k]) for k in keys])
        if not self.domain_names:
            if self._trainer is not None:
                raise RuntimeError("pdle: the domains were not set from the training index (on_train_start did not run)")
            self.set_domains(names)
        index = self.domains
        unknown = sorted(set(names) - set(index))
        if unknown:
            raise KeyError(f"pdle: domain(s) {unknown} are not among the training data's {self.domain_names}")
        return torch.tensor([index[n] for n in names], dtype=torch.long, device=batch["label"].device)

    def training_loss(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float | Tensor]]:
        p = self.config.pdle
        images, labels = batch["image"], batch["label"].long()
        targets = labels.float()
        if p.exchange:
            mixed, shares, _ = patch_exchange(images, labels, self.config.model.k)
            images, targets = torch.cat([images, mixed]), torch.cat([targets, shares.to(targets.device)])
        rho, _, features = self.net(images)
        mse = F.mse_loss(rho, targets)
        untouched = len(labels)
        adversarial = F.cross_entropy(self.discriminator(features[:untouched]), self.domain_ids(batch))
        loss = p.alpha * mse + (1 - p.alpha) * adversarial
        return loss, {"mse": mse.detach(), "adversarial": adversarial.detach()}

    def validation_loss(self, batch: dict[str, Any]) -> Tensor:
        """The MSE of rho against the 0/1 labels, without exchange (the dev split is not mixed)."""
        rho, _, _ = self.net(batch["image"])
        return F.mse_loss(rho, batch["label"].float())
