"""The StyleGAN2 / StyleGAN2-ADA training iteration as phases (official `StyleGAN2Loss` and the
phase list of `training_loop.py`; the TF StyleGAN2 loop runs the same ops in the same order).

    Gmain  non-saturating logistic loss softplus(-D(G(z)))
    Greg   path-length regularisation, every `pl_interval` minibatches (lazy)
    Dmain  softplus(D(G(z))) + softplus(-D(x))
    Dreg   R1 = gamma / 2 * ||dD(x)/dx||^2, every `r1_interval` minibatches (lazy)

then the Gs moving average. A lazy regulariser's loss is multiplied by its interval and that
network's Adam runs with lr * c, beta1 ** c, beta2 ** c, c = interval / (interval + 1) (paper
appendix B). With an interval of 1 the regulariser joins its main loss in one phase ("Gboth",
"Dboth"; ADA `reg_interval=None`) and c = 1. Whether an iteration regularises is a function of
the iteration index (`step % interval == 0`, the official minibatch counter), so a resumed run
continues in phase.

Draws: Gmain, Greg and Dmain each draw their own latents, noise and labels of the fakes (ADA
`gen_c` per phase); the regularisers keep their names inside a "both" phase.

Path length (paper sec. 3.2, ADA `Gpl`): on minibatch // pl_batch_shrink fresh samples
(style mixing included), y = N(0, 1) / sqrt(H * W), g = d sum(G(w) * y) / dw,
length = sqrt(mean over the num_ws styles of sum over w_dim of g^2); pl_mean <- lerp(pl_mean,
mean length over the global batch, pl_decay), changed in cross-replica context like w_avg;
penalty = (length - pl_mean)^2 * pl_weight * pl_interval (`losses.pl_penalty`, whose gradient
through pl_mean is the official one on any number of replicas).

ADA's overfitting statistic counts sign(D(reals)) of Dmain and of Dreg, as the official loss
reports it in both.

Statistics: every iteration reports `loss/r1_penalty` (mean ||dD/dx||^2 of the last R1 phase),
`loss/pl_penalty` (mean (length - pl_mean)^2 of the last path-length phase) and `pl_mean`: on
iterations without that phase the last value is repeated (0 before the first), so a tick's
average is the average of recent penalties, not diluted by the interval.

Non-finite gradients: the `LossScaleOptimizer` skips the step (float16 lowers its loss scale)
and the loop counts skipped steps and stops a diverged run. ADA instead replaces NaN/Inf
gradients with 0/+-1e5 (`nan_to_num`) and always steps; we keep the skip: dynamic loss scaling
needs to see the overflow, and a step on clipped garbage would hide divergence.

Deviation: under several replicas pl_mean is one variable updated from the global batch mean
(ADA keeps one per GPU, fed by that GPU's samples), so a mirrored step equals the single-device step.
"""

from __future__ import annotations

import tensorflow as tf

from stylegan_tf import losses
from stylegan_tf.errors import UserError
from stylegan_tf.training.phases import FamilyLoss


