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
"""

from __future__ import annotations

import keras
import tensorflow as tf

from stylegan_tf import families, losses
from stylegan_tf.config import Config
from stylegan_tf.networks.layers import downsample_box, upsample_nearest

MIXED_PRECISION = {"off": "float32", "fp16": "mixed_float16", "bf16": "mixed_bfloat16"}

# Sub-stream ids of the stateless random keys of one step.
_D_Z, _D_MIX, _D_NOISE, _D_GP = 1, 2, 3, 4
_G_Z, _G_MIX, _G_NOISE = 11, 12, 13


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
        self.g_opt = self._make_optimizer("g_opt", config.schedule.g_lrate_base)
        self.d_opt = self._make_optimizer("d_opt", config.schedule.d_lrate_base)
        self.built = True

    def _make_optimizer(self, name, learning_rate):
        o = self.experiment.optimizer
        adam = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=o.beta_1, beta_2=o.beta_2,
                                     epsilon=o.epsilon, name=f"{name}_adam")
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
        self.g_opt.learning_rate = g_lrate
        self.d_opt.learning_rate = d_lrate

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

    def _fakes(self, step, streams, labels, global_batch, resolution):
        w, w_mean = self._fake_w(step, streams[:2], labels, global_batch, resolution)
        key = self._random(step, streams[2])
        noise = [self._global_normal(tf.random.experimental.stateless_fold_in(key, i), global_batch, [h, w_, 1])
                 for i, (h, w_) in enumerate(self.G.synthesis_network.noise_shapes(resolution))]
        return self.G.synthesis(w, resolution=resolution, noise=noise), w_mean

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

    # The iteration ------------------------------------------------------------------------
    def train_step(self, reals, labels, lod, gs_beta, step):
        """One D step, the Gs update and one G step (per replica).

        Args:
            reals: this worker's reals [B_worker, H, W, C] float in [-1, 1]; H sets the resolution.
            labels: [B_worker, label_size] one-hot, or None.
            lod: scalar float32 level of detail, for the fade of the reals; the networks read
                their own `lod` variables, which the loop sets (`set_lod`).
            gs_beta: scalar float32 EMA decay of Gs for this minibatch.
            step: scalar int64 iteration index (keys the random draws).
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
        with tf.GradientTape() as tape:
            scale = self.d_opt.dynamic_scale
            if loss_cfg.d_loss == "logistic_r1":
                d_loss, d_stats = losses.d_logistic_r1(self.D, reals, fakes, labels, loss_cfg.r1_gamma, scale)
            else:
                mix = tf.random.stateless_uniform([global_batch, 1, 1, 1], self._random(step, _D_GP))
                d_loss, d_stats = losses.d_wgan_gp(self.D, reals, fakes, labels, self._share(mix, global_batch),
                                                   loss_cfg.wgan_lambda, loss_cfg.wgan_epsilon,
                                                   loss_cfg.wgan_target, scale)
            d_avg = tf.nn.compute_average_loss(d_loss, global_batch_size=global_batch)
            d_scaled = self.d_opt.scale_loss(d_avg)
        d_finite = _apply(self.d_opt, tape.gradient(d_scaled, self.D.trainable_variables),
                          self.D.trainable_variables)
        self._update_w_avg(w_mean_d)
        self._update_gs(gs_beta)

        # G step.
        with tf.GradientTape() as tape:
            fakes, w_mean_g = self._fakes(step, (_G_Z, _G_MIX, _G_NOISE), labels, global_batch, resolution)
            if loss_cfg.g_loss == "logistic_ns":
                g_loss, g_stats = losses.g_logistic_ns(self.D, fakes, labels)
            else:
                g_loss, g_stats = losses.g_wgan(self.D, fakes, labels)
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
