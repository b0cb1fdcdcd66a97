"""`bench_training.py --gpu-readiness` (issue 19): what a GPU would see of the training step, measured on the CPU.

Per preset and replica count (1, or 2 logical CPU devices set up as tests/mirrored.py does):

- ops per replica: the nodes of the traced step (the loop's form: `strategy.run(trainer.iteration)` in one
  `tf.function`, reals uint8) and of every function it calls (cond branches, XLA clusters, gradients),
  attributed to the device they are placed on (a function body to its call's device); per replica = the
  nodes on its device + the unplaced nodes (constants, no-ops, the outputs' gathering) / replicas. With one
  replica nothing is placed: all nodes. "dispatched" = nodes the TF executor runs one by one (one kernel
  each on a GPU); with XLA each compiled call counts as one, its body ("in XLA") is fused by XLA. Counted
  before Grappler's rewrites, which fuse a few more at run time.
- host reads: `_numpy` calls (every `.numpy()`, `float()`, `np.asarray()` of an eager tensor), counted as
  tests/test_host_syncs.py does, during the real `training.loop.run` (XLA off) on a synthetic dataset
  at the preset's resolution, batch 8, 3 ticks of 3 steps; each read is attributed by the loop's own
  calls: set-up and the first two steps (their traces), steps inside a tick, tick ends, the snapshot.
- bytes host -> device per step: from the shapes the loop feeds: one element of `loop.open_reals` (each
  replica's uint8 share) plus the labels (none: unconditional) and the three scalar arguments (lod,
  Gs beta: float32; step: int64 = 16 bytes) that every replica receives. Compared with the former
  feeding: the whole float32 batch to every replica (batch x H x W x C x 4 x replicas).
- step time with and without XLA: the median of a few steps after a warm-up (`bench_training.time_steps`,
  the plain phases: StyleGAN2/3 Gmain + Dmain, v1 D + G); trace = `get_concrete_function`; compile =
  the first call (XLA compilation or graph instantiation, and one step) less the median.
"""

from __future__ import annotations

import collections
import json
import sys
import tempfile
import traceback
from pathlib import Path

ROWS = (("stylegan2-tiny", 16), ("tiny", 16), ("stylegan2-small", 32), ("stylegan3-tiny", 16))
BATCH = 8
SCALAR_BYTES = 4 + 4 + 8   # lod (float32), Gs beta (float32), step (int64)
CALL_OPS = {"PartitionedCall": ("f",), "StatefulPartitionedCall": ("f",), "If": ("then_branch", "else_branch"),
            "StatelessIf": ("then_branch", "else_branch"), "While": ("cond", "body"),
            "StatelessWhile": ("cond", "body")}


def split_cpu(replicas: int) -> None:
    """Two logical CPU devices (before any other TensorFlow use), as tests/mirrored.py."""
    import tensorflow as tf

    if replicas > 1:
        cpus = tf.config.list_physical_devices("CPU")
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * replicas)


def strategy_for(replicas: int):
    import tensorflow as tf

    if replicas == 1:
        return tf.distribute.get_strategy()
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(replicas)])


def count_ops(concrete) -> dict:
    """{device: Counter(dispatched, xla_calls, in_xla)} over the step's graph and the functions it calls
    ("" = unplaced)."""
    graph_def = concrete.graph.as_graph_def()
    library = {f.signature.name: f for f in graph_def.library.function}
    counts: dict = collections.defaultdict(collections.Counter)

    def callees(node):
        names = [node.op] if node.op in library else []
        for attr in CALL_OPS.get(node.op, ()):
            names.append(node.attr[attr].func.name)
        return [n for n in names if n in library]

    def walk(nodes, device, compiled):
        for node in nodes:
            where = node.device.rsplit("device:", 1)[-1] if node.device else device
            xla = compiled or node.attr["_XlaMustCompile"].b
            counts[where]["in_xla" if compiled else "dispatched"] += 1
            for name in callees(node):
                fn = library[name]
                inner = xla or fn.attr["_XlaMustCompile"].b
                if inner and not compiled:
                    counts[where]["xla_calls"] += 1
                walk(fn.node_def, where, inner)

    walk(graph_def.node, "", False)
    return counts


def ops_per_replica(counts: dict, replicas: int) -> dict:
    """The busiest replica's counts: the nodes on its device + the unplaced ones / replicas."""
    unplaced = counts.get("", collections.Counter())
    devices = [d for d in counts if d] or [""]
    rows = []
    for device in devices:
        own = counts[device] if device else collections.Counter()
        rows.append({k: own[k] + unplaced[k] / replicas for k in ("dispatched", "xla_calls", "in_xla")})
    return max(rows, key=lambda r: r["dispatched"] + r["in_xla"])


