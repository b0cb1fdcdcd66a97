"""The training model every family shares: G, D, the EMA generator Gs, two optimizers, the draws.

    trainer = Trainer(config, seed=0)       # the family's loss from the registry (config.network.family)
    stats = trainer.iteration(reals, labels, lod, gs_beta, step, trainer.step_phases(step))

One iteration runs the phases of the family's loss (`stylegan_tf.training.phases`): v1 "D", "G"
(with the Gs update between them, as the official v1 loop); StyleGAN2/3 "Gmain", "Greg", "Dmain",
"Dreg" (the regularisers lazy) then Gs. Each phase is one optimizer step of its network; a
parameter outside the phase's graph gets a zero gradient, as in the official code (so Adam still
decays its second moment). The training loop calls `iteration` under `strategy.run` in one
`tf.function` per phase tuple; Keras' `fit()` calls `train_step(data)` (every family).

Randomness: every random tensor is a named draw of the global batch from `self.draws`
(`stylegan_tf.training.draws`: by default stateless, keyed by (seed, iteration, name)); each
replica takes its strided share of it, as of the reals. So a resumed run continues exactly, a
step on several replicas is the step on one device at the same global batch (minibatch-stddev
groups inside each replica, as the official multi-GPU code), and an iteration can be replayed
from given draws (`GivenDraws`).

Reals: each replica gets its own share (uint8 from the loop's input pipeline: scaled to [-1, 1]
and mirrored on the device). Labels: the reals come with the dataset's labels; the fakes' labels
are drawn from the dataset's labels (`set_label_pool`) per phase, as official ADA (`gen_c`) and
v1's G step (`get_random_labels_tf`; v1's D step generates with the reals' labels, as official).

Execution: with `training.batch_gpu` each phase accumulates the gradients of several rounds
(`phase_gradients`, official `batch_gpu`); with `xla` the networks' passes are XLA-compiled
(`xla_call`), the draws, optimizer steps and merges staying outside.

State kept on replicas changes only in cross-replica context (`merge_call`): `w_avg`
(`lerp(mean w, w_avg, w_avg_beta)` over the global batch), Gs (`lerp(G, Gs, beta)` for
trainables, copies of the rest), ADA's p (from sign(D(reals)) of every D phase on the reals,
summed over replicas), and the family's state (StyleGAN2's pl_mean).

Optimizers: Adam (beta1 0, beta2 0.99, eps 1e-8; `OptimizerConfig.epsilon_form` chooses the
TF or torch form, `training.adam`), lr, beta1 and beta2 adjusted by the lazy ratio c, in a
`SyncedLossScaleOptimizer` (`training.loss_scale`): one finite check over all replicas before
any weight changes; dynamic scaling for float16; for float32/bfloat16 a fixed scale of 1 that
only skips non-finite steps (the loop counts them).
"""

from __future__ import annotations

import copy

import keras
import tensorflow as tf

from stylegan_tf import families
from stylegan_tf.augment.adaptive import AugmentState
from stylegan_tf.augment.pipeline import AugmentPipe, share_params
from stylegan_tf.config import Config
from stylegan_tf.errors import UserError
from stylegan_tf.schedule import gs_beta as ema_beta
from stylegan_tf.training.adam import make_adam
from stylegan_tf.training.draws import StatelessDraws
from stylegan_tf.training.freeze import freeze_discriminator
from stylegan_tf.training.loss_scale import SyncedLossScaleOptimizer
from stylegan_tf.training.options import MIXED_PRECISION
from stylegan_tf.training.phases import phase_network


def _state_pairs(target, source):
    """(target, source) variable pairs of two Generators, trainables first, random-generator state excluded."""
    trainable = list(zip(target.trainable_variables, source.trainable_variables))
    keep = lambda vs: [v for v in vs if "seed_generator_state" not in v.path]  # noqa: E731
    other = list(zip(keep(target.non_trainable_variables), keep(source.non_trainable_variables)))
    return trainable, other


def _apply(optimizer, grads, variables):
    """Applies one phase's gradients, zeros for the variables outside its graph (official: every
    parameter gets a gradient). Returns whether all were finite on every replica (else the step is
    skipped everywhere; `SyncedLossScaleOptimizer`)."""
    grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
    return optimizer.apply(grads, variables)


