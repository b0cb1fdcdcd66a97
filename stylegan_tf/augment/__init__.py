"""Adaptive discriminator augmentation (StyleGAN2-ADA, Karras et al. 2020).

- `presets`: the official pipeline presets (no TensorFlow import).
- `pipeline.AugmentPipe`: the augmentation pipeline (Keras layer, TensorFlow ops).
- `adaptive.AugmentState`: p and the overfitting heuristic's statistics (checkpointed weights).
- `resample`, `matrices`: the band-limited warp and the transform matrices.

Submodules are imported explicitly, so `stylegan_tf.augment.presets` stays light.
"""
