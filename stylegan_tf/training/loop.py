"""The training loop (official `training_loop.py`, restructured into small steps).

    run(config, options, run_dir)

Sections: set up the strategy and precision; open the dataset; build the trainer
(G, D, Gs, optimizers) in the strategy scope; resume; then train: every
`minibatch_repeats` steps the schedule (lod, resolution, minibatch, learning rates)
is re-read from the images shown; a resolution or batch change opens the matching
dataset stream; a change of floor/ceil(lod) resets Adam; each tick reports; each
network snapshot writes a checkpoint, the exports and the metrics.

Exact resumption: every random draw of a step is keyed by (seed, iteration), and the
reals stream is deterministic for its seed and restarts, with a seed derived from
(seed, resolution, images shown), at every resolution or batch change and at every
network snapshot, where checkpoints are written. A run resumed from a checkpoint
therefore sees the same reals, latents and noise as the uninterrupted run. (Each
restart reads the level from its first record again; records are shuffled when a
dataset is written, and the shuffle buffer mixes them, so this costs no variety.)

The step itself is the trainer's `iteration` under `strategy.run` in one
`tf.function`, traced once per (resolution, batch, `trainer.step_phases(step)`).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from stylegan_tf.config import Config
from stylegan_tf.errors import UserError
from stylegan_tf.schedule import gs_beta, optimizer_reset_needed, phase_at
from stylegan_tf.training import checkpoint as ckpt
from stylegan_tf.training.distribute import make_strategy
from stylegan_tf.training.loop_state import LoopState
from stylegan_tf.training.options import RunOptions
from stylegan_tf.training.reporting import Reporter, TickStats


class TrainingDiverged(UserError):
    """Too many consecutive non-finite steps: the run stops, its last good checkpoint stays."""


def _stream_seed(seed: int, resolution: int, start_nimg: int) -> int:
    return (seed * 1_000_003 + resolution * 7919 + start_nimg) % (2**31 - 1)


def open_reals(dataset, resolution: int, worker_batch: int, seed: int, placement, skip: int, **reader):
    """An iterator of the replicas' shares of this worker's batches at `resolution` (uint8 as stored:
    the trainer scales and mirrors them on the device), deterministic, from `skip` images on.

    The worker's stream of batches is split per step into its replicas' strided shares (replica r:
    rows r, r + R, ...) by `distribute_datasets_from_function`, which hands each replica its own
    share (prefetched to its device): only a replica's uint8 rows travel to it."""
    import tensorflow as tf

    strategy = placement.strategy
    local = strategy.num_replicas_in_sync // placement.num_workers

    def make(context):
        ds = dataset.make_tf_dataset(resolution, worker_batch, seed=seed, deterministic=True,
                                     num_shards=placement.num_workers, shard_index=placement.worker_index,
                                     skip_images=skip, uint8=True, **reader)
        if local == 1:
            return ds
        def shares(*batch):
            split = tuple(tf.stack([x[r::local] for r in range(local)]) for x in batch)
            return tf.data.Dataset.from_tensor_slices(split if len(split) > 1 else split[0])

        return ds.flat_map(shares)

    return iter(strategy.distribute_datasets_from_function(make))


def _split_batch(batch):
    if isinstance(batch, (tuple, list)):
        return batch[0], batch[1]
    return batch, None


def _all_finite(variables) -> bool:
    return all(np.all(np.isfinite(np.asarray(v.numpy()))) for v in variables if "float" in str(v.dtype))


