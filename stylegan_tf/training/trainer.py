"""The training model: G, D, the EMA generator Gs, two optimizers and the custom `train_step`.

One `train_step` is one official iteration (NVlabs/stylegan `training_loop.py`, with
`D_repeats=1`): a D step (with R1 or WGAN-GP), the Gs moving-average update, then a
G step. The loop in `stylegan_tf.training.loop` calls it through
`strategy.run` inside a `tf.function`, one trace per resolution.

Randomness is stateless: every random tensor of a step (latents, style-mixing draws,
noise maps, WGAN-GP mixing factors) is drawn from `(seed, step)` for the whole global
batch, and each replica takes its strided share of it, as it does of the reals. So a
resumed run continues exactly, and a step on several replicas is the step on one
device at the same global batch (with minibatch-stddev groups inside each replica,
as in the official multi-GPU code).

State kept on replicas is changed only in cross-replica context (`merge_call`):
`w_avg` (`w_avg <- lerp(mean w, w_avg, 0.995)` with the mean over the global batch,
at every training forward of G, as the official graph does) and Gs
(`Gs <- lerp(G, Gs, beta)` for trainables, copies of the non-trainable state).

Discriminator augmentation (StyleGAN2-ADA, `config.augment`): every image D sees (reals, fakes,
the R1 reals, the G step's fakes) goes through `augment_pipe` (`augmented_D`), drawn like the other
random tensors for the global batch; R1 takes the gradient with respect to the un-augmented reals,
through the augmentation, as official. The ADA statistics are summed over replicas and p is
adjusted in cross-replica context (`_update_augment`); p lives in `augment_state` (checkpointed).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from stylegan_tf import families, losses
from stylegan_tf.augment.adaptive import AugmentState
from stylegan_tf.augment.pipeline import AugmentPipe, share_params
from stylegan_tf.config import Config
from stylegan_tf.networks.layers import downsample_box, upsample_nearest

MIXED_PRECISION = {"off": "float32", "fp16": "mixed_float16", "bf16": "mixed_bfloat16"}

# Sub-stream ids of the stateless random keys of one step.
_D_Z, _D_MIX, _D_NOISE, _D_GP = 1, 2, 3, 4
_G_Z, _G_MIX, _G_NOISE = 11, 12, 13
_D_AUG, _G_AUG = 5, 14  # ADA augmentation of the D inputs of the D step / the G step (one sub-key per D call).


def _state_pairs(target, source):
    """(target, source) variable pairs of two Generators, trainables first, random-generator state excluded."""
    trainable = list(zip(target.trainable_variables, source.trainable_variables))
    keep = lambda vs: [v for v in vs if "seed_generator_state" not in v.path]  # noqa: E731
    other = list(zip(keep(target.non_trainable_variables), keep(source.non_trainable_variables)))
    return trainable, other


def _apply(optimizer, grads, variables):
    """Applies the gradients that exist: blocks above the current resolution get none and stay
    untouched (the official code's zero gradients leave them unchanged too, with beta1 = 0).
    Returns whether all gradients were finite (a non-finite step is skipped by the optimizer)."""
    pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
    grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
    finite = optimizer.check_finite(grads)
    optimizer.apply(grads, variables)
    return finite


def fade_reals(reals, lod):
    """Official `process_reals` fade: blend with the 2x2-averaged copy by lod - floor(lod)."""
    t = tf.cast(lod - tf.floor(lod), reals.dtype)
    return reals + (upsample_nearest(downsample_box(reals)) - reals) * t


class StyleGANTrainer(keras.Model):
    """G, D, Gs and their optimizers; `train_step` runs one D + G iteration.

    Args:
        config: the experiment `Config`.
        seed: int. Base seed of every random draw in training.
        mixed_precision: "off", "fp16" (loss scaling on each network) or "bf16".
        num_workers: int. Workers of a multi-worker strategy (the reals batch each
            worker passes to `train_step` is its share of the global batch).

    Both optimizers are Adam (beta1 0, beta2 0.99, eps 1e-8) wrapped in a
    `LossScaleOptimizer`: dynamic scaling for float16; for float32/bfloat16 a fixed
    scale of 1 that only skips non-finite steps (they are counted).
    """

    def __init__(self, config: Config, seed: int = 0, mixed_precision: str = "off", num_workers: int = 1,
                 **kwargs):
        super().__init__(**kwargs)
        self.experiment = config
        self.seed = int(seed)
        self.mixed_precision = mixed_precision
        self.num_workers = int(num_workers)
        net = config.network
        policy = MIXED_PRECISION[mixed_precision]
        self.G = families.build_generator(net, name="G", dtype=policy)
        self.D = families.build_discriminator(net, name="D", dtype=policy)
        self.Gs = families.build_generator(net, name="Gs", dtype=policy)
        for target, source in sum(_state_pairs(self.Gs, self.G), []):
            target.assign(source)
        self.g_opt = self._make_optimizer("g_opt", config.schedule.g_lrate_base, self.lazy_ratio("G"))
        self.d_opt = self._make_optimizer("d_opt", config.schedule.d_lrate_base, self.lazy_ratio("D"))
        aug = config.augment
        self.augment_pipe = None if aug.mode == "noaug" else AugmentPipe(aug.pipe, name="augment_pipe")
        self.augment_state = AugmentState.from_augment_config(aug, name="augment_state")
        self.augment_state.build()
        self.built = True

    def lazy_ratio(self, network: str) -> float:
        """Minibatch ratio c of lazy regularisation for "G" or "D": Adam runs with lr * c,
        beta1 ** c, beta2 ** c (StyleGAN2). 1 here: v1 regularises in every step."""
        return 1.0

    def _make_optimizer(self, name, learning_rate, ratio=1.0):
        o = self.experiment.optimizer
        adam = keras.optimizers.Adam(learning_rate=learning_rate * ratio, beta_1=o.beta_1**ratio,
                                     beta_2=o.beta_2**ratio, epsilon=o.epsilon, name=f"{name}_adam")
        if self.mixed_precision == "fp16":
            return keras.optimizers.LossScaleOptimizer(adam, name=name)
        return keras.optimizers.LossScaleOptimizer(adam, initial_scale=1.0, dynamic_growth_steps=2**30, name=name)

    def build_optimizers(self):
        """Creates the optimizer variables (call inside `strategy.scope()`, before the first step)."""
        self.g_opt.build(self.G.trainable_variables)
        self.d_opt.build(self.D.trainable_variables)

    def reset_optimizers(self):
        """Zeroes Adam's moments and step count (official `reset_optimizer_state`); loss scales are kept."""
        for opt in (self.g_opt, self.d_opt):
            for v in opt.inner_optimizer.variables:
                v.assign(tf.zeros_like(v))

    def set_lod(self, lod: float):
        """Sets the level of detail of G, D and Gs (the fade-in of the newest block)."""
        for net in (self.G, self.D, self.Gs):
            net.lod.assign(lod)

    def set_learning_rates(self, g_lrate: float, d_lrate: float):
        """The schedule's learning rates, times the lazy-regularisation ratios (`lazy_ratio`)."""
        self.g_opt.learning_rate = g_lrate * self.lazy_ratio("G")
        self.d_opt.learning_rate = d_lrate * self.lazy_ratio("D")

    def checkpoint_variables(self) -> dict[str, list]:
        """The variables a training checkpoint holds, by group, in a stable order."""
        return {"G": list(self.G.weights), "D": list(self.D.weights), "Gs": list(self.Gs.weights),
                "g_opt": list(self.g_opt.variables), "d_opt": list(self.d_opt.variables),
                "augment": list(self.augment_state.weights)}

    def step_phases(self, step: int) -> tuple:
        """The static (Python) phase key of iteration `step`: the loop traces one step function
        per key. v1 runs the same phases in every iteration: ()."""
        return ()

    def snapshot_images(self, z, labels, resolution):
        """Gs images of the snapshot grids (no truncation, fixed noise), upsampled to full size."""
        return self.Gs(z, labels, truncation_psi=1.0, noise_mode="const", resolution=resolution, full_size=True)

    # Random draws ---------------------------------------------------------------------
    def _random(self, step, stream):
        """Stateless key for (seed, step, stream)."""
        key = tf.random.experimental.stateless_fold_in(tf.constant([self.seed, 0], tf.int64), step)
        return tf.random.experimental.stateless_fold_in(key, stream)

    def _share(self, tensor, batch):
        """This replica's strided share of a global-batch tensor: rows r, r + R, r + 2R, ..."""
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        if replicas == 1:
            return tensor
        rid = ctx.replica_id_in_sync_group
        shaped = tf.reshape(tensor, [batch // replicas, replicas] + tensor.shape[1:].as_list())
        return tf.gather(shaped, rid, axis=1)

    def _global_normal(self, key, global_batch, shape):
        return self._share(tf.random.stateless_normal([global_batch] + list(shape), seed=key), global_batch)

    def _fake_w(self, step, streams, labels, global_batch, resolution):
        """Latents -> w for one forward of G in training, with style-mixing regularisation."""
        z_stream, mix_stream = streams
        latent = self.experiment.network.latent_size
        w = self.G.mapping(self._global_normal(self._random(step, z_stream), global_batch, [latent]), labels)
        w_mean = tf.reduce_mean(w[:, 0], axis=0)
        prob = self.experiment.network.style_mixing_prob
        if prob > 0:
            key = self._random(step, mix_stream)
            z2 = self._global_normal(tf.random.experimental.stateless_fold_in(key, 0), global_batch, [latent])
            cur_layers = self.G.active_layers(resolution)
            u = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(key, 1))
            k = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(key, 2), minval=1,
                                            maxval=max(cur_layers, 2), dtype=tf.int32)
            crossover = tf.where(u < prob, k, cur_layers)
            w = self.G.mix_at(w, self.G.mapping(z2, labels), crossover)
        return w, w_mean

    def _noise(self, step, stream, global_batch, resolution):
        """This replica's share of the per-layer noise maps of one G forward."""
        key = self._random(step, stream)
        return [self._global_normal(tf.random.experimental.stateless_fold_in(key, i), global_batch, [h, w_, 1])
                for i, (h, w_) in enumerate(self._noise_shapes(resolution))]

    def _noise_shapes(self, resolution):
        return self.G.synthesis_network.noise_shapes(resolution)

    def _synthesize(self, w, noise, resolution):
        """G's synthesis in training, at the current resolution."""
        return self.G.synthesis(w, resolution=resolution, noise=noise)

    def _fakes(self, step, streams, labels, global_batch, resolution, **synthesis_kwargs):
        w, w_mean = self._fake_w(step, streams[:2], labels, global_batch, resolution)
        noise = self._noise(step, streams[2], global_batch, resolution)
        return self._synthesize(w, noise, resolution, **synthesis_kwargs), w_mean

    # Cross-replica state updates --------------------------------------------------------
    def _update_w_avg(self, w_mean):
        beta = self.experiment.network.w_avg_beta

        def merge(strategy, value):
            mean = strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
            self.G.w_avg.assign(mean + (self.G.w_avg - mean) * beta)

        if beta < 1.0:
            tf.distribute.get_replica_context().merge_call(merge, args=(w_mean,))

    def _update_gs(self, beta):
        def merge(strategy, beta):
            beta = strategy.experimental_local_results(beta)[0] if hasattr(beta, "values") else beta
            trainable, other = _state_pairs(self.Gs, self.G)
            for target, source in trainable:
                target.assign(source + (target - source) * beta)
            for target, source in other:
                target.assign(source)

        tf.distribute.get_replica_context().merge_call(merge, args=(beta,))

    # Discriminator augmentation (ADA) -------------------------------------------------------
    def _augment(self, images, step, stream, index=0):
        """The images as D sees them: the ADA pipeline with this step's p (the identity when
        augment.mode is noaug), its parameters drawn for the global batch from
        (seed, step, stream, index), this replica's share applied."""
        if self.augment_pipe is None:
            return images
        ctx = tf.distribute.get_replica_context()
        global_batch = int(images.shape[0]) * (ctx.num_replicas_in_sync if ctx is not None else 1)
        key = tf.random.experimental.stateless_fold_in(self._random(step, stream), index)
        _, height, width, channels = (int(d) for d in images.shape)
        params = self.augment_pipe.sample(key, global_batch, self.augment_state.current_p(), height, width,
                                          channels)
        return self.augment_pipe.apply(images, share_params(params, lambda v: self._share(v, global_batch)))

    def augmented_D(self, step, stream):
        """D behind the augmentation, for the losses: its n-th call augments with sub-key n. D itself
        when augment.mode is noaug."""
        return self.D if self.augment_pipe is None else _AugmentedD(self, step, stream)

    def _update_augment(self, real_scores, step, global_batch):
        """Adds sign(D(reals)) of this step to the heuristic (summed over replicas) and, every
        `augment.interval` steps, moves p (ada); returns the step's augmentation statistics."""
        signs = tf.stack([tf.reduce_sum(tf.sign(real_scores)), tf.cast(tf.size(real_scores), tf.float32)])

        def merge(strategy, signs, step):
            total = strategy.reduce(tf.distribute.ReduceOp.SUM, signs, axis=None)
            step = strategy.experimental_local_results(step)[0] if hasattr(step, "values") else step
            self.augment_state.update(total[0], total[1], step, global_batch)

        tf.distribute.get_replica_context().merge_call(merge, args=(signs, step))
        return {"augment/p": self.augment_state.current_p(), "augment/rt": tf.identity(self.augment_state.rt),
                "augment/signs_real": signs[0] / signs[1]}

    # The iteration ------------------------------------------------------------------------
    def train_step(self, reals, labels, lod, gs_beta, step):
        """`iteration` under its former name (v1 only: the families with a Keras `fit()` path
        use `train_step(data)` for that)."""
        return self.iteration(reals, labels, lod, gs_beta, step)

    def iteration(self, reals, labels, lod, gs_beta, step, phases=()):
        """One D step, the Gs update and one G step (per replica): what the loop calls.

        Args:
            reals: this worker's reals [B_worker, H, W, C] float in [-1, 1]; H sets the resolution.
            labels: [B_worker, label_size] one-hot, or None.
            lod: scalar float32 level of detail, for the fade of the reals; the networks read
                their own `lod` variables, which the loop sets (`set_lod`).
            gs_beta: scalar float32 EMA decay of Gs for this minibatch.
            step: scalar int64 iteration index (keys the random draws).
            phases: `step_phases(step)` (unused: the same every iteration).
        Returns:
            dict of per-replica scalar statistics.
        """
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync
        worker_batch = int(reals.shape[0])
        global_batch = worker_batch * self.num_workers
        resolution = int(reals.shape[1])
        loss_cfg = self.experiment.loss
        reals = self._share_worker(reals, worker_batch)
        labels = None if labels is None else self._share_worker(labels, worker_batch)
        reals = fade_reals(reals, lod)

        # D step.
        fakes, w_mean_d = self._fakes(step, (_D_Z, _D_MIX, _D_NOISE), labels, global_batch, resolution)
        d_seen = self.augmented_D(step, _D_AUG)
        with tf.GradientTape() as tape:
            scale = self.d_opt.dynamic_scale
            if loss_cfg.d_loss == "logistic_r1":
                d_loss, d_stats = losses.d_logistic_r1(d_seen, reals, fakes, labels, loss_cfg.r1_gamma, scale)
            else:
                mix = tf.random.stateless_uniform([global_batch, 1, 1, 1], self._random(step, _D_GP))
                d_loss, d_stats = losses.d_wgan_gp(d_seen, reals, fakes, labels, self._share(mix, global_batch),
                                                   loss_cfg.wgan_lambda, loss_cfg.wgan_epsilon,
                                                   loss_cfg.wgan_target, scale)
            d_avg = tf.nn.compute_average_loss(d_loss, global_batch_size=global_batch)
            d_scaled = self.d_opt.scale_loss(d_avg)
        d_finite = _apply(self.d_opt, tape.gradient(d_scaled, self.D.trainable_variables),
                          self.D.trainable_variables)
        self._update_w_avg(w_mean_d)
        self._update_gs(gs_beta)

        # G step.
        g_seen = self.augmented_D(step, _G_AUG)
        with tf.GradientTape() as tape:
            fakes, w_mean_g = self._fakes(step, (_G_Z, _G_MIX, _G_NOISE), labels, global_batch, resolution)
            if loss_cfg.g_loss == "logistic_ns":
                g_loss, g_stats = losses.g_logistic_ns(g_seen, fakes, labels)
            else:
                g_loss, g_stats = losses.g_wgan(g_seen, fakes, labels)
            g_avg = tf.nn.compute_average_loss(g_loss, global_batch_size=global_batch)
            g_scaled = self.g_opt.scale_loss(g_avg)
        g_finite = _apply(self.g_opt, tape.gradient(g_scaled, self.G.trainable_variables),
                          self.G.trainable_variables)
        self._update_w_avg(w_mean_g)

        # Per-replica means; the loop averages them over replicas.
        stats = {"loss/D": d_avg * replicas, "loss/G": g_avg * replicas,
                 "scores/real": tf.reduce_mean(d_stats["real_scores"]),
                 "scores/fake": tf.reduce_mean(d_stats["fake_scores"]),
                 "nonfinite/D": 1.0 - tf.cast(d_finite, tf.float32),
                 "nonfinite/G": 1.0 - tf.cast(g_finite, tf.float32),
                 "loss_scale/D": tf.identity(self.d_opt.dynamic_scale),
                 "loss_scale/G": tf.identity(self.g_opt.dynamic_scale)}
        for name in ("r1_penalty", "gradient_penalty"):
            if name in d_stats:
                stats[f"loss/{name}"] = tf.reduce_mean(d_stats[name])
        stats.update(self._update_augment(d_stats["real_scores"], step, global_batch))
        return stats

    def _share_worker(self, tensor, worker_batch):
        """This replica's strided share of the worker's batch (replicas are numbered per worker)."""
        ctx = tf.distribute.get_replica_context()
        local = ctx.num_replicas_in_sync // self.num_workers
        if local == 1:
            return tensor
        rid = ctx.replica_id_in_sync_group % local
        shaped = tf.reshape(tensor, [worker_batch // local, local] + tensor.shape[1:].as_list())
        return tf.gather(shaped, rid, axis=1)


class _AugmentedD:
    """D(augment(images), labels) for the losses; the n-th call uses the n-th sub-key of its stream."""

    def __init__(self, trainer, step, stream):
        self.trainer, self.step, self.stream, self.calls = trainer, step, stream, 0

    def __call__(self, images, labels=None, **kwargs):
        images = self.trainer._augment(images, self.step, self.stream, self.calls)
        self.calls += 1
        return self.trainer.D(images, labels, **kwargs)
