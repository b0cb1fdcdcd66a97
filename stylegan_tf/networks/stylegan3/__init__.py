"""StyleGAN3 (Karras et al., "Alias-Free Generative Adversarial Networks", NeurIPS 2021).

Every signal is treated as continuous (sec. 3): a Fourier-feature input instead of the
learned 4x4 constant, filtered non-linearities (upsample, leaky ReLU, downsample with
Kaiser-windowed sinc filters) so that detail moves with the surface rather than the pixel
grid, and a rotation-equivariant variant (config R: 1x1 convolutions, radially symmetric
filters, doubled channels). `config.StyleGAN3Config` holds the architecture,
`filters` the layer schedule and filter design, `filtered_lrelu` the filtered
non-linearity, `synthesis` the synthesis network, `generator` the generator.
"""
