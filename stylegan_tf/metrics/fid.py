"""Fréchet Inception Distance (Heusel et al. 2017; official StyleGAN `frechet_inception_distance.py`).

FID = Fréchet distance between Gaussians fitted to the Inception-v3 pool features of
`num` generated images and of (at most) `num` real images. As the official metric: no
truncation, random noise, images converted to uint8 before the feature extractor; the
real statistics are cached (per dataset content, resolution, extractor weights and num).
Which Inception gives paper-comparable values: see `stylegan_tf.metrics.inception`.
"""

from __future__ import annotations

from stylegan_tf.metrics.frechet import feature_statistics, frechet_distance
from stylegan_tf.metrics.registry import register_metric


@register_metric("fid50k", num=50_000, needs=("reals", "inception"),
                 description="Fréchet Inception Distance, 50k generated images vs up to 50k reals (paper Table 1)")
def fid50k(ctx) -> dict[str, float]:
    num = ctx.count()
    mu_real, sigma_real, num_reals = ctx.real_statistics(num)
    mu_fake, sigma_fake = feature_statistics(ctx.fake_features(num))
    ctx.info["num_reals"] = num_reals
    return {ctx.metric: frechet_distance(mu_fake, sigma_fake, mu_real, sigma_real)}