def run(config: Config, options: RunOptions, run_dir: Path, dataset, placement=None,
        pretrained=None) -> dict[str, Any]:
    """Trains until `config.schedule.total_kimg`; returns a summary of the run.

    Args:
        config, options: what to train and how.
        run_dir: where the chief writes; other workers write nothing.
        dataset: an opened dataset (`stylegan_tf.data.dataset.ImageDataset`).
        placement: a `make_strategy` result; created from `options.strategy` when None
            (multi-worker runs must create it first thing, before other TensorFlow work).
        pretrained: `stylegan_tf.official.OfficialNetworks` to fine-tune (G, D, Gs copied in,
            fresh optimizers; config from `official.finetune.finetune_config`); a checkpoint
            given by `options.resume` takes precedence.
    """
    import keras
    import tensorflow as tf

    from stylegan_tf.saving import save_keras, save_saved_model
    from stylegan_tf.training.options import MIXED_PRECISION
    from stylegan_tf.training.trainer import Trainer

    config.validate()
    options.validate()
    run_dir = Path(run_dir)
    if options.subset is not None:   # Official --subset: the stream, reals grid, fakes' labels and metrics use it.
        from stylegan_tf.data.view import DatasetView
        dataset = DatasetView(dataset, max_images=options.subset, seed=options.seed)

    # Set up the strategy, seeds and precision.
    placement = placement or make_strategy(options.strategy)
    strategy = placement.strategy
    keras.utils.set_random_seed(options.seed)
    keras.mixed_precision.set_global_policy(MIXED_PRECISION[options.mixed_precision])
    chief = placement.is_chief
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
    reporter = Reporter(run_dir, enabled=chief)
    net, sched, train_cfg = config.network, config.schedule, config.training

    # Build G, D, Gs and the optimizers.
    with strategy.scope():
        xla = options.xla if options.xla is not None else bool(tf.config.list_physical_devices("GPU"))
        trainer = Trainer(config, seed=options.seed, mixed_precision=options.mixed_precision, xla=xla)
        trainer.build_optimizers()
    if net.label_size:
        trainer.set_label_pool(np.asarray(dataset.labels()))   # The fakes' labels are drawn from these.

    # Resume.
    state = LoopState()
    if options.resume:
        source = ckpt.choose_checkpoint(options.resume, run_dir)
        state = LoopState.from_dict(ckpt.load_checkpoint(trainer, source))
        print(f"Resumed from {source} at kimg {state.cur_nimg / 1000:.1f}", flush=True)
        if state.finished and chief:   # A kill may have cut the final exports short (or left an older
            # snapshot's under the name): nothing else writes them, so they are written again.
            _write_exports(trainer, run_dir, state.cur_nimg // 1000, options, save_keras, save_saved_model)
    elif pretrained is not None:
        from stylegan_tf.official.finetune import copy_networks

        copy_networks(trainer, pretrained)
        print(f"Fine-tuning {pretrained.path} ({pretrained.family}): G, D, Gs loaded, fresh optimizers", flush=True)

    # Fixed latents for the snapshot grids (Gs, no truncation, fixed noise).
    cols, rows = options.grid_size
    grid_rng = np.random.RandomState(options.seed)
    grid_z = grid_rng.randn(cols * rows, net.latent_size).astype(np.float32)
    grid_labels = (np.eye(net.label_size, dtype=np.float32)[np.arange(cols * rows) % net.label_size]
                   if net.label_size else None)

    # No data-dependent Python control flow in the step: autograph would only cost tracing time.
    # `phases` (`trainer.step_phases(step)`, a tuple of Python values: which lazy regularisers run)
    # is static: one trace per phase kind, so no step computes a branch it does not take.
    @tf.function(autograph=False)
    def train_step(reals, labels, lod, beta, step, phases):
        per_replica = strategy.run(trainer.iteration, args=(reals, labels, lod, beta, step),
                                   kwargs={"phases": phases})
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}

    # Train.
    total_nimg = int(round(sched.total_kimg * 1000))
    phase = phase_at(config, state.cur_nimg / 1000)
    reals_iter, stream_key = None, None
    tick_stats, tick_start_nimg, tick_start_time = TickStats(), state.cur_nimg, time.time()
    start_time = time.time() - state.time_total
    last_snapshot_kimg = state.cur_nimg / 1000
    real_grid_written = (run_dir / "reals.png").exists()
    summary: dict[str, Any] = {"ticks": 0, "snapshots": [], "exports": []}

    while state.cur_nimg < total_nimg:
        # Schedule: lod, resolution, minibatch, learning rates (re-read every minibatch_repeats steps).
        if state.step % train_cfg.minibatch_repeats == 0 or reals_iter is None:
            if state.step % train_cfg.minibatch_repeats == 0:
                state.sched_nimg = state.cur_nimg
                lod = phase_at(config, state.sched_nimg / 1000).lod
                if (state.prev_lod is not None and sched.reset_opt_for_new_lod
                        and optimizer_reset_needed(state.prev_lod, lod)):
                    trainer.reset_optimizers()
                state.prev_lod = lod
            phase = phase_at(config, state.sched_nimg / 1000)
            if phase.minibatch % placement.num_replicas or phase.minibatch % placement.num_workers:
                raise UserError(f"The minibatch {phase.minibatch} at {phase.resolution}x{phase.resolution} is not "
                                f"divisible by the {placement.num_replicas} replicas; change --batch.")
            if sched.progressive:
                trainer.set_lod(phase.lod)
            trainer.set_learning_rates(phase.g_lrate, phase.d_lrate)
            key = [phase.resolution, phase.minibatch]
            if reals_iter is None or stream_key != key:
                if state.stream_key != key:
                    state.stream_key, state.stream_start_nimg = key, state.cur_nimg
                stream_key = key
                worker_batch = phase.minibatch // placement.num_workers
                reals_iter = open_reals(dataset, phase.resolution, worker_batch,
                                        _stream_seed(options.seed, phase.resolution, state.stream_start_nimg),
                                        placement, (state.cur_nimg - state.stream_start_nimg) // placement.num_workers)
                if chief and not real_grid_written:
                    reals, _ = _split_batch(next(iter(dataset.make_tf_dataset(
                        net.resolution, cols * rows, seed=options.seed, deterministic=True, shuffle_mb=0))))
                    reporter.image_grid("reals", np.asarray(reals), cols, 0, run_dir / "reals.png")
                    real_grid_written = True

        reals, labels = _split_batch(next(reals_iter))
        labels = labels if net.label_size else None   # An unconditional run on a labelled dataset (--no-cond).
        beta = gs_beta(phase.minibatch, train_cfg.g_ema_kimg, state.cur_nimg, train_cfg.g_ema_rampup)
        # The statistics stay on the device (no host synchronisation inside a tick).
        tick_stats.add(train_step(reals, labels, tf.constant(phase.lod, tf.float32), tf.constant(beta, tf.float32),
                                  tf.constant(state.step, tf.int64), trainer.step_phases(state.step)))
        state.step += 1
        state.cur_nimg += phase.minibatch
        reporter.progress(state.cur_nimg, tick_start_nimg, tick_start_nimg + phase.tick_kimg * 1000, total_nimg,
                          state.tick + 1)  # A bar toward the next tick, on a terminal.

        # End of tick: report, grid; network snapshot every snapshot_ticks ticks / snapshot_kimg.
        done = state.cur_nimg >= total_nimg
        if state.cur_nimg >= tick_start_nimg + phase.tick_kimg * 1000 or done:
            means, skips = tick_stats.read()
            if skips["longest_run"] >= options.max_nonfinite:
                last = ckpt.list_checkpoints(run_dir)
                raise TrainingDiverged(
                    f"Training diverged at kimg {state.cur_nimg / 1000:g} (checked at the end of each tick): "
                    f"{int(skips['longest_run'])} "
                    f"consecutive steps had non-finite gradients and were skipped. Last good checkpoint: "
                    f"{last[-1] if last else 'none'} (resume with --resume latest, e.g. with a lower learning rate "
                    f"or --mixed-precision off).")
            state.tick += 1
            now = time.time()
            tick_time = now - tick_start_time
            tick_nimg = state.cur_nimg - tick_start_nimg
            kimg = state.cur_nimg / 1000
            values = {"tick": state.tick, "kimg": kimg, "lod": phase.lod, "resolution": phase.resolution,
                      "minibatch": phase.minibatch, "lrate/G": phase.g_lrate, "lrate/D": phase.d_lrate,
                      "time_total": now - start_time, "sec_per_tick": tick_time,
                      "sec_per_kimg": tick_time / max(tick_nimg / 1000, 1e-9),
                      "img_per_sec": tick_nimg / max(tick_time, 1e-9), "nonfinite_steps": int(skips["skipped"]),
                      **means}
            values["eta_sec"] = (total_nimg - state.cur_nimg) / max(values["img_per_sec"], 1e-9)
            reporter.tick(values, step=state.cur_nimg // 1000)
            state.time_total = now - start_time
            images = trainer.snapshot_images(grid_z, grid_labels, phase.resolution)
            reporter.image_grid("fakes", np.asarray(images, np.float32), cols, state.cur_nimg // 1000,
                                run_dir / "grids" / f"fakes{state.cur_nimg // 1000:06d}.png")
            summary["ticks"] += 1
            snapshot = done or (
                kimg - last_snapshot_kimg >= options.snapshot_kimg if options.snapshot_kimg
                else state.tick % train_cfg.snapshot_ticks == 0)
            if snapshot:
                last_snapshot_kimg = kimg
                state.finished = done
                # The reals stream restarts here (new seed), so resuming from this checkpoint is exact.
                state.stream_start_nimg, reals_iter = state.cur_nimg, None
                summary["snapshots"].append(_network_snapshot(trainer, run_dir, state, options, dataset, phase,
                                                              chief, reporter, save_keras, save_saved_model))
            tick_stats, tick_start_nimg, tick_start_time = TickStats(skips["run"]), state.cur_nimg, time.time()

    summary.update(state=state.to_dict(), run_dir=str(run_dir))
    return summary


def _network_snapshot(trainer, run_dir, state, options, dataset, phase, chief, reporter, save_keras,
                      save_saved_model) -> dict[str, Any]:
    """Checkpoint, exports and metrics; skipped (with a message) if any weight is non-finite."""
    kimg = state.cur_nimg // 1000
    if not chief:
        return {"kimg": kimg}
    if not _all_finite(sum(trainer.checkpoint_variables().values(), [])):
        print(f"Not writing the snapshot at kimg {kimg}: the networks or the optimizers hold non-finite values.",
              flush=True)
        return {"kimg": kimg, "skipped": True}
    path = ckpt.save_checkpoint(trainer, run_dir, state.to_dict(), keep=options.keep_checkpoints)
    exports = _write_exports(trainer, run_dir, kimg, options, save_keras, save_saved_model)
    result = {"kimg": kimg, "checkpoint": str(path), "exports": exports}
    if options.metrics:
        result["metrics"] = _snapshot_metrics(trainer, dataset, options, run_dir, phase, kimg, reporter)
    return result


def _write_exports(trainer, run_dir, kimg, options, save_keras, save_saved_model) -> list[str]:
    """Gs as network-snapshot-<kimg>.keras and (with `export_savedmodel`) the SavedModel; returns their paths."""
    exports = [str(save_keras(trainer.Gs, run_dir / f"network-snapshot-{kimg:06d}.keras"))]
    if options.export_savedmodel:
        exports.append(str(save_saved_model(trainer.Gs, run_dir / "saved_model")))
    return exports


def _snapshot_metrics(trainer, dataset, options, run_dir, phase, kimg, reporter) -> dict[str, Any]:
    from stylegan_tf import metrics

    results = metrics.evaluate_snapshot(trainer.Gs, dataset, list(options.metrics), run_dir, kimg,
                                        num=options.metrics_num, resolution=phase.resolution,
                                        inception=options.inception, distance=options.lpips,
                                        progress=reporter.show_progress)
    scalars = {f"metrics/{k}": float(v) for k, v in _flatten(results).items() if isinstance(v, (int, float))}
    reporter.scalars(scalars, step=kimg)
    return results


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}/"))
        else:
            out[f"{prefix}{k}"] = v
    return out


def write_options(run_dir: Path, config: Config, options: RunOptions) -> None:
    """training_options.json: the resolved config and run options, written before step 0."""
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = {"config": config.to_dict(), "options": options.to_dict()}
    (run_dir / "training_options.json").write_text(json.dumps(payload, indent=2, default=str))


def describe_schedule(config: Config) -> str:
    """The resolutions, kimg ranges, minibatches and learning rates of the run, one line per stage."""
    s = config.schedule
    starts = [0.0]
    if s.progressive:
        phase = s.lod_training_kimg + s.lod_transition_kimg
        k = 0
        while phase > 0 and k * phase < s.total_kimg:
            starts += [k * phase + s.lod_training_kimg, (k + 1) * phase]
            k += 1
    lines, previous = [], None
    for kimg in sorted(set(x for x in starts if x < s.total_kimg)):
        p = phase_at(config, kimg + 1e-9)
        kind = "train" if p.lod == math.floor(p.lod) else "fade-in"
        if (p.resolution, kind) != previous:
            lines.append(f"  from kimg {kimg:<8g} {p.resolution:>4}x{p.resolution:<4} {kind:<7} "
                         f"minibatch {p.minibatch:<4} lrate G {p.g_lrate:g} D {p.d_lrate:g}")
            previous = (p.resolution, kind)
    return "\n".join(lines)
