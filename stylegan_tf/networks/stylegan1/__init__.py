"""StyleGAN v1 (Karras, Laine, Aila 2019): AdaIN synthesis, progressive growing; ProGAN as config A.

`generator.Generator`, `discriminator.Discriminator`, `official_weights` (the official
TensorFlow variable names); `adain` and `synthesis` hold the v1-only layers.
"""
