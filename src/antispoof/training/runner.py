"""Train, resume and reload runs: the engine's entry points.

``train(config)`` creates a run folder (config, seed, git revision), builds the method
named by ``model.method`` (starting from ``init_from`` when set) and fits it with
Lightning; ``resume(run_dir)`` continues it from ``checkpoints/last.ckpt`` with the saved
config (read with ``weights_only=True``: a checkpoint cannot run code) and reaches the
weights the uninterrupted run would have. The run's ``run.json`` records its state
(running, finished, interrupted, failed: :mod:`antispoof._runs`); SIGTERM and SIGINT stop
it at a batch boundary with :class:`~antispoof.training.signals.TrainingInterrupted`
(:mod:`antispoof.training.signals`);
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
from antispoof.training.checkpoints import LAST_CHECKPOINT, WEIGHTS_FILE, EpochCheckpoint, ExportWeights
from antispoof.training.datamodule import FramesDataModule
from antispoof.training.signals import StopOnSignal, TrainingInterrupted
from antispoof.weights import load_weights

__all__ = ["method_class", "load_method_config", "read_run_config", "build_trainer", "fit", "train", "resume", "load_trained",
           "build_method", "TrainingInterrupted", "train_or_resume"]

log = logging.getLogger(__name__)

Datasets = tuple[Any, Any]


def build_trainer(config: EngineConfig, run_dir: Path, callbacks: Sequence[Any] = (), log_version: str = "",
                  acquisition: dict[str, Any] | None = None) -> Any:
    """A Lightning Trainer from ``config.train``: a checkpoint at each epoch boundary, safetensors at the end, CSV logs.

    ``acquisition``: the training store's record, kept in the weights' metadata (evaluation and calibration check it).
    """
    import lightning as L
    from lightning.pytorch.loggers import CSVLogger

    from antispoof.training.checkpoints import WeightsOnlyCheckpointIO

    t = config.train
    facts = {"method": config.model.method, "backbone": config.model.backbone, "image_size": config.data.image_size,
             **({"acquisition": acquisition} if acquisition else {})}
    all_callbacks: list[Any] = [EpochCheckpoint(run_dir, config.seed), ExportWeights(run_dir, facts), *callbacks]
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
        strategy=_strategy(t),
        plugins=[WeightsOnlyCheckpointIO()],  # no pickle on any load, ddp_spawn's hand-back of the weights included
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
        enable_checkpointing=False,  # EpochCheckpoint takes them
        use_distributed_sampler=False,  # FramesDataModule shards with its own seeded sampler
    )


def _strategy(t: Any) -> str:
    """``auto`` on several devices or nodes means ``ddp``: one process per device, started by Lightning, torchrun or SLURM."""
    several = t.devices not in (1, "1", "auto") or t.num_nodes > 1
    return "ddp" if t.strategy == "auto" and several else t.strategy


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
        data.start_epoch = _checkpoint_epoch(ckpt)
        log_version = f"resumed-{sum(1 for p in (run_dir / 'logs').glob('resumed-*')) + 1}"
    # the frame store's record (of a FrameDataset, or the one a Subset selects from); datasets of other kinds have none
    store = getattr(train_set, "store", None) or getattr(getattr(train_set, "dataset", None), "store", None)
    acquisition = getattr(store, "acquisition", None)
    if acquisition is not None and config.init_from is not None and not resume:
        _check_init_acquisition(config.init_from, acquisition, config.allow_mismatch)
    if acquisition is not None and spec.fit == "patches" and not acquisition.crop.native and not resume:
        log.warning("this method reads patches of faces at native resolution, but the frame store's faces were resized to "
                    "%d px: the patches are cut from resized faces. Prepare the store with `antispoof prepare ... --native` "
                    "for the paper's input", acquisition.crop.size)
    stop = StopOnSignal()
    trainer = build_trainer(config, run_dir, [*callbacks, stop], log_version=log_version,
                            acquisition=acquisition.record() if acquisition is not None else None)
    _mark(trainer, run_dir, "running", **({"resumed": True} if resume else {}))
    if trainer.is_global_zero:
        from antispoof._runs import update_run_info

        # train.batch_size is per process (as in Lightning): the optimizer sees batch_size x world_size samples a step
        update_run_info(run_dir, distributed={"world_size": trainer.world_size, "nodes": trainer.num_nodes,
                                              "strategy": _strategy(config.train), "global_batch": config.train.batch_size * trainer.world_size})
    with stop:
        try:
            trainer.fit(method, datamodule=data, ckpt_path=ckpt, weights_only=True)
        except BaseException as err:
            interrupted = stop.interrupted(trainer)
            if interrupted is None:
                _mark(trainer, run_dir, "failed", epoch=trainer.current_epoch, step=trainer.global_step,
                      error=f"{type(err).__name__}: {err}"[:500])
                raise
            _mark(trainer, run_dir, "interrupted", signal=interrupted.signal_name, epoch=interrupted.epoch,
                  step=interrupted.step, resume=_resume_hint(run_dir))
            raise interrupted from (None if isinstance(err, (KeyboardInterrupt, SystemExit)) else err)
    if stop.signum is not None:  # the signal came after the last batch: the run did finish
        log.info("%s arrived as training ended; the run is complete", stop.interrupted(trainer).signal_name)
    _mark(trainer, run_dir, "finished", epoch=trainer.current_epoch, step=trainer.global_step)
    return run_dir


def _checkpoint_epoch(ckpt: Path) -> int:
    """The epoch a run resumed from ``ckpt`` starts with (the epochs its fit loop had processed)."""
    import torch

    state = torch.load(ckpt, map_location="cpu", mmap=True, weights_only=False)  # our own checkpoint (see checkpoints.py)
    return int(state["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])


def _mark(trainer: Any, run_dir: Path, status: str, **facts: Any) -> None:
    """Record the run's state in its run.json (global rank 0 only)."""
    from antispoof._runs import set_run_state

    if trainer.is_global_zero:
        set_run_state(run_dir, status, **facts)