def time_row(spec: dict, strategy) -> dict:
    """Ops per replica and step times of the spec's step (XLA as `spec["xla"]`) on uint8 shares."""
    import time

    import tensorflow as tf

    from bench_training import build_step, step_args, time_steps
    from stylegan_tf.training.trainer import distribute_reals

    _, step = build_step(spec, strategy)
    res = spec["resolution"]
    reals = tf.cast(tf.random.uniform([spec["batch"], res, res, 3], 0, 256, tf.int32), tf.uint8)
    args = step_args(distribute_reals(strategy, reals))
    t = time.perf_counter()
    concrete = step.get_concrete_function(*args)
    trace = time.perf_counter() - t
    ops = ops_per_replica(count_ops(concrete), strategy.num_replicas_in_sync)
    first, median = time_steps(step, args, spec["warmup"], spec["iters"])
    return {"ops": ops, "trace_s": trace, "compile_s": max(first - median, 0.0), "step_s": median}


def input_bytes(dataset, resolution: int, batch: int, placement) -> dict:
    """Bytes moved host -> device per step, from one element the loop's `open_reals` feeds."""
    from stylegan_tf.training import loop

    element = next(loop.open_reals(dataset, resolution, batch, 0, placement, 0))
    reals, labels = loop._split_batch(element)
    strategy, replicas = placement.strategy, placement.num_replicas
    local = lambda v: strategy.experimental_local_results(v) if v is not None else ()   # noqa: E731
    shares = [(tuple(x.shape), x.dtype.name, int(x.shape.num_elements()) * x.dtype.size) for x in local(reals)]
    label_bytes = sum(int(x.shape.num_elements()) * x.dtype.size for x in local(labels))
    per_replica = shares[0][2] + label_bytes // replicas + SCALAR_BYTES
    h, w, c = shares[0][0][1:]
    return {"share": f"{shares[0][1]}{list(shares[0][0])}", "per_replica": per_replica,
            "per_step": sum(s[2] for s in shares) + label_bytes + SCALAR_BYTES * replicas,
            "former_float32": batch * h * w * c * 4 * replicas}


def host_reads(preset: str, resolution: int, placement, work: Path) -> dict:
    """Host reads during the real training loop: 3 ticks of 3 steps (batch 8), the final snapshot."""
    from tensorflow.python.framework import ops as tf_ops

    from stylegan_tf import presets
    from stylegan_tf.data.dataset import open_dataset
    from stylegan_tf.data.synthetic import build_synthetic_dataset
    from stylegan_tf.training import loop, reporting
    from stylegan_tf.training.options import RunOptions

    build_synthetic_dataset(work / "data", resolution=resolution, num_images=64, seed=0)
    dataset = open_dataset(work / "data")
    steps_per_tick, ticks = 3, 3
    kimg_per_tick = steps_per_tick * BATCH / 1000
    config = presets.get(preset)
    overrides = dict(network__resolution=resolution, schedule__lod_initial_resolution=resolution,
                     schedule__minibatch_base=BATCH, schedule__minibatch_dict={},
                     schedule__total_kimg=ticks * kimg_per_tick, schedule__tick_kimg_base=kimg_per_tick,
                     schedule__tick_kimg_dict={})
    if config.network.family != "stylegan1":   # one phase tuple after step 0 (fewer traces), as the test
        overrides.update(loss__r1_interval=1000, loss__pl_interval=1000)
    config = config.replace(**overrides).validate()
    options = RunOptions(seed=0, export_savedmodel=False, snapshot_kimg=100.0, grid_size=(2, 1))

    reads, marks, in_snapshot, where = [0], [], [], []
    originals = (tf_ops._EagerTensorBase._numpy, reporting.TickStats.add, reporting.TickStats.read,
                 loop._network_snapshot)

    def counting(self):
        reads[0] += 1
        frames = [f for f in traceback.extract_stack(limit=40)[:-1] if "stylegan_tf" in f.filename]
        where.append(f"{frames[-1].filename.rsplit('stylegan_tf/', 1)[-1]}:{frames[-1].lineno}" if frames else "?")
        return originals[0](self)

    def add(self, stats):
        originals[1](self, stats)
        marks.append(("step", reads[0]))

    def read(self):
        out = originals[2](self)
        marks.append(("tick", reads[0]))
        return out

    def snapshot(*args, **kwargs):
        before = reads[0]
        out = originals[3](*args, **kwargs)
        in_snapshot.extend(range(before, reads[0]))
        return out

    tf_ops._EagerTensorBase._numpy, reporting.TickStats.add, reporting.TickStats.read = counting, add, read
    loop._network_snapshot = snapshot
    try:
        summary = loop.run(config, options, work / "run", dataset, placement=placement)
    finally:
        (tf_ops._EagerTensorBase._numpy, reporting.TickStats.add, reporting.TickStats.read,
         loop._network_snapshot) = originals
    assert summary["state"]["step"] == steps_per_tick * ticks, summary["state"]
    # Segments between consecutive steps' ends: inside a tick, or holding a tick's end.
    steps = [i for i, (kind, _) in enumerate(marks) if kind == "step"]
    in_tick, tick_end = [], []
    for k in range(2, len(steps)):   # steps 0 and 1 trace their phases
        a, b = steps[k - 1], steps[k]
        (tick_end if any(kind == "tick" for kind, _ in marks[a:b]) else in_tick).append((marks[a][1], marks[b][1]))
    last = steps[-1]
    tick_end.append((marks[last][1], reads[0]))   # the last tick's end (and the final snapshot)
    snapshot = set(in_snapshot)
    end_reads = [i for a, b in tick_end for i in range(a, b) if i not in snapshot]
    return {"setup_and_traces": marks[steps[1]][1], "per_step_in_tick": sum(b - a for a, b in in_tick) / len(in_tick),
            "in_tick_steps": len(in_tick), "per_tick_end": len(end_reads) / len(tick_end),
            "tick_end_sources": dict(collections.Counter(where[i] for i in end_reads).most_common(6)),
            "snapshot": len(snapshot), "total": reads[0], "steps": summary["state"]["step"],
            "ticks": summary["ticks"]}


