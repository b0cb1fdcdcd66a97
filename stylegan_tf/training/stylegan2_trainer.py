"""The StyleGAN2 training model: the v1 trainer's machinery with StyleGAN2's iteration.

One iteration follows StyleGAN2-ADA `training_loop.py` (and the TF StyleGAN2 loop, which
runs the same ops in the same order): the phases

    Gmain  non-saturating logistic loss softplus(-D(G(z)))
    Greg   path-length regularisation, every `pl_interval` = 4 minibatches (lazy)
    Dmain  softplus(D(G(z))) + softplus(-D(x))
    Dreg   R1 = gamma / 2 * ||dD(x)/dx||^2, every `r1_interval` = 16 minibatches (lazy)

then the Gs moving average. Each phase is its own optimizer step (the TF code's separate
`G_reg_op`/`D_reg_op` sharing Adam's slots); a lazy regulariser's loss is multiplied by
its interval and that network's Adam runs with lr * c, beta1 ** c, beta2 ** c, c =
interval / (interval + 1) (paper appendix B). With an interval of 1 the regulariser is
added to the main loss in one step and c = 1 (ADA `reg_interval=None`). Whether an
iteration regularises is a function of the iteration index (`step % interval == 0`, the
official minibatch counter), returned by `step_phases(step)` as static Python values: the
loop traces one step function per phase kind, and a resumed run continues in phase.

Path length (paper sec. 3.2, ADA `Gpl`): on minibatch // pl_batch_shrink fresh samples
(style mixing included), y = N(0, 1) / sqrt(H * W), g = d sum(G(w) * y) / dw,
length = sqrt(mean over the num_ws styles of sum over w_dim of g^2); pl_mean <- lerp(pl_mean,
mean length over the global batch, pl_decay), changed in cross-replica context like w_avg;
penalty = (length - pl_mean)^2 * pl_weight * pl_interval (`losses.pl_penalty`, whose gradient
through pl_mean is the official one on any number of replicas).

Statistics: every step returns `loss/r1_penalty` (mean ||dD/dx||^2 of the last R1 phase),
`loss/pl_penalty` (mean (length - pl_mean)^2 of the last path-length phase) and `pl_mean`:
on steps without that phase the last value is repeated (0 before the first), so a tick's
average is the average of recent penalties, not diluted by the interval.

Non-finite gradients: the `LossScaleOptimizer` skips the step (as in v1; float16 lowers its
loss scale) and the loop counts skipped steps and stops a diverged run. ADA instead
replaces NaN/Inf gradients with 0/+-1e5 (`nan_to_num`) and always steps; we keep the skip:
dynamic loss scaling needs to see the overflow, and a step on clipped garbage gradients
would hide divergence from the loop's `max_nonfinite` check.

Deviation: under several replicas pl_mean is one variable updated from the global batch
mean (ADA keeps one per GPU, fed by that GPU's samples), so a mirrored step equals the
single-device step.

Keras convention: `compile()` (nothing, or the two optimizers) then `fit(dataset,
callbacks=[...])` also trains: `train_step(data)` takes reals or (reals, labels); the
iteration index is the trainer's `iteration_counter` variable (saved by
`BackupAndRestore` with the weights); `make_train_function` keeps the one-trace-per-phase
rule. The training loop calls `iteration(reals, labels, lod, gs_beta, step, phases)`.
"""

from __future__ import annotations

import tensorflow as tf

from stylegan_tf import losses
from stylegan_tf.errors import UserError
from stylegan_tf.schedule import gs_beta as ema_beta
from stylegan_tf.training.trainer import (_D_AUG, _D_MIX, _D_NOISE, _D_Z, _G_AUG, _G_MIX, _G_NOISE, _G_Z,
                                         StyleGANTrainer, _apply)

# Sub-stream ids of the path-length phase's random draws (the others are the v1 trainer's).
_PL_Z, _PL_MIX, _PL_NOISE, _PL_Y = 21, 22, 23, 24
_DREG_AUG = 25  # ADA augmentation of the reals of the lazy R1 step.


