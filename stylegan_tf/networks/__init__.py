"""The networks of every family, in Keras 3 ops only (any backend; no TensorFlow import).

- `layers`: shared building blocks (equalized-lr dense/conv, lrelu, resampling, blur,
  pixel norm, minibatch standard deviation).
- `mapping`: the mapping network f: Z -> W (v1 and v2 share it).
- `generator_base`: `StyleGenerator`, the interface every family's generator has
  (mapping, truncate, mix_styles, synthesis, w_avg).
- `stylegan1/`: StyleGAN (AdaIN, progressive growing; ProGAN as config A).
- `stylegan2/`: StyleGAN2 (modulated convolution, skip G, residual D).
- `stylegan3/`: StyleGAN3 (alias-free synthesis).

`stylegan_tf.families` maps `config.network.family` to each family's classes.
"""
