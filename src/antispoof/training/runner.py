"""Train, resume and reload runs: the engine's entry points.

``train(config)`` creates a run folder (config, seed, git revision), builds the method
named by ``model.method`` (starting from ``init_from`` when set) and fits it with
Lightning; ``resume(run_dir)`` continues it from ``checkpoints/last.ckpt`` with the saved
config (read with ``weights_only=True``: a checkpoint cannot run code);
``load_trained(run_dir)`` gives the trained method. A method that declares stages trains
each into a sub-run (:mod:`antispoof.training.stages`). Precision, devices, nodes and
strategy come from the config (``train.*``), so one code path serves CPU, one GPU and
multi-node DDP.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from antispoof.methods import load_method_config, method_class, read_run_config
from antispoof.methods.base import EngineConfig, Method
from antispoof.training.checkpoints import LAST_CHECKPOINT, WEIGHTS_FILE, ExportWeights
from antispoof.training.datamodule import FramesDataModule
from antispoof.weights import load_weights

__all__ = ["method_class", "load_method_config", "read_run_config", "build_trainer", "fit", "train", "resume", "load_trained",
           "build_method"]

log = logging.getLogger(__name__)

Datasets = tuple[Any, Any]


def build_trainer(config: EngineConfig, run_dir: Path, callbacks: Sequence[Any] = (), log_version: str = "",
                  acquisition: dict[str, Any] | None = None) -> Any:
    """A Lightning Trainer from ``config.train``: checkpoints every epoch, safetensors export, CSV logs.

    ``acquisition``: the training store's record, kept in the weights' metadata (evaluation and calibration check it).
    """
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    t = config.train
    facts = {"method": config.model.method, "backbone": config.model.backbone, "image_size": config.data.image_size,
             **({"acquisition": acquisition} if acquisition else {})}
    checkpoint = ModelCheckpoint(dirpath=run_dir / LAST_CHECKPOINT.parent, filename="last", save_top_k=1, every_n_epochs=1, enable_version_counter=False)
    all_callbacks: list[Any] = [checkpoint, ExportWeights(run_dir, facts), *callbacks]
    if t.progress:
        from lightning.pytorch.callbacks import RichProgressBar

        all_callbacks.append(RichProgressBar(leave=True))
    return L.Trainer(
        default_root_dir=run_dir,
        max_epochs=t.max_epochs,
        max_steps=t.max_steps,
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        precision=t.precision,
        sync_batchnorm=t.sync_batchnorm,
        deterministic=t.deterministic,
        limit_val_batches=t.limit_val_batches,
        num_sanity_val_steps=0,
        log_every_n_steps=t.log_every_n_steps,
        logger=CSVLogger(save_dir=run_dir, name="logs", version=log_version),
        callbacks=all_callbacks,
        enable_progress_bar=t.progress,
        enable_model_summary=False,
        use_distributed_sampler=False,  # FramesDataModule shards with its own seeded sampler
    )


def build_method(config: EngineConfig, *, initialise: bool = True) -> Method:
    """The method of ``config``, its network started from ``init_from`` when set and ``initialise``."""
    method = method_class(config.model.method).from_config(config)
    if initialise and config.init_from is not None:
        from antispoof.weights import load_state

        method.init_from_state(load_state(config.init_from), source=str(config.init_from))
    return method


def fit(config: EngineConfig, run_dir: Path, datasets: Datasets | None = None, *, resume: bool = False,
        callbacks: Sequence[Any] = ()) -> Path:
    """Build the method and fit it on ``datasets = (train, dev or None)`` (default: the config's data, shaped by
    the method's input spec); continue from the last checkpoint when ``resume``.

    A method that declares stages (``Method.stages_for``) trains them in order into
    ``run_dir/stages/NAME``, each resumable, and its last stage's weights become the run's
    (:mod:`antispoof.training.stages`); each stage reads the config's data.
    """
    from antispoof.training.stages import fit_stages, stages_of

    stages = stages_of(config)
    if not stages:
        return _fit_one(config, run_dir, datasets, resume=resume, callbacks=callbacks)
    if datasets is not None:
        raise ValueError(f"{config.model.method} trains in stages ({', '.join(s.name for s in stages)}) whose inputs differ; "
                         "each reads the config's data (data.store, data.exclude_attacks, ...), so give no datasets")
    return fit_stages(config, run_dir, stages, lambda c, d, r, cb: _fit_one(c, d, None, resume=r, callbacks=cb),
                      resume=resume, callbacks=callbacks)


def _fit_one(config: EngineConfig, run_dir: Path, datasets: Datasets | None = None, *, resume: bool = False,
             callbacks: Sequence[Any] = ()) -> Path:
    """One stage of :func:`fit`: build the method of ``config`` and fit it into ``run_dir``."""
    import lightning as L

    from antispoof._logging import quiet_third_party

    quiet_third_party()
    L.seed_everything(config.seed, workers=True, verbose=False)
    method = build_method(config, initialise=not resume)
    spec = method.input_spec()
    if datasets is None:
        datasets = method.training_data(spec)
    if datasets is None:
        from antispoof.training.frames import training_datasets

        datasets = training_datasets(config, spec)
    train_set, dev_set = datasets
    data = FramesDataModule(
        train_set,
        dev_set,
        spec=spec,
        augment=config.train.augment,
        batch_size=config.train.batch_size,
        num_workers=config.train.num_workers,
        seed=config.seed,
        sampler=method.train_sampler,
        transform=method.train_transform(spec),
    )
    ckpt, log_version = None, ""
    if resume:
        ckpt = run_dir / LAST_CHECKPOINT
        if not ckpt.is_file():
            raise FileNotFoundError(f"no checkpoint at {ckpt}: the run was killed before its first epoch ended; train it again")
        log.info("resuming %s from %s", run_dir, ckpt)
        log_version = f"resumed-{sum(1 for p in (run_dir / 'logs').glob('resumed-*')) + 1}"
    # the frame store's record (of a FrameDataset, or the one a Subset selects from); datasets of other kinds have none
    store = getattr(train_set, "store", None) or getattr(getattr(train_set, "dataset", None), "store", None)
    acquisition = getattr(store, "acquisition", None)
    if acquisition is not None and config.init_from is not None and not resume:
        _check_init_acquisition(config.init_from, acquisition, config.allow_mismatch)
    trainer = build_trainer(config, run_dir, callbacks, log_version=log_version,
                            acquisition=acquisition.record() if acquisition is not None else None)
    trainer.fit(method, datamodule=data, ckpt_path=ckpt, weights_only=True)
    return run_dir


def _check_init_acquisition(source: Path, data: Any, allow: bool) -> None:
    """Refuse to fine-tune ``source``'s weights on a store acquired unlike their training data, unless ``allow``."""
    from safetensors import SafetensorError

    from antispoof.data.acquisition import AcquisitionSpec, check_same_acquisition
    from antispoof.weights import read_metadata, weights_file

    try:
        meta = read_metadata(weights_file(source))
    except (OSError, SafetensorError):  # a weights file of another format records no acquisition; loading it says more
        return
    for diff in check_same_acquisition(AcquisitionSpec.of_weights(meta), data, data_name="this run's frame store", allow=allow):
        log.warning("init_from=%s: %s (allowed by allow_mismatch)", source, diff)


def train(
    config: EngineConfig,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    datasets: Datasets | None = None,
    callbacks: Sequence[Any] = (),
    command: list[str] | None = None,
) -> Path:
    """Train ``config`` into a new run folder (``out``, or an automatic name under ``runs/``); returns the folder."""
    from antispoof._runs import create_run

    if out is None:
        run = create_run(config, command=command)
    else:
        out = Path(out)
        run = create_run(config, root=out.parent, name=out.name, overwrite=overwrite, command=command)
    with run:
        return fit(config, run.dir, datasets, callbacks=callbacks)


def resume(run_dir: str | Path, *, datasets: Datasets | None = None, callbacks: Sequence[Any] = ()) -> Path:
    """Continue a killed run from its last checkpoint, with its saved config; returns the folder."""
    from antispoof._logging import add_file_handler, remove_file_handler

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    handler = add_file_handler(run_dir / "run.log")
    try:
        return fit(config, run_dir, datasets, resume=True, callbacks=callbacks)
    finally:
        remove_file_handler(handler)


def load_trained(run_dir: str | Path) -> Method:
    """The trained method of a run folder, weights loaded, in eval mode (for evaluation and inference)."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    method = method_class(config.model.method).for_inference(config)
    load_weights(method.network(), run_dir / WEIGHTS_FILE)  # safetensors: no pickle
    return method.eval()
