"""The StyleGAN (v1) training iteration as phases (official `training_loop.py` with `D_repeats=1`,
`training/loss.py`).

    D   the D loss on this minibatch's reals (lod-faded) and fresh fakes; logistic + R1
        (`D_logistic_simplegp`, FFHQ) or WGAN-GP with the drift term (ProGAN, CelebA-HQ)
        -> Gs moving average (the official loop runs it with the D step)
    G   the G loss on fresh fakes: non-saturating logistic or WGAN

Every training forward of G updates w_avg. Labels: the D step's fakes take the reals' labels
(official `D_logistic_simplegp(..., labels)`), the G step's are drawn from the dataset's
(official `get_random_labels_tf`).
"""

from __future__ import annotations

import tensorflow as tf

from stylegan_tf import losses
from stylegan_tf.networks.layers import downsample_box, upsample_nearest
from stylegan_tf.training.phases import FamilyLoss


def fade_reals(reals, lod):
    """Official `process_reals` fade: blend with the 2x2-averaged copy by lod - floor(lod)."""
    t = tf.cast(lod - tf.floor(lod), reals.dtype)
    return reals + (upsample_nearest(downsample_box(reals)) - reals) * t


class StyleGAN1Loss(FamilyLoss):
    """Phases "D" then "G"; Gs after "D"."""

    gs_after = "D"
    ema_phases = frozenset({"D", "G"})

    def phases(self, step: int) -> tuple[str, ...]:
        return ("D", "G")

    def prepare_reals(self, reals, lod):
        return fade_reals(reals, lod)

    def synthesize(self, G, w, noise, resolution, update_emas):
        return G.synthesis(w, resolution=resolution, noise=noise)

    def objective(self, phase, it):
        cfg = self.config.loss
        if phase == "G":
            fakes, labels = it.fakes("G")
            objective = losses.g_logistic_ns if cfg.g_loss == "logistic_ns" else losses.g_wgan
            loss = it.average(objective(it.D("G"), fakes, labels)[0])
            return loss, {"loss/G": loss * it.replicas}
        fakes, _ = it.fakes("D", labels=it.labels)
        D = it.D("D")
        if cfg.d_loss == "logistic_r1":
            loss, stats = losses.d_logistic_r1(D, it.reals, fakes, it.labels, cfg.r1_gamma,
                                               it.trainer.d_opt.dynamic_scale)
            extra = {"loss/r1_penalty": tf.reduce_mean(stats["r1_penalty"])}
        else:
            mix = it.uniform("D/gp_mix", it.global_batch, [1, 1, 1])
            loss, stats = losses.d_wgan_gp(D, it.reals, fakes, it.labels, mix, cfg.wgan_lambda, cfg.wgan_epsilon,
                                           cfg.wgan_target, it.trainer.d_opt.dynamic_scale)
            extra = {"loss/gradient_penalty": tf.reduce_mean(stats["gradient_penalty"])}
        it.count_real_signs(stats["real_scores"])
        loss = it.average(loss)
        return loss, {"loss/D": loss * it.replicas,
                                  "scores/real": tf.reduce_mean(stats["real_scores"]),
                                  "scores/fake": tf.reduce_mean(stats["fake_scores"]), **extra}

    def snapshot_kwargs(self, resolution):
        return {"resolution": resolution, "full_size": True}

    def fit_lod(self, trainer):
        return trainer.G.lod
