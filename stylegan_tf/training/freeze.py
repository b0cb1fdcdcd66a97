"""FreezeD (Mo et al. 2020), the official `--freezed=N` of StyleGAN2-ADA and StyleGAN3 `train.py`.

A capability of the discriminator, not of a family: a D with a `freeze_layers(count)` method
(the StyleGAN2 D, also StyleGAN3's) takes it; any other D refuses a count above 0.
"""

from __future__ import annotations

from stylegan_tf.errors import UserError


def can_freeze(D) -> bool:
    """Whether discriminator `D` has FreezeD layers (a `freeze_layers` method)."""
    return callable(getattr(D, "freeze_layers", None))


def freeze_discriminator(D, count: int) -> list[str]:
    """Freezes D's top `count` layers (`D.freeze_layers`, in the official order); returns their names.

    Raises:
        UserError: count > 0 for a discriminator without FreezeD layers, naming the option.
    """
    if not count:
        return []
    if not can_freeze(D):
        raise UserError(f"--freezed (training.freeze_d) needs a discriminator with FreezeD layers; "
                        f"{type(D).__name__} has none. Received: training.freeze_d={count}")
    return D.freeze_layers(count)