class StyleGAN2Loss(FamilyLoss):
    """Gmain, Greg (lazy), Dmain, Dreg (lazy); Gs after the last phase; pl_mean as state."""

    # The G forwards that update G's tracked statistics (w_avg): every training forward of the
    # mapping in StyleGAN2 / ADA.
    ema_phases = frozenset({"Gmain", "Greg", "Dmain"})

    def check(self, config):
        if config.schedule.progressive:
            raise UserError(f"{config.network.family} trains at the full resolution: set schedule.progressive=False "
                            f"(the presets do; on the command line, --no-growing).")

    def build(self, trainer):
        state = dict(shape=(), initializer="zeros", trainable=False, dtype="float32")
        self.pl_mean = trainer.add_weight(name="pl_mean", **state)
        self.last_r1_penalty = trainer.add_weight(name="last_r1_penalty", **state)
        self.last_pl_penalty = trainer.add_weight(name="last_pl_penalty", **state)

    def state_variables(self):
        return [self.pl_mean, self.last_r1_penalty, self.last_pl_penalty]

    # Lazy regularisation -----------------------------------------------------------------
    def regulariser(self, network: str) -> tuple[bool, int]:
        """(whether it is on, its interval) for "G" (path length) or "D" (R1)."""
        loss = self.config.loss
        if network == "G":
            return loss.pl_weight > 0, loss.pl_interval
        return loss.r1_gamma > 0, loss.r1_interval

    def lazy_ratio(self, network: str) -> float:
        """c = interval / (interval + 1) for a lazy regulariser that is on, else 1."""
        on, interval = self.regulariser(network)
        return interval / (interval + 1) if on and interval > 1 else 1.0

    def phases(self, step: int) -> tuple[str, ...]:
        out = []
        for net in ("G", "D"):
            on, interval = self.regulariser(net)
            if on and interval == 1:
                out.append(f"{net}both")
            else:
                out.append(f"{net}main")
                if on and step % interval == 0:
                    out.append(f"{net}reg")
        return tuple(out)

    # Pieces ------------------------------------------------------------------------------
    def synthesize(self, G, w, noise, resolution, update_emas):
        return G.synthesis(w, noise=noise, training=True)

    def path_lengths(self, it):
        """This replica's path lengths [n] of the path-length phase, n = its share of the global
        minibatch // pl_batch_shrink; updates w_avg if "Greg" is an EMA phase."""
        net = self.config.network
        batch = it.global_batch // self.config.loss.pl_batch_shrink
        if batch < 1 or batch % (it.replicas * it.rounds):
            raise UserError(f"The path-length batch (minibatch {it.global_batch} // loss.pl_batch_shrink "
                            f"{self.config.loss.pl_batch_shrink} = {batch}) must be a positive multiple of the "
                            f"{it.replicas} replicas x {it.rounds} accumulation rounds; change --batch or "
                            f"--batch-gpu.")
        w, w_mean = it.fake_w("Greg", batch, it.fake_labels("Greg", batch))
        noise = it.noise("Greg", batch)
        y = it.normal("Greg/pl_y", batch, [it.resolution, it.resolution, net.num_channels])
        lengths, _ = losses.pl_lengths(lambda w_: it.synthesize(w_, noise, False), w, y,
                                       it.trainer.g_opt.dynamic_scale)
        if "Greg" in self.ema_phases:
            it.update_w_avg(w_mean)
        return lengths

    def pl_objective(self, it):
        """Greg: the averaged path-length objective (x pl_weight x interval); updates pl_mean."""
        loss = self.config.loss
        lengths = self.path_lengths(it)
        penalty, new_mean = losses.pl_penalty(lengths, tf.identity(self.pl_mean), it.mean(lengths), loss.pl_decay)
        it.assign([self.pl_mean, self.last_pl_penalty],
                  [new_mean, it.mean(tf.square(tf.stop_gradient(lengths - new_mean)))])
        gain = loss.pl_weight * (loss.pl_interval if loss.pl_interval > 1 else 1)
        return it.average(penalty * gain, it.global_batch // loss.pl_batch_shrink)

    def r1_objective(self, it):
        """Dreg: gamma / 2 * ||dD(x)/dx||^2 * r1_interval averaged over the global batch (D behind the
        augmentation; the gradient is with respect to the un-augmented reals)."""
        loss = self.config.loss
        r1, real_scores = losses.r1_penalty(it.D("Dreg"), it.reals, it.labels, it.trainer.d_opt.dynamic_scale)
        it.count_real_signs(real_scores)
        it.assign([self.last_r1_penalty], [it.mean(r1)])
        gain = loss.r1_gamma * 0.5 * (loss.r1_interval if loss.r1_interval > 1 else 1)
        return it.average(r1 * gain)

    # The phases --------------------------------------------------------------------------
    def objective(self, phase, it):
        if phase in ("Gmain", "Gboth"):
            fakes, labels = it.fakes("Gmain")
            g_loss = it.average(losses.g_logistic_ns(it.D("Gmain"), fakes, labels)[0])
            total = g_loss + self.pl_objective(it) if phase == "Gboth" else g_loss
            return total, {"loss/G": g_loss * it.replicas}
        if phase == "Greg":
            return self.pl_objective(it), {}
        if phase in ("Dmain", "Dboth"):
            fakes, fake_labels = it.fakes("Dmain")
            gamma = self.config.loss.r1_gamma if phase == "Dboth" else 0.0
            d_loss, stats = losses.d_logistic_r1(it.D("Dmain"), it.reals, fakes, it.labels, gamma,
                                                 it.trainer.d_opt.dynamic_scale, fake_labels=fake_labels)
            it.count_real_signs(stats["real_scores"])
            if gamma:
                it.assign([self.last_r1_penalty], [it.mean(stats["r1_penalty"])])
            d_loss = it.average(d_loss)
            return d_loss, {"loss/D": d_loss * it.replicas, "scores/real": tf.reduce_mean(stats["real_scores"]),
                            "scores/fake": tf.reduce_mean(stats["fake_scores"])}
        if phase == "Dreg":
            return self.r1_objective(it), {}
        raise ValueError(f"Unknown StyleGAN2 phase {phase!r}")

    def iteration_stats(self, it):
        return {"loss/r1_penalty": tf.identity(self.last_r1_penalty),
                "loss/pl_penalty": tf.identity(self.last_pl_penalty), "pl_mean": tf.identity(self.pl_mean)}
