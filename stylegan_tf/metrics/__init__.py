"""Quality metrics of a generator: SWD, FID, KID, precision/recall, PPL, equivariance (EQ-T, EQ-R).

    from stylegan_tf import metrics
    metrics.list_metrics()          # {"swd16k": "...", "fid50k": "...", ...}
    source = metrics.open_real_source("datasets/ffhq", resolution=1024)
    line = metrics.compute("fid50k", G, source, inception="classify_image_graph_def.pb", outdir="eval")
    line["results"]                 # {"fid50k": 4.41}; also appended to eval/metrics.jsonl

    # In training, at each network snapshot (writes <run_dir>/metrics.jsonl):
    scalars = metrics.evaluate_snapshot(Gs, source, ["swd16k"], run_dir, kimg=1200.0, num=4096)

Registered metrics (the official names; `num` overrides the image count, the name stays):

| name | what | needs |
|---|---|---|
| swd16k | ProGAN multi-scale sliced Wasserstein distance x1e3 | reals |
| fid50k | Fréchet Inception Distance | reals, Inception |
| kid50k | Kernel Inception Distance | reals, Inception |
| pr50k3 | precision and recall, k = 3 | reals, Inception |
| ppl_zfull, ppl_wfull, ppl_zend, ppl_wend | perceptual path length | LPIPS weights |
| eqt50k_int, eqt50k_frac, eqr50k | StyleGAN3 equivariance PSNR (integer / fractional translation, rotation) | a StyleGAN3 G |

Every evaluation appends one JSON line per metric to `metrics.jsonl` in the output folder:
`{"metric", "value" (the headline number), "results" (all numbers), "num", "num_reals",
"seconds", "seed", "timestamp", ...caller info such as "network" or "kimg"}`.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from typing import Any, Sequence

from stylegan_tf import faults
# Registration order = listing order: the weight-free SWD first.
from stylegan_tf.metrics import swd, fid, kid, precision_recall, ppl, equivariance  # noqa: F401,I001  (register the metrics)
from stylegan_tf.metrics.registry import (MetricContext, MetricSpec, get_metric, list_metrics, make_context,
                                          parse_metric_names, register_metric)
from stylegan_tf.metrics.sources import (ArraySource, CallableSource, DatasetSource, GeneratedSource,
                                         ImageFolderSource, ImageSource, as_source, open_real_source)

METRICS_FILE = "metrics.jsonl"
SNAPSHOT_METRICS = ("swd16k",)

__all__ = ["METRICS_FILE", "SNAPSHOT_METRICS", "ArraySource", "CallableSource", "DatasetSource", "GeneratedSource",
           "ImageFolderSource", "ImageSource", "MetricContext", "MetricSpec", "append_jsonl", "as_source", "compute",
           "compute_many", "evaluate_snapshot", "get_metric", "list_metrics", "make_context", "open_real_source",
           "parse_metric_names", "register_metric"]


def append_jsonl(folder: str, line: dict, filename: str = METRICS_FILE) -> str:
    """Appends one JSON object as a line to `folder/filename`; returns the file path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, filename)
    with open(path, "a") as f:
        f.write(json.dumps(line, sort_keys=False) + "\n")
    return path


def _run(name: str, ctx: MetricContext, outdir: str | None, info: dict | None) -> dict:
    spec = get_metric(name)
    ctx.metric, ctx.info = name, {}
    start = time.time()
    results = {k: float(v) for k, v in spec.fn(ctx).items()}
    line = {"metric": name, "value": next(iter(results.values())), "results": results, "num": ctx.count(),
            **ctx.info, "seconds": round(time.time() - start, 3), "seed": ctx.seed,
            "timestamp": datetime.datetime.now().isoformat(timespec="seconds"), **(info or {})}
    if outdir is not None:
        append_jsonl(outdir, line)
    return line


def compute(name: str, generator, real_source: ImageSource | None = None, *, outdir: str | None = None,
            info: dict | None = None, **options: Any) -> dict:
    """Computes one metric; returns its JSON line (also appended to `outdir/metrics.jsonl` when given).

    Args:
        name: a registered metric (`list_metrics()`); an unknown name is a `UserError` listing them.
        generator: the generator (protocol of `stylegan_tf.generate`).
        real_source: real images: an `ImageSource`, an `ImageDataset`, a uint8 array, or a path
            (`as_source`); datasets are read at the generator's resolution.
        outdir: folder of `metrics.jsonl`; None = do not write.
        info: extra fields for the JSON line (e.g. {"network": path} or {"kimg": 1200.0}).
        **options: `MetricContext` fields: num, batch_size, seed, inception, distance, cache_dir,
            progress, resolution, psi, ppl_crop, ppl_epsilon.
    """
    return compute_many([name], generator, real_source, outdir=outdir, info=info, **options)[0]


def compute_many(names: Sequence[str] | str, generator, real_source: ImageSource | None = None, *,
                 outdir: str | None = None, info: dict | None = None, **options: Any) -> list[dict]:
    """Computes several metrics sharing one context (fake Inception features are computed once
    for FID, KID and precision/recall). Names are validated before anything runs."""
    names = parse_metric_names(names)
    ctx = make_context(generator, real_source, **options)
    return [_run(name, ctx, outdir, info) for name in names]


def evaluate_snapshot(generator, real_source: ImageSource | None, metric_names: Sequence[str] | str = SNAPSHOT_METRICS,
                      run_dir: str = ".", kimg: float | None = None, *, cache_dir: str | None = None,
                      progress: bool = False, **options: Any) -> dict[str, float]:
    """The training hook: metrics of the EMA generator at a network snapshot.

    Appends one line per metric (with "kimg") to `run_dir/metrics.jsonl` and returns the
    flat scalars to log, e.g. {"swd16k/avg": 12.3, "swd16k/32": ..., "swd16k/16": ...}.

    Args:
        generator: Gs (a Keras `Generator`).
        real_source: the training data: an `ImageDataset` (read at the generator's full resolution,
            as the official metrics read the reals), or any `ImageSource`.
        metric_names: default ("swd16k",): needs no pretrained weights.
        run_dir: the run directory.
        kimg: training progress, recorded in each line.
        cache_dir: real-statistics cache; default `<parent of run_dir>/metric-cache`, next to the
            run and shared by the runs of one results folder.
        **options: `MetricContext` fields; pass `num` (e.g. 4096) to keep snapshots quick and
            `resolution` (the current one) while growing, so the lower-resolution output is
            upsampled to full size as the official network does.
    """
    faults.point("metrics")   # Fault injection (tests): a SIGKILL while a snapshot's metrics run.
    if cache_dir is None:
        cache_dir = os.path.join(os.path.dirname(os.path.abspath(run_dir)), "metric-cache")
    lines = compute_many(metric_names, generator, real_source, outdir=run_dir,
                         info={"kimg": None if kimg is None else float(kimg)}, cache_dir=cache_dir,
                         progress=progress, **options)
    return {key: value for line in lines for key, value in line["results"].items()}
