"""A family's training objective as named phases (official `loss.py` + the phase list of
stylegan2-ada's `training_loop.py`).

One iteration runs the phases `FamilyLoss.phases(step)` names, in order. A phase named "G..."
is one optimizer step of G, "D..." one of D: the `Trainer` computes the phase's objective
(`FamilyLoss.objective`) under a gradient tape, scales it for float16, and applies the gradients
(zeros for parameters outside the phase's graph, as the official code). The Gs moving average
runs after the phase `gs_after` names (v1: after the D step, before the G step), else after the
last phase. Phases are static Python values: the loop traces one step function per phase tuple.

A family's loss is a `FamilyLoss` subclass named by its `families.Family.loss` entry:

    phases(step)                    the phase names of iteration `step`
    objective(phase, it)            (loss averaged over the global batch, {stat name: scalar})
    synthesize(G, w, noise, resolution, update_emas)   G's synthesis in training
    lazy_ratio("G" | "D")           Adam's minibatch ratio c (lazy regularisation: lr * c, beta ** c)
    build(trainer), state_variables()   state the family keeps (checkpointed, group "state")
    prepare_reals(reals, lod), run_D(it, phase, images, labels)   how D sees images
    iteration_stats(it)             statistics every iteration reports (one set of keys per family)
    snapshot_kwargs(resolution), fit_lod(trainer)

`it` is the iteration's `Iteration` (`stylegan_tf.training.trainer`): the replica's reals and
labels, the draws, the fakes, the cross-replica updates.
"""

from __future__ import annotations

from typing import Any


def phase_network(phase: str) -> str:
    """"G" or "D": the network a phase optimizes (its name's first letter)."""
    if not phase or phase[0] not in "GD":
        raise ValueError(f"A phase name starts with G or D. Received: {phase!r}")
    return phase[0]


class FamilyLoss:
    """Base class of the families' losses; see the module docstring."""

    gs_after: str | None = None   # The phase after which the Gs EMA runs; None = after the last.
    # The phases whose G forward updates G's tracked statistics (w_avg, StyleGAN3's magnitude EMAs).
    ema_phases: frozenset = frozenset()
    # Whether G's synthesis itself updates EMAs in those phases (StyleGAN3's magnitude EMAs: such a
    # pass is not XLA-compiled, its cross-replica assignments stay outside XLA).
    synthesis_updates_emas: bool = False

    def __init__(self, config):
        self.config = config
        self.check(config)

    def check(self, config) -> None:
        """Raises `UserError` for settings this family cannot train with."""

    def build(self, trainer) -> None:
        """Creates the family's state variables on the trainer (`trainer.add_weight`)."""

    def state_variables(self) -> list:
        return []

    def lazy_ratio(self, network: str) -> float:
        return 1.0

    def phases(self, step: int) -> tuple[str, ...]:
        raise NotImplementedError

    def objective(self, phase: str, it) -> tuple[Any, dict]:
        raise NotImplementedError

    def synthesize(self, G, w, noise, resolution: int, update_emas: bool):
        raise NotImplementedError

    def prepare_reals(self, reals, lod):
        """The reals as the phases see them (v1: the lod fade)."""
        return reals

    def run_D(self, it, phase: str, images, labels):
        """D's scores of images in a phase: behind the ADA augmentation (k-th call of the phase: draw
        `<phase>/aug<k>`), in float32, [N]."""
        return it.scores(it.augment(images, phase), labels)

    def iteration_stats(self, it) -> dict:
        return {}

    def snapshot_kwargs(self, resolution: int) -> dict:
        """Extra arguments of G's call for the snapshot grids at `resolution`."""
        return {}

    def fit_lod(self, trainer):
        """The level of detail of a Keras `fit()` step (families without growing: 0)."""
        return 0.0

    def describe(self) -> dict:
        """What `--dry-run` prints of the loss: its settings, the Adam ratios and a sample phase list."""
        import dataclasses

        return {"loss": type(self).__name__, **dataclasses.asdict(self.config.loss),
                "lazy_ratio_G": self.lazy_ratio("G"), "lazy_ratio_D": self.lazy_ratio("D"),
                "phases(step 0)": list(self.phases(0)), "phases(step 1)": list(self.phases(1))}