def _resume_hint(run_dir: Path) -> str:
    from antispoof._runs import resume_command

    return resume_command(run_dir)


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
    """Train ``config`` into a new run folder (``out``, or an automatic name under ``runs/``); returns the folder.

    Relative paths of the config (``data.store``, ``data.root``, ``init_from``, ...) are saved absolute, so
    ``evaluate RUN`` and ``calibrate RUN`` find the data from any folder."""
    from antispoof._runs import create_run
    from antispoof.config import with_absolute_paths

    config = with_absolute_paths(config)
    if out is None:
        run = create_run(config, command=command)
    else:
        out = Path(out)
        run = create_run(config, root=out.parent, name=out.name, overwrite=overwrite, command=command)
    with run:
        return _fit_marked(config, run.dir, datasets, resume=False, callbacks=callbacks)


def resume(run_dir: str | Path, *, datasets: Datasets | None = None, callbacks: Sequence[Any] = ()) -> Path:
    """Continue a killed run from its last checkpoint, with its saved config; returns the folder."""
    from antispoof._logging import add_file_handler, remove_file_handler

    from antispoof._launch import current_launch

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    handler = add_file_handler(run_dir / "run.log") if current_launch().is_zero else None  # one writer of the log
    try:
        return _fit_marked(config, run_dir, datasets, resume=True, callbacks=callbacks)
    finally:
        if handler is not None:
            remove_file_handler(handler)


