"""The metric registry and the evaluation context shared by all metrics (official `metric_main.py`
/ `metric_base.py` roles).

A metric is a function `fn(ctx: MetricContext) -> dict[str, float]` registered with
`@register_metric(name, num=..., needs=...)`; the first entry of the dict is the headline
value. `MetricContext` hands each metric what it needs, lazily and once per evaluation:
generated batches (`fake_batches`), real batches (`real_batches`), Inception features of
fakes (shared by FID, KID and precision/recall) and cached statistics of reals.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
from tqdm import tqdm

from stylegan_tf.errors import UserError
from stylegan_tf.metrics.cache import StatsCache
from stylegan_tf.metrics.frechet import feature_statistics
from stylegan_tf.metrics.inception import FeatureExtractor, load_inception
from stylegan_tf.metrics.sources import GeneratedSource, ImageSource, as_source

NEEDS = ("reals", "inception", "lpips")


@dataclass(frozen=True)
class MetricSpec:
    name:        str                                   # Registry name, e.g. "fid50k".
    fn:          Callable[["MetricContext"], dict]     # Computes the results.
    num:         int                                   # Default number of generated images / samples.
    needs:       tuple[str, ...]                       # Any of NEEDS.
    description: str                                   # One line for --help and list_metrics().


_METRICS: dict[str, MetricSpec] = {}


def register_metric(name: str, num: int, needs: tuple[str, ...] = (), description: str = ""):
    """Decorator adding `fn(ctx) -> dict` to the registry under `name`."""
    unknown = [n for n in needs if n not in NEEDS]
    if unknown:
        raise ValueError(f"Unknown needs {unknown} for metric {name!r}; valid: {NEEDS}")

    def wrap(fn):
        if name in _METRICS:
            raise ValueError(f"Metric {name!r} is registered twice")
        _METRICS[name] = MetricSpec(name, fn, int(num), tuple(needs), description or (fn.__doc__ or "").strip())
        return fn

    return wrap


def list_metrics() -> dict[str, str]:
    """Registered metric names and their one-line descriptions."""
    return {name: spec.description.splitlines()[0] if spec.description else "" for name, spec in _METRICS.items()}


def get_metric(name: str, option: str = "--metrics") -> MetricSpec:
    """The spec of a metric; an unknown name is a `UserError` listing the valid names."""
    if name not in _METRICS:
        raise UserError(f"Unknown metric. Received: {option}={name!r}; valid metrics: {sorted(_METRICS)}")
    return _METRICS[name]


def parse_metric_names(names, option: str = "--metrics") -> list[str]:
    """'swd16k,fid50k' or a list -> validated names, in order, without duplicates."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(dict.fromkeys(names))
    if not names:
        raise UserError(f"{option} names no metric; valid metrics: {sorted(_METRICS)}")
    for name in names:
        get_metric(name, option)
    return names