class StyleGAN2Trainer(StyleGANTrainer):
    """G, D, Gs, Adam for each (lazy-regularisation adjusted), pl_mean; one StyleGAN2 iteration.

    Args: as `StyleGANTrainer` (config: a `Config` whose network is a `StyleGAN2Config`).
    """

    # The G forwards that update G's tracked EMAs (w_avg): every training forward of the
    # mapping in StyleGAN2 / ADA; StyleGAN3 only the discriminator's pass over fakes.
    ema_phases = frozenset({"Gmain", "Greg", "Dmain"})

    def __init__(self, config, seed: int = 0, mixed_precision: str = "off", num_workers: int = 1, **kwargs):
        if config.schedule.progressive:
            raise UserError("StyleGAN2 trains at the full resolution: set schedule.progressive=False "
                            "(the stylegan2 presets do; on the command line, --no-growing).")
        loss = config.loss
        if (loss.g_loss, loss.d_loss) != ("logistic_ns", "logistic_r1"):
            raise UserError(f"StyleGAN2 trains with loss.g_loss='logistic_ns' and loss.d_loss='logistic_r1'. "
                            f"Received: g_loss={loss.g_loss!r}, d_loss={loss.d_loss!r}")
        super().__init__(config, seed=seed, mixed_precision=mixed_precision, num_workers=num_workers, **kwargs)
        state = dict(shape=(), initializer="zeros", trainable=False)
        self.pl_mean = self.add_weight(name="pl_mean", dtype="float32", **state)
        self.last_r1_penalty = self.add_weight(name="last_r1_penalty", dtype="float32", **state)
        self.last_pl_penalty = self.add_weight(name="last_pl_penalty", dtype="float32", **state)
        self.iteration_counter = self.add_weight(name="iteration_counter", dtype="int64", **state)

    # Lazy regularisation -----------------------------------------------------------------
    def _regulariser(self, network: str) -> tuple[bool, int]:
        """(whether it is on, its interval) for "G" (path length) or "D" (R1)."""
        loss = self.experiment.loss
        if network == "G":
            return loss.pl_weight > 0, loss.pl_interval
        return loss.r1_gamma > 0, loss.r1_interval

    def lazy_ratio(self, network: str) -> float:
        """c = interval / (interval + 1) for a lazy regulariser that is on, else 1."""
        on, interval = self._regulariser(network)
        return interval / (interval + 1) if on and interval > 1 else 1.0

    def step_phases(self, step: int) -> tuple[bool, bool]:
        """(R1 runs, path length runs) in iteration `step` (official: counter % interval == 0)."""
        (r1_on, r1_every), (pl_on, pl_every) = self._regulariser("D"), self._regulariser("G")
        step = int(step)
        return r1_on and step % r1_every == 0, pl_on and step % pl_every == 0

    def set_lod(self, lod: float):
        """No level of detail: StyleGAN2 does not grow."""

    def snapshot_images(self, z, labels, resolution):
        """Gs images of the snapshot grids (no truncation, fixed noise) at the network's resolution."""
        return self.Gs(z, labels, truncation_psi=1.0, noise_mode="const")

    def checkpoint_variables(self) -> dict[str, list]:
        return {**super().checkpoint_variables(),
                "state": [self.pl_mean, self.last_r1_penalty, self.last_pl_penalty, self.iteration_counter]}

    # Pieces ----------------------------------------------------------------------------------
    def _synthesize(self, w, noise, resolution, update_emas=False):
        """G's synthesis in training (`update_emas`: for families with EMAs inside synthesis)."""
        return self.G.synthesis(w, noise=noise, training=True)

    def _track(self, phase, w_mean):
        """w_avg update after a G forward in `phase` ("Gmain", "Greg" or "Dmain"), if it is one of
        `ema_phases`."""
        if phase in self.ema_phases:
            self._update_w_avg(w_mean)

    def _assign(self, variables, values):
        """Sets state variables in cross-replica context to values equal on every replica; a
        non-finite value (a float16 overflow, in a step the optimizer skips) leaves its variable."""
        def merge(strategy, *values):
            for variable, value in zip(variables, values):
                value = strategy.experimental_local_results(value)[0]
                variable.assign(tf.where(tf.math.is_finite(value), value, variable))

        tf.distribute.get_replica_context().merge_call(merge, args=tuple(values))

    @staticmethod
    def _global_mean(value):
        ctx = tf.distribute.get_replica_context()
        return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, tf.stop_gradient(tf.reduce_mean(value)))

    def path_lengths(self, step, labels, global_batch):
        """This replica's path lengths [n] of the path-length phase of iteration `step`, with the
        w mean of its mapping forward; n = its share of global_batch // pl_batch_shrink."""
        ctx = tf.distribute.get_replica_context()
        resolution, channels = self.experiment.network.resolution, self.experiment.network.num_channels
        pl_batch = global_batch // self.experiment.loss.pl_batch_shrink
        if pl_batch < 1 or pl_batch % ctx.num_replicas_in_sync:
            raise UserError(f"The path-length batch (minibatch {global_batch} // loss.pl_batch_shrink "
                            f"{self.experiment.loss.pl_batch_shrink} = {pl_batch}) must be a positive multiple of "
                            f"the {ctx.num_replicas_in_sync} replicas; change --batch.")
        labels = None if labels is None else labels[:pl_batch // ctx.num_replicas_in_sync]
        w, w_mean = self._fake_w(step, (_PL_Z, _PL_MIX), labels, pl_batch, resolution)
        noise = self._noise(step, _PL_NOISE, pl_batch, resolution)
        y = self._global_normal(self._random(step, _PL_Y), pl_batch, [resolution, resolution, channels])
        lengths, _ = losses.pl_lengths(lambda w_: self._synthesize(w_, noise, resolution), w, y,
                                       self.g_opt.dynamic_scale)
        return lengths, w_mean

    def _pl_loss(self, step, labels, global_batch):
        """Greg: the averaged path-length objective (x pl_weight x interval); updates pl_mean."""
        loss = self.experiment.loss
        lengths, w_mean = self.path_lengths(step, labels, global_batch)
        penalty, new_mean = losses.pl_penalty(lengths, tf.identity(self.pl_mean), self._global_mean(lengths),
                                              loss.pl_decay)
        value = tf.square(tf.stop_gradient(lengths - new_mean))
        self._assign([self.pl_mean, self.last_pl_penalty], [new_mean, self._global_mean(value)])
        self._track("Greg", w_mean)
        gain = loss.pl_weight * (loss.pl_interval if loss.pl_interval > 1 else 1)
        return tf.nn.compute_average_loss(penalty * gain, global_batch_size=int(lengths.shape[0]) *
                                          tf.distribute.get_replica_context().num_replicas_in_sync)

    def r1_loss(self, reals, labels, global_batch, step=None):
        """Dreg: gamma / 2 * ||dD(x)/dx||^2 * r1_interval, averaged over the global batch (D behind the
        ADA augmentation when it is on; the gradient is with respect to the un-augmented reals)."""
        loss = self.experiment.loss
        d_seen = self.D if step is None else self.augmented_D(step, _DREG_AUG)
        r1, _ = losses.r1_penalty(d_seen, reals, labels, self.d_opt.dynamic_scale)
        self._assign([self.last_r1_penalty], [self._global_mean(r1)])
        gain = loss.r1_gamma * 0.5 * (loss.r1_interval if loss.r1_interval > 1 else 1)
        return tf.nn.compute_average_loss(r1 * gain, global_batch_size=global_batch)

    # The iteration --------------------------------------------------------------------------
    def iteration(self, reals, labels, lod, gs_beta, step, phases=(False, False)):
        """One StyleGAN2 iteration on this worker's batch (per replica); `lod` is unused.

        Args: as `StyleGANTrainer.iteration`; phases = `step_phases(step)`.
        Returns: dict of per-replica scalar statistics.
        """
        worker_batch = int(reals.shape[0])
        reals = self._share_worker(reals, worker_batch)
        labels = None if labels is None else self._share_worker(labels, worker_batch)
        return self._iterate(reals, labels, gs_beta, step, phases, worker_batch * self.num_workers)

    def _iterate(self, reals, labels, gs_beta, step, phases, global_batch):
        """Gmain, Greg, Dmain, Dreg, Gs on this replica's reals (its share of global_batch)."""
        do_r1, do_pl = phases
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        loss = self.experiment.loss
        resolution = self.experiment.network.resolution
        g_vars, d_vars = self.G.trainable_variables, self.D.trainable_variables

        # Gmain (+ path length in the same step when pl_interval is 1).
        with tf.GradientTape() as tape:
            fakes, w_mean = self._fakes(step, (_G_Z, _G_MIX, _G_NOISE), labels, global_batch, resolution,
                                        update_emas="Gmain" in self.ema_phases)
            g_loss, g_stats = losses.g_logistic_ns(self.augmented_D(step, _G_AUG), fakes, labels)
            g_avg = tf.nn.compute_average_loss(g_loss, global_batch_size=global_batch)
            g_total = g_avg + self._pl_loss(step, labels, global_batch) if do_pl and loss.pl_interval == 1 \
                else g_avg
            scaled = self.g_opt.scale_loss(g_total)
        g_finite = _apply(self.g_opt, tape.gradient(scaled, g_vars), g_vars)
        self._track("Gmain", w_mean)
        if do_pl and loss.pl_interval > 1:   # Greg
            with tf.GradientTape() as tape:
                scaled = self.g_opt.scale_loss(self._pl_loss(step, labels, global_batch))
            g_finite = tf.logical_and(g_finite, _apply(self.g_opt, tape.gradient(scaled, g_vars), g_vars))

        # Dmain (+ R1 in the same step when r1_interval is 1).
        fakes, w_mean = self._fakes(step, (_D_Z, _D_MIX, _D_NOISE), labels, global_batch, resolution,
                                    update_emas="Dmain" in self.ema_phases)
        self._track("Dmain", w_mean)
        with tf.GradientTape() as tape:
            gamma = loss.r1_gamma if do_r1 and loss.r1_interval == 1 else 0.0
            d_loss, d_stats = losses.d_logistic_r1(self.augmented_D(step, _D_AUG), reals, fakes, labels, gamma,
                                                   self.d_opt.dynamic_scale)
            d_avg = tf.nn.compute_average_loss(d_loss, global_batch_size=global_batch)
            scaled = self.d_opt.scale_loss(d_avg)
        if gamma:
            self._assign([self.last_r1_penalty], [self._global_mean(d_stats["r1_penalty"])])
        d_finite = _apply(self.d_opt, tape.gradient(scaled, d_vars), d_vars)
        if do_r1 and loss.r1_interval > 1:   # Dreg
            with tf.GradientTape() as tape:
                scaled = self.d_opt.scale_loss(self.r1_loss(reals, labels, global_batch, step))
            d_finite = tf.logical_and(d_finite, _apply(self.d_opt, tape.gradient(scaled, d_vars), d_vars))

        self._update_gs(gs_beta)
        stats = self._update_augment(d_stats["real_scores"], step, global_batch)   # ADA: signs of Dmain
        return {**stats, "loss/G": g_avg * replicas, "loss/D": d_avg * replicas,
                "scores/real": tf.reduce_mean(d_stats["real_scores"]),
                "scores/fake": tf.reduce_mean(d_stats["fake_scores"]),
                "nonfinite/D": 1.0 - tf.cast(d_finite, tf.float32),
                "nonfinite/G": 1.0 - tf.cast(g_finite, tf.float32),
                "loss_scale/D": tf.identity(self.d_opt.dynamic_scale),
                "loss_scale/G": tf.identity(self.g_opt.dynamic_scale),
                "loss/r1_penalty": tf.identity(self.last_r1_penalty),
                "loss/pl_penalty": tf.identity(self.last_pl_penalty),
                "pl_mean": tf.identity(self.pl_mean)}

    # Keras fit() ------------------------------------------------------------------------------
    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Optionally replaces the two optimizers (wrapped like the defaults; their learning rates
        and betas are used as given); other arguments go to `keras.Model.compile`."""
        import keras

        for name, optimizer in (("g_opt", g_optimizer), ("d_opt", d_optimizer)):
            if optimizer is None:
                continue
            if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                scaling = {} if self.mixed_precision == "fp16" else dict(initial_scale=1.0,
                                                                          dynamic_growth_steps=2**30)
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer, name=name, **scaling)
            setattr(self, name, optimizer)
        with self.distribute_strategy.scope():
            self.build_optimizers()
        super().compile(optimizer=None, **kwargs)

    def train_step(self, data, gs_beta=None, step=None, phases=None):
        """One iteration on a batch of `fit()` (per replica): data = reals or (reals, labels)."""
        if phases is None:
            raise UserError("StyleGAN2Trainer.train_step runs under fit() (make_train_function passes the "
                            "iteration's phases); the training loop calls iteration().")
        if isinstance(data, (tuple, list)):
            reals, labels = data[0], (data[1] if len(data) > 1 else None)
        else:
            reals, labels = data, None
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        return self._iterate(reals, labels, gs_beta, step, phases, int(reals.shape[0]) * replicas)

    def make_train_function(self, force=False):
        """fit()'s step: reads `iteration_counter` in Python, runs the step traced for its phases
        (one trace per phase kind), then counts the iteration."""
        if self.train_function is not None and not force:
            return self.train_function
        strategy = self.distribute_strategy
        training = self.experiment.training

        @tf.function(autograph=False)
        def step_fn(data, beta, step, phases):
            out = strategy.run(self.train_step, args=(data,), kwargs=dict(gs_beta=beta, step=step, phases=phases))
            return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in out.items()}

        def function(iterator):
            data = next(iterator)
            first = data[0] if isinstance(data, (tuple, list)) else data
            batch = int(strategy.experimental_local_results(first)[0].shape[0]) * strategy.num_replicas_in_sync
            step = int(self.iteration_counter.numpy())
            beta = ema_beta(batch, training.g_ema_kimg, step * batch, training.g_ema_rampup)
            logs = step_fn(data, tf.constant(beta, tf.float32), tf.constant(step, tf.int64), self.step_phases(step))
            self.iteration_counter.assign_add(1)
            return logs

        self.train_function = function
        return function