def _fit_marked(config: EngineConfig, run_dir: Path, datasets: Datasets | None, *, resume: bool,
                callbacks: Sequence[Any]) -> Path:
    """:func:`fit`, with the run folder's state recorded for what ends it: finished, interrupted (by which signal) or failed."""
    from antispoof._launch import current_launch
    from antispoof._runs import run_state
    from antispoof._runs import set_run_state as _set

    def set_run_state(*args: Any, **kwargs: Any) -> None:
        if current_launch().is_zero:  # the other ranks of a multi-process launch write nothing
            _set(*args, **kwargs)

    set_run_state(run_dir, "running", **({"resumed": True} if resume else {}))
    try:
        fit(config, run_dir, datasets, resume=resume, callbacks=callbacks)
    except TrainingInterrupted as stop:
        state = run_state(run_dir) or {}
        if state.get("status") != "interrupted":  # a staged run: its stage's folder has the details
            set_run_state(run_dir, "interrupted", signal=stop.signal_name, stage=_running_stage(run_dir),
                          epoch=stop.epoch, step=stop.step, resume=_resume_hint(run_dir))
        stop.run_dir, stop.resume = run_dir, _resume_hint(run_dir)
        log.warning("%s", stop.message())
        raise
    except Exception as err:
        if (run_state(run_dir) or {}).get("status") != "failed":
            set_run_state(run_dir, "failed", error=f"{type(err).__name__}: {err}"[:500])
        raise
    if (run_state(run_dir) or {}).get("status") != "finished":  # a staged run (a plain one recorded its last epoch)
        set_run_state(run_dir, "finished")
    return run_dir


def _running_stage(run_dir: Path) -> str | None:
    """The stage of a staged run that was training (from its stages.json), else None."""
    import json

    from antispoof.training.stages import PLAN_FILE

    try:
        plan = json.loads((run_dir / PLAN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return next((s["name"] for s in plan.get("stages", []) if s.get("status") == "running"), None)


def train_or_resume(config: EngineConfig, out: str | Path, *, callbacks: Sequence[Any] = (),
                    command: list[str] | None = None) -> tuple[Path, str]:
    """One run of a multi-run command (a fold grid, a benchmark, a study), continued where an earlier call left it.

    ``out`` with this very config that finished is kept, one that was interrupted or
    killed after an epoch is resumed (reaching the uninterrupted weights), anything else is
    trained afresh (replaced). Returns ``(run folder, "kept" | "resumed" | "trained")``.
    """
    from antispoof._launch import agree
    from antispoof._runs import run_state
    from antispoof.config import config_to_yaml, with_absolute_paths

    out, config = Path(out), with_absolute_paths(config)

    def decide() -> str:
        try:
            same = (out / "config.yaml").read_text(encoding="utf-8") == config_to_yaml(config)
        except OSError:
            same = False
        state = (run_state(out) or {}) if same else {}
        if state.get("status") == "finished":
            log.info("%s: finished earlier with the same config; kept", out)
            return "kept"
        if state.get("status") == "running" and not state.get("killed"):
            raise RuntimeError(f"{out} is being trained by process {state.get('pid')} on {state.get('host')}; wait for it, "
                               "or stop it and run this again")
        if state.get("status") in ("interrupted", "running") and any(out.rglob("*.ckpt")):
            log.info("%s: %s after %s epoch(s); resuming it", out, f"interrupted by {state['signal']}" if "signal" in state
                     else "killed", state.get("epochs_done", state.get("epoch", "?")))
            return "resumed"
        return "trained"

    how = agree(out.parent, f"train_or_resume {out.resolve()}", decide, config)  # every rank does what rank 0 decided
    if how == "kept":
        return out, how
    if how == "resumed":
        return resume(out, callbacks=callbacks), how
    return train(config, out=out, overwrite=True, callbacks=callbacks, command=command), "trained"


def load_trained(run_dir: str | Path) -> Method:
    """The trained method of a run folder, weights loaded, in eval mode (for evaluation and inference)."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    method = method_class(config.model.method).for_inference(config)
    load_weights(method.network(), run_dir / WEIGHTS_FILE)  # safetensors: no pickle
    return method.eval()