def _local(value):
    """A value given to `merge_call`: the first replica's (the values are equal on all)."""
    strategy = tf.distribute.get_strategy()
    return strategy.experimental_local_results(value)[0] if hasattr(value, "values") else value


def distribute_reals(strategy, *tensors):
    """Global-batch tensors as per-replica values: replica r gets rows r, r + R, ... (what
    `Trainer.iteration` takes; on one device the tensors themselves)."""
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return tensors if len(tensors) > 1 else tensors[0]
    out = tuple(None if t is None else strategy.experimental_distribute_values_from_function(
        lambda ctx, t=t: t[ctx.replica_id_in_sync_group::replicas]) for t in tensors)
    return out if len(out) > 1 else out[0]


class Iteration:
    """One replica's view of one iteration: what the family's loss computes its phases from.

    Attributes: trainer, reals, labels (this replica's share), step, global_batch, lod.
    """

    def __init__(self, trainer, reals, labels, step, global_batch: int, lod=0.0):
        self.trainer, self.reals, self.labels, self.step = trainer, reals, labels, step
        self.global_batch, self.lod = int(global_batch), lod
        self.round, self.rounds = 0, 1   # Gradient accumulation (`training.batch_gpu`): this round of how many.
        self.real_scores: list = []       # sign(D(reals)) inputs of ADA's heuristic, per D phase on reals
        self._d_calls: dict[str, int] = {}

    @property
    def config(self) -> Config:
        return self.trainer.experiment

    @property
    def replicas(self) -> int:
        ctx = tf.distribute.get_replica_context()
        return ctx.num_replicas_in_sync if ctx is not None else 1

    @property
    def resolution(self) -> int:
        return int(self.reals.shape[1]) if self.reals is not None else self.config.network.resolution

    def in_round(self, index: int, rounds: int) -> "Iteration":
        """This iteration's accumulation round `index` of `rounds`: the reals, labels and every draw
        of the phase are the round's consecutive part of this replica's share (official `batch_gpu`)."""
        view = copy.copy(self)
        view.round, view.rounds = index, rounds
        size = int(self.reals.shape[0]) // rounds
        view.reals = self.reals[index * size:(index + 1) * size]
        view.labels = None if self.labels is None else self.labels[index * size:(index + 1) * size]
        return view

    # Draws of the global batch, this replica's share ---------------------------------------
    def share(self, tensor, batch: int, rounds: bool = True):
        """This replica's strided share of a global-batch tensor (rows r, r + R, r + 2R, ...) and, with
        gradient accumulation, the current round's part of it."""
        replicas = self.replicas
        if replicas > 1:
            rid = tf.distribute.get_replica_context().replica_id_in_sync_group
            shaped = tf.reshape(tensor, [batch // replicas, replicas] + tensor.shape[1:].as_list())
            tensor = tf.gather(shaped, rid, axis=1)
        if rounds and self.rounds > 1:
            size = batch // replicas // self.rounds
            tensor = tensor[self.round * size:(self.round + 1) * size]
        return tensor

    def normal(self, name: str, batch: int, shape):
        return self.share(self.trainer.draws.normal(self.step, name, [batch] + list(shape)), batch)

    def uniform(self, name: str, batch: int, shape):
        return self.share(self.trainer.draws.uniform(self.step, name, [batch] + list(shape)), batch)

    def fake_labels(self, phase: str, batch: int):
        """Labels of `batch` (global) fakes of a phase, drawn from the dataset's labels; None if unconditional."""
        if not self.config.network.label_size:
            return None
        pool = self.trainer.label_pool
        if pool is None:
            raise UserError("Conditional training draws the labels of the fakes from the dataset's labels: call "
                            "trainer.set_label_pool(dataset.labels) first (the training loop does).")
        index = self.trainer.draws.indices(self.step, f"{phase}/c", batch, int(pool.shape[0]))
        return self.share(tf.gather(pool, index), batch)

    # G ---------------------------------------------------------------------------------
    def fake_w(self, phase: str, batch: int, labels):
        """w of `batch` (global) fakes with style-mixing regularisation, and the mean of w[:, 0]."""
        G, net = self.trainer.G, self.config.network
        w = G.mapping(self.normal(f"{phase}/z", batch, [net.latent_size]), labels)
        w_mean = tf.reduce_mean(w[:, 0], axis=0)
        if net.style_mixing_prob > 0:
            layers = G.active_layers(self.resolution)
            name = f"{phase}/crossover" + (f"/round{self.round}" if self.rounds > 1 else "")   # official: per round
            crossover = self.trainer.draws.crossover(self.step, name, net.style_mixing_prob, layers)
            w = G.mix_at(w, G.mapping(self.normal(f"{phase}/mix_z", batch, [net.latent_size]), labels), crossover)
        return w, w_mean

    def noise(self, phase: str, batch: int):
        """The per-layer noise maps of one G forward (None for families without noise inputs)."""
        if not families.get(self.config.network.family).noise_inputs:
            return None
        shapes = self.trainer.G.synthesis_network.noise_shapes(self.resolution)
        return [self.normal(f"{phase}/noise{i}", batch, [h, w, 1]) for i, (h, w) in enumerate(shapes)]

    def synthesize(self, w, noise, update_emas: bool = False):
        """G's training synthesis of w (the family's `synthesize`), XLA-compiled with the trainer's `xla`
        (not a pass whose synthesis updates EMAs itself: their cross-replica assignments stay outside XLA)."""
        trainer = self.trainer
        if trainer.xla and not (update_emas and trainer.loss.synthesis_updates_emas):
            return trainer.xla_call("synthesis", self.resolution)(w, noise)
        return trainer.loss.synthesize(trainer.G, w, noise, self.resolution, update_emas)

    def fakes(self, phase: str, batch: int | None = None, labels=None):
        """(images, labels) of `batch` (default: the global minibatch) fakes of a phase, with the given
        labels (this replica's) or labels drawn from the dataset's; G's tracked statistics move if the
        phase is one of the loss's `ema_phases`."""
        batch = self.global_batch if batch is None else batch
        labels = self.fake_labels(phase, batch) if labels is None else labels
        w, w_mean = self.fake_w(phase, batch, labels)
        update = phase in self.trainer.loss.ema_phases
        images = self.synthesize(w, self.noise(phase, batch), update)
        if update:
            self.update_w_avg(w_mean)
        return images, labels

    # D -----------------------------------------------------------------------------------
    def augment(self, images, phase: str):
        """The images as D sees them in a phase: the ADA pipeline at this step's p, the k-th call
        of the phase drawing `<phase>/aug<k>` for the global batch (the identity without ADA)."""
        trainer = self.trainer
        if trainer.augment_pipe is None:
            return images
        k = self._d_calls.get(phase, 0)
        self._d_calls[phase] = k + 1
        batch = int(images.shape[0]) * self.replicas
        _, height, width, channels = (int(d) for d in images.shape)
        params = trainer.draws.augment(self.step, f"{phase}/aug{k}", trainer.augment_pipe, batch,
                                       trainer.augment_state.current_p(), height, width, channels)
        return trainer.augment_pipe.apply(images, share_params(params, lambda v: self.share(v, batch, rounds=False)))

    def scores(self, images, labels):
        """D(images) as float32 [N] (XLA-compiled with the trainer's `xla`)."""
        D = self.trainer.xla_call("D") if self.trainer.xla else self.trainer.D
        return tf.cast(tf.reshape(D(images, labels), [-1]), tf.float32)

    def D(self, phase: str):
        """D as a phase's loss sees it: `D(images, labels)` -> scores, through the family's `run_D`."""
        return lambda images, labels=None: self.trainer.loss.run_D(self, phase, images, labels)

    def count_real_signs(self, scores):
        """Adds D(reals) scores of a phase to ADA's overfitting heuristic (official: every D phase on reals)."""
        self.real_scores.append(tf.stop_gradient(scores))

    # Cross-replica ------------------------------------------------------------------------
    def mean(self, value):
        """Mean of a per-replica tensor's mean over all replicas (no gradient)."""
        ctx = tf.distribute.get_replica_context()
        return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, tf.stop_gradient(tf.reduce_mean(value)))

    def average(self, per_sample, batch: int | None = None):
        """A per-sample loss averaged over its round of the global batch (default: the minibatch;
        summed over replicas: the round's global mean; summed over the rounds, as the official
        gradient accumulation does, rounds x the mean)."""
        return tf.nn.compute_average_loss(per_sample, global_batch_size=(batch or self.global_batch) // self.rounds)

    def assign(self, variables, values):
        """Sets state variables in cross-replica context to values equal on every replica; a
        non-finite value (a float16 overflow, in a step the optimizer skips) leaves its variable."""
        def merge(strategy, *values):
            for variable, value in zip(variables, values):
                value = strategy.experimental_local_results(value)[0]
                variable.assign(tf.where(tf.math.is_finite(value), value, variable))

        tf.distribute.get_replica_context().merge_call(merge, args=tuple(values))

    def update_w_avg(self, w_mean):
        """w_avg <- lerp(mean w over the global batch, w_avg, w_avg_beta) (official dlatent_avg tracking)."""
        G, beta = self.trainer.G, self.config.network.w_avg_beta

        def merge(strategy, value):
            mean = strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
            G.w_avg.assign(mean + (G.w_avg - mean) * beta)

        if beta < 1.0:
            tf.distribute.get_replica_context().merge_call(merge, args=(w_mean,))


class Trainer(keras.Model):
    """G, D, Gs, their optimizers and the family's loss; `iteration` runs one training iteration.

    Args:
        config: the experiment `Config` (its network family names the networks and the loss).
        seed: int. Base seed of every random draw in training.
        mixed_precision: "off", "fp16" (loss scaling on each network) or "bf16".
        draws: the random source (`stylegan_tf.training.draws`); default `StatelessDraws(seed)`.
        xla: compile the networks' forward and backward passes of every phase (D's calls, G's
            synthesis and their gradients, also the second-order ones of R1 and path length) with
            XLA (`jit_compile`), per replica. The draws, the optimizer steps, the EMAs and the
            cross-replica merges stay outside, so a step draws the same with and without XLA and a
            run resumes exactly across the switch. StyleGAN3's D pass over fakes (which updates the
            magnitude EMAs) runs uncompiled.
    """

    def __init__(self, config: Config, seed: int = 0, mixed_precision: str = "off", draws=None, xla: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        config.validate()
        self.experiment = config
        self.seed = int(seed)
        self.mixed_precision = mixed_precision
        self.draws = draws if draws is not None else StatelessDraws(seed)
        self.xla = bool(xla)
        self._compiled = {}
        family = families.get(config.network.family)
        self.loss = family.loss_class()(config)
        policy = MIXED_PRECISION[mixed_precision]
        self.G = families.build_generator(config.network, name="G", dtype=policy)
        self.D = families.build_discriminator(config.network, name="D", dtype=policy)
        self.frozen_d_layers = freeze_discriminator(self.D, config.training.freeze_d)   # FreezeD (--freezed)
        self.Gs = families.build_generator(config.network, name="Gs", dtype=policy)
        for target, source in sum(_state_pairs(self.Gs, self.G), []):
            target.assign(source)
        self.g_opt = self._make_optimizer("g_opt", config.schedule.g_lrate_base, self.loss.lazy_ratio("G"))
        self.d_opt = self._make_optimizer("d_opt", config.schedule.d_lrate_base, self.loss.lazy_ratio("D"))
        aug = config.augment
        self.augment_pipe = None if aug.mode == "noaug" else AugmentPipe(aug.pipe, name="augment_pipe")
        self.augment_state = AugmentState.from_augment_config(aug, name="augment_state")
        self.augment_state.build()
        self.loss.build(self)
        self.iteration_counter = self.add_weight(name="iteration_counter", shape=(), dtype="int64",
                                                 initializer="zeros", trainable=False)
        self.label_pool = None
        self.built = True

    # Set-up -----------------------------------------------------------------------------
    def _make_optimizer(self, name, learning_rate, ratio=1.0):
        o = self.experiment.optimizer
        adam = make_adam(o.epsilon_form, learning_rate * ratio, o.beta_1**ratio, o.beta_2**ratio, o.epsilon,
                         f"{name}_adam")
        return self._wrap(adam, name)

    def _wrap(self, optimizer, name):
        return SyncedLossScaleOptimizer(optimizer, dynamic=self.mixed_precision == "fp16", name=name)

    def build_optimizers(self):
        """Creates the optimizer variables (call inside `strategy.scope()`, before the first step)."""
        self.g_opt.build(self.G.trainable_variables)
        self.d_opt.build(self.D.trainable_variables)

    def set_label_pool(self, labels):
        """The dataset's labels [M, label_size]: the fakes' labels are drawn from them."""
        self.label_pool = None if labels is None else tf.constant(labels, tf.float32)

    def reset_optimizers(self):
        """Zeroes Adam's moments and step count (official `reset_optimizer_state`); learning rates and
        loss scales are kept."""
        for opt in (self.g_opt, self.d_opt):
            inner = opt.inner_optimizer
            for v in [inner.iterations, *inner._momentums, *inner._velocities]:
                v.assign(tf.zeros_like(v))

    def set_lod(self, lod: float):
        """Sets the level of detail of G, D and Gs (progressive growing: the fade-in of the newest block)."""
        for net in (self.G, self.D, self.Gs):
            net.lod.assign(lod)

    def set_learning_rates(self, g_lrate: float, d_lrate: float):
        """The schedule's learning rates, times the lazy-regularisation ratios."""
        self.g_opt.learning_rate = g_lrate * self.loss.lazy_ratio("G")
        self.d_opt.learning_rate = d_lrate * self.loss.lazy_ratio("D")

    def checkpoint_variables(self) -> dict[str, list]:
        """The variables a training checkpoint holds, by group, in a stable order ("state": the family's
        state, then the iteration counter of the `fit()` path)."""
        return {"G": list(self.G.weights), "D": list(self.D.weights), "Gs": list(self.Gs.weights),
                "g_opt": list(self.g_opt.variables), "d_opt": list(self.d_opt.variables),
                "augment": list(self.augment_state.weights),
                "state": [*self.loss.state_variables(), self.iteration_counter]}

    def step_phases(self, step: int) -> tuple[str, ...]:
        """The static phase names of iteration `step` (one trace per distinct tuple)."""
        return tuple(self.loss.phases(int(step)))

    def snapshot_images(self, z, labels, resolution):
        """Gs images of the snapshot grids (no truncation, fixed noise) at the training resolution."""
        return self.Gs(z, labels, truncation_psi=1.0, noise_mode="const", **self.loss.snapshot_kwargs(resolution))

    def xla_call(self, network: str, resolution: int | None = None):
        """The XLA-compiled call of "D" (images, labels) or of G's training "synthesis" (w, noise) at
        `resolution`; one `tf.function(jit_compile=True)` each, traced per input signature."""
        key = (network, resolution)
        if key not in self._compiled:
            if network == "D":
                fn = lambda images, labels: self.D(images, labels)   # noqa: E731
            else:
                fn = lambda w, noise: self.loss.synthesize(self.G, w, noise, resolution, False)   # noqa: E731
            self._compiled[key] = tf.function(fn, jit_compile=True, autograph=False)
        return self._compiled[key]

    def context(self, reals=None, labels=None, step=0, global_batch: int | None = None, lod=0.0) -> Iteration:
        """An `Iteration` on given reals (this replica's), e.g. to evaluate one phase's objective."""
        ctx = tf.distribute.get_replica_context()
        batch = global_batch or int(reals.shape[0]) * (ctx.num_replicas_in_sync if ctx is not None else 1)
        return Iteration(self, reals, labels, tf.cast(step, tf.int64), batch, lod)

    # The iteration ------------------------------------------------------------------------
    def iteration(self, reals, labels, lod, gs_beta, step, phases=None):
        """One iteration on this worker's batch (per replica): what the training loop calls.

        Args:
            reals: this replica's share of the global batch [B / replicas, H, W, C] (replica r holds
                rows r, r + R, ...: `distribute_reals`, or the loop's input pipeline): uint8 as
                stored (scaled to [-1, 1] and, with `training.mirror_augment`, flipped here, on the
                device) or float in [-1, 1] (used as given). H sets the resolution.
            labels: this replica's [B / replicas, label_size] one-hot, or None.
            lod: scalar float32 level of detail (v1's fade of the reals; the networks read their
                own `lod` variables, which the loop sets with `set_lod`).
            gs_beta: scalar float32 EMA decay of Gs for this minibatch.
            step: scalar int64 iteration index (keys the random draws).
            phases: `step_phases(step)`.
        Returns:
            dict of per-replica scalar statistics (the loop averages them over replicas).
        """
        if phases is None:
            raise UserError("Trainer.iteration needs phases=trainer.step_phases(step) (static Python values).")
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        it = Iteration(self, reals, labels, step, int(reals.shape[0]) * replicas, lod)
        return self._run(it, gs_beta, tuple(phases))

    def _run(self, it: Iteration, gs_beta, phases):
        it.reals = self.loss.prepare_reals(self._reals_on_device(it), it.lod)
        nets = {"G": (self.G, self.g_opt), "D": (self.D, self.d_opt)}
        finite = {"G": tf.constant(True), "D": tf.constant(True)}
        stats = {}
        for phase in phases:
            net = phase_network(phase)
            model, opt = nets[net]
            grads, phase_stats = self.phase_gradients(phase, it, model, opt)
            finite[net] = tf.logical_and(finite[net], _apply(opt, grads, model.trainable_variables))
            stats.update(phase_stats)
            if phase == self.loss.gs_after:
                self._update_gs(gs_beta)
        if self.loss.gs_after not in phases:
            self._update_gs(gs_beta)
        stats.update(self.loss.iteration_stats(it))
        stats.update({"nonfinite/G": 1.0 - tf.cast(finite["G"], tf.float32),
                      "nonfinite/D": 1.0 - tf.cast(finite["D"], tf.float32),
                      "loss_scale/G": tf.identity(self.g_opt.dynamic_scale),
                      "loss_scale/D": tf.identity(self.d_opt.dynamic_scale)})
        stats.update(self._update_augment(it))
        return stats

    def accumulation_rounds(self, it: Iteration) -> int:
        """Rounds of gradient accumulation: this replica's share of the minibatch // `training.batch_gpu`."""
        batch_gpu = self.experiment.training.batch_gpu
        per_replica = it.global_batch // it.replicas
        if batch_gpu is None or batch_gpu >= per_replica:
            return 1
        if per_replica % batch_gpu:
            raise UserError(f"--batch-gpu {batch_gpu} must divide the per-replica batch {per_replica} (minibatch "
                            f"{it.global_batch} over {it.replicas} replicas).")
        return per_replica // batch_gpu

    def phase_gradients(self, phase: str, it: Iteration, model, opt):
        """(scaled gradients of the phase's objective for `model`'s trainable variables, summed over the
        accumulation rounds; the statistics, averaged over the rounds)."""
        variables = model.trainable_variables
        rounds = self.accumulation_rounds(it)
        total, stats = None, {}
        for index in range(rounds):
            view = it.in_round(index, rounds) if rounds > 1 else it
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch([v.value for v in variables])
                loss, round_stats = self.loss.objective(phase, view)
                scaled = opt.scale_loss(loss)
            grads = tape.gradient(scaled, variables)
            total = grads if total is None else [a if b is None else b if a is None else a + b
                                                 for a, b in zip(total, grads)]
            for k, v in round_stats.items():
                stats[k] = stats[k] + v / rounds if k in stats else v / rounds
        return total, stats

    def _reals_on_device(self, it: Iteration):
        """uint8 reals scaled to [-1, 1] and, with `training.mirror_augment`, flipped left-right with
        probability 1/2 (draw `reals/mirror` of the global batch, official `mirror_augment`); float
        reals as given (a `fit()` dataset that did both)."""
        reals = it.reals
        if reals.dtype != tf.uint8:
            return reals
        reals = tf.cast(reals, tf.float32) / 127.5 - 1.0
        if self.experiment.training.mirror_augment:
            flip = it.uniform("reals/mirror", it.global_batch, []) < 0.5
            reals = tf.where(flip[:, None, None, None], tf.reverse(reals, axis=[2]), reals)
        return reals

    # Cross-replica state updates --------------------------------------------------------
    def _update_gs(self, beta):
        def merge(strategy, beta):
            beta = _local(beta)
            trainable, other = _state_pairs(self.Gs, self.G)
            for target, source in trainable:
                target.assign(source + (target - source) * beta)
            for target, source in other:
                target.assign(source)

        tf.distribute.get_replica_context().merge_call(merge, args=(beta,))

    def _update_augment(self, it: Iteration):
        """Adds sign(D(reals)) of this iteration's D phases to ADA's heuristic (summed over replicas)
        and, every `augment.interval` steps, moves p; returns the augmentation statistics."""
        scores = tf.concat(it.real_scores, 0) if it.real_scores else tf.zeros([0])
        signs = tf.stack([tf.reduce_sum(tf.sign(scores)), tf.cast(tf.size(scores), tf.float32)])

        def merge(strategy, signs, step):
            total = strategy.reduce(tf.distribute.ReduceOp.SUM, signs, axis=None)
            self.augment_state.update(total[0], total[1], _local(step), it.global_batch)

        tf.distribute.get_replica_context().merge_call(merge, args=(signs, it.step))
        return {"augment/p": self.augment_state.current_p(), "augment/rt": tf.identity(self.augment_state.rt),
                "augment/signs_real": signs[0] / tf.maximum(signs[1], 1.0)}

    # Keras fit() --------------------------------------------------------------------------
    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Optionally replaces the two optimizers (wrapped like the defaults; their learning rates
        and betas are used as given); other arguments go to `keras.Model.compile`."""
        for name, optimizer in (("g_opt", g_optimizer), ("d_opt", d_optimizer)):
            if optimizer is not None:
                if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                    optimizer = optimizer.inner_optimizer
                setattr(self, name, self._wrap(optimizer, name))
        with self.distribute_strategy.scope():
            self.build_optimizers()
        super().compile(optimizer=None, **kwargs)

    def train_step(self, data, gs_beta=None, step=None, phases=None):
        """One iteration on a batch of `fit()` (per replica): data = reals or (reals, labels); the
        level of detail is the networks' (v1: set it with `set_lod`)."""
        if phases is None:
            raise UserError("Trainer.train_step runs under fit() (make_train_function passes the iteration's "
                            "phases); the training loop calls iteration().")
        if isinstance(data, (tuple, list)):
            reals, labels = data[0], (data[1] if len(data) > 1 else None)
        else:
            reals, labels = data, None
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        it = Iteration(self, reals, labels, step, int(reals.shape[0]) * replicas, self.loss.fit_lod(self))
        return self._run(it, gs_beta, tuple(phases))

    def make_train_function(self, force=False):
        """fit()'s step: the iteration index kept in Python (`iteration_counter` read once, at the first
        step: no host synchronisation per step), the step traced per phase tuple, then the counter
        variable incremented on the device."""
        if self.train_function is not None and not force:
            return self.train_function
        strategy = self.distribute_strategy
        training = self.experiment.training

        @tf.function(autograph=False)
        def step_fn(data, beta, step, phases):
            out = strategy.run(self.train_step, args=(data,), kwargs=dict(gs_beta=beta, step=step, phases=phases))
            return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in out.items()}

        counter = []   # The iteration index in Python: read from the variable once, at the first step.

        def function(iterator):
            data = next(iterator)
            first = data[0] if isinstance(data, (tuple, list)) else data
            batch = int(strategy.experimental_local_results(first)[0].shape[0]) * strategy.num_replicas_in_sync
            if not counter:
                counter.append(int(self.iteration_counter.numpy()))   # (after BackupAndRestore restored it)
            step = counter[0]
            beta = ema_beta(batch, training.g_ema_kimg, step * batch, training.g_ema_rampup)
            logs = step_fn(data, tf.constant(beta, tf.float32), tf.constant(step, tf.int64), self.step_phases(step))
            self.iteration_counter.assign_add(1)
            counter[0] += 1
            return logs

        self.train_function = function
        return function