def readiness_one(spec: dict) -> dict:
    """One row, in its own process (`--replicas` logical CPU devices)."""
    split_cpu(spec["replicas"])
    import tensorflow as tf

    from stylegan_tf.data.dataset import open_dataset
    from stylegan_tf.data.synthetic import build_synthetic_dataset
    from stylegan_tf.training.distribute import Placement

    strategy = strategy_for(spec["replicas"])
    placement = Placement(strategy, 1, 0)
    out = {**spec, "devices": [d.name for d in tf.config.list_logical_devices("CPU")]}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_synthetic_dataset(tmp / "bytes", resolution=spec["resolution"], num_images=16, seed=0)
        out["bytes"] = input_bytes(open_dataset(tmp / "bytes"), spec["resolution"], spec["batch"], placement)
        for xla in (False, True):
            out["xla" if xla else "plain"] = time_row({**spec, "xla": xla}, strategy)
        if spec.get("reads", True):
            out["reads"] = host_reads(spec["preset"], spec["resolution"], placement, tmp)
    return out


def main(args, run_in_subprocess, peak32: float) -> None:
    rows = [(p, r) for p, r in ROWS if not args.presets or p in args.presets.split(",")]
    print(__doc__.split("\n\n", 1)[1].strip(), flush=True)
    head = (f"{'preset':<16}{'res':>4}{'rep':>4} | {'ops/replica':>11}{'XLA: disp':>10}{'calls':>6}{'in XLA':>8} | "
            f"{'reads/step':>10}{'/tick':>6}{'snap':>5}{'setup':>6} | {'B/step (uint8)':>14}{'former f32':>11} | "
            f"{'trace s':>8}{'init s':>7}{'step s':>7} | {'XLA trace':>9}{'compile':>8}{'step s':>7}{'speedup':>8}")
    print(head + "\n" + "-" * len(head), flush=True)
    for preset, res in rows:
        for replicas in args.replicas:
            spec = {"preset": preset, "resolution": res, "batch": BATCH, "precision": "off", "phase": "plain",
                    "replicas": replicas, "warmup": args.warmup, "iters": args.iters, "reads": not args.no_reads}
            r = run_in_subprocess(spec, "--readiness-one")
            if r is None:
                continue
            plain, xla, b = r["plain"], r["xla"], r["bytes"]
            reads = r.get("reads")
            read_cols = (f"{reads['per_step_in_tick']:>10.2f}{reads['per_tick_end']:>6.0f}{reads['snapshot']:>5}"
                         f"{reads['setup_and_traces']:>6}" if reads else f"{'-':>10}{'-':>6}{'-':>5}{'-':>6}")
            print(f"{preset:<16}{res:>4}{replicas:>4} | {plain['ops']['dispatched']:>11.0f}"
                  f"{xla['ops']['dispatched']:>10.0f}{xla['ops']['xla_calls']:>6.0f}{xla['ops']['in_xla']:>8.0f} | "
                  f"{read_cols} | {b['per_step']:>14,}{b['former_float32']:>11,} | "
                  f"{plain['trace_s']:>8.1f}{plain['compile_s']:>7.1f}{plain['step_s']:>7.3f} | "
                  f"{xla['trace_s']:>9.1f}{xla['compile_s']:>8.1f}{xla['step_s']:>7.3f}"
                  f"{plain['step_s'] / xla['step_s']:>7.2f}x", flush=True)
            if args.verbose:
                print("   " + json.dumps(r), flush=True)
    print(f"\nreads/step: host reads per step inside a tick (steps 2+; 0 = no synchronisation); /tick: reads at a "
          f"tick's end (statistics, report, fakes grid); snap: the final snapshot's; setup: before step 2 "
          f"(building, the traces). B/step: uint8 shares + labels + {SCALAR_BYTES} B of scalars per replica; "
          f"former f32: the whole float32 batch to every replica. Machine matmul peak (float32, this run): "
          f"{peak32:.1f} GFLOP/s.", flush=True)


if __name__ == "__main__":
    sys.exit("run benchmarks/bench_training.py --gpu-readiness")