@dataclass
class MetricContext:
    """Everything a metric may use; expensive parts are computed on first use and memoised.

    Args:
        generator: the generator (protocol of `stylegan_tf.generate`).
        real_source: real images (`stylegan_tf.metrics.sources`), for metrics needing reals.
        num: images to generate (and at most as many reals); None = each metric's default.
        batch_size: images per generator / feature-extractor call.
        seed: seeds latents, noise, SWD patches and directions, KID subsets.
        inception: a `FeatureExtractor`, or a path for `load_inception`, or None.
        distance: an LPIPS-style `fn(img0, img1) -> [N]` on [0, 255] images, or a path for the LPIPS .npz.
        cache_dir: folder for cached real statistics; None = no caching.
        progress: show progress bars.
        resolution: synthesise at this resolution (progressive growing) and upsample to full size.
        psi: truncation psi for the generated images (1 = off, the official setting).
        ppl_crop: PPL's face crop (official for face datasets).
        ppl_epsilon: PPL's step, 1e-4 as the paper.
    """

    generator:   Any
    real_source: ImageSource | None = None
    num:         int | None = None
    batch_size:  int = 16
    seed:        int = 0
    inception:   Any = None
    distance:    Any = None
    cache_dir:   str | None = None
    progress:    bool = True
    resolution:  int | None = None
    psi:         float = 1.0
    ppl_crop:    bool = True
    ppl_epsilon: float = 1e-4
    metric:      str = ""                              # Set by `compute` while a metric runs.
    info:        dict = field(default_factory=dict)    # Extra facts of the running metric (e.g. num_reals).
    _memo:       dict = field(default_factory=dict, repr=False)

    # Options ----------------------------------------------------------------------------
    def count(self) -> int:
        """Images to generate for the running metric: `num`, or the metric's default."""
        return int(self.num) if self.num is not None else get_metric(self.metric).num

    def bar(self, total: int, desc: str):
        return tqdm(total=total, desc=desc, unit="img", disable=not self.progress, leave=False)

    # Resources --------------------------------------------------------------------------
    def require_reals(self) -> ImageSource:
        if self.real_source is None:
            raise UserError(f"Metric {self.metric} compares with real images: pass --data DIR "
                            f"(a dataset directory, an image folder or a .npy array).")
        return self.real_source

    def require_inception(self) -> FeatureExtractor:
        if not isinstance(self.inception, FeatureExtractor):
            if callable(self.inception) and not isinstance(self.inception, (str, os.PathLike)):
                raise UserError("inception must be a FeatureExtractor (see stylegan_tf.metrics.inception) "
                                "or a path to the weights")
            self.inception = load_inception(self.inception, metric=self.metric)
        return self.inception

    def require_distance(self) -> Callable:
        if self.distance is None or isinstance(self.distance, (str, os.PathLike)):
            from stylegan_tf.metrics.lpips import LPIPS, load_weights

            self.distance = LPIPS(load_weights(self.distance, metric=self.metric))
        return self.distance

    # Images -----------------------------------------------------------------------------
    def generated(self) -> GeneratedSource:
        """The generated images (one source per evaluation, so its compiled synthesis is reused)."""
        if "generated" not in self._memo:
            self._memo["generated"] = GeneratedSource(self.generator, self.seed, self.psi, "random", self.resolution)
        return self._memo["generated"]

    def fake_batches(self, num: int, desc: str = "fakes") -> Iterator[np.ndarray]:
        with self.bar(num, f"{self.metric} {desc}") as bar:
            for batch in self.generated().take(num, self.batch_size):
                bar.update(len(batch))
                yield batch

    def real_batches(self, num: int, desc: str = "reals") -> Iterator[np.ndarray]:
        source = self.require_reals()
        total = num if source.num_images is None else min(num, source.num_images)
        with self.bar(total, f"{self.metric} {desc}") as bar:
            for batch in source.take(num, self.batch_size):
                bar.update(len(batch))
                yield batch

    def check_shapes(self, real: np.ndarray, fake_shape: tuple) -> None:
        if tuple(real.shape[1:]) != tuple(fake_shape[1:]):
            raise UserError(f"--data: the real images are {real.shape[1]}x{real.shape[2]}x{real.shape[3]} but the "
                            f"generator makes {fake_shape[1]}x{fake_shape[2]}x{fake_shape[3]}; use the dataset "
                            f"at the generator's resolution.")

    def image_shape(self) -> tuple:
        """[1, H, W, C] of the generated images, from the network config (always full size)."""
        config = self.generator.config
        return (1, int(config.resolution), int(config.resolution), int(getattr(config, "num_channels", 3)))

    # Features ---------------------------------------------------------------------------
    def _features(self, batches: Iterator[np.ndarray], check_reals: bool = False) -> np.ndarray:
        extractor = self.require_inception()
        out = []
        for batch in batches:
            if check_reals and not out:
                self.check_shapes(batch, self.image_shape())
            if batch.shape[-1] == 1:  # Grayscale: replicated to RGB, as the official metrics do.
                batch = np.repeat(batch, 3, axis=-1)
            out.append(extractor(batch))
        if not out:
            raise UserError(f"Metric {self.metric}: no images to measure")
        return np.concatenate(out).astype(np.float32)

    def fake_features(self, num: int) -> np.ndarray:
        """Inception features of `num` generated images (shared by FID, KID, precision/recall)."""
        key = ("fake_features", num, self.require_inception().key)
        if key not in self._memo:
            self._memo[key] = self._features(self.fake_batches(num, "fakes (Inception)"))
        return self._memo[key]

    def _real_key(self, num: int) -> dict:
        return {"data": self.require_reals().key, "extractor": self.require_inception().key, "num": int(num)}

    def real_features(self, num: int) -> np.ndarray:
        """Inception features of at most `num` reals, cached on disk per (data, extractor, num)."""
        parts = self._real_key(num)
        key = ("real_features", tuple(sorted(parts.items())))
        if key not in self._memo:
            cache = StatsCache(self.cache_dir)
            cached = cache.load("real-features", parts)
            if cached is None:
                features = self._features(self.real_batches(num, "reals (Inception)"), check_reals=True)
                cache.save("real-features", parts, {"features": features})
                mu, sigma = feature_statistics(features)
                cache.save("real-stats", parts, {"mu": mu, "sigma": sigma, "count": np.int64(len(features))})
            else:
                features = cached["features"]
            self._memo[key] = features
        return self._memo[key]

    def real_statistics(self, num: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(mu, sigma, count) of the reals' features, cached; reads only the small stats file when present."""
        parts = self._real_key(num)
        cached = StatsCache(self.cache_dir).load("real-stats", parts)
        if cached is not None:
            return cached["mu"], cached["sigma"], int(cached["count"])
        features = self.real_features(num)
        mu, sigma = feature_statistics(features)
        StatsCache(self.cache_dir).save("real-stats", parts, {"mu": mu, "sigma": sigma,
                                                              "count": np.int64(len(features))})
        return mu, sigma, len(features)


def make_context(generator, real_source=None, **options) -> MetricContext:
    """A `MetricContext`; unknown options are a `UserError` naming them."""
    known = {f.name for f in dataclasses.fields(MetricContext) if not f.name.startswith("_")}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UserError(f"Unknown metric option(s) {unknown}; known: {sorted(known - {'generator', 'real_source'})}")
    resolution = getattr(getattr(generator, "config", None), "resolution", None)
    ctx = MetricContext(generator, as_source(real_source, resolution), **options)
    if ctx.batch_size < 1:
        raise UserError(f"--batch must be at least 1. Received: --batch={ctx.batch_size}")
    if ctx.num is not None and ctx.num < 2:
        raise UserError(f"--num must be at least 2. Received: --num={ctx.num}")
    return ctx
