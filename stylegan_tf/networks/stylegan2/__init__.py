"""StyleGAN2 (Karras et al., "Analyzing and Improving the Image Quality of StyleGAN", CVPR 2020).

Weight demodulation instead of AdaIN (sec. 2), skip generator and residual
discriminator at full resolution instead of progressive growing (sec. 4), lazy R1 and
path-length regularisation (sec. 3). `config.StyleGAN2Config` holds the architecture.

Modules: `upfirdn` (FIR up/downsampling), `conv` (plain conv, `bias_act`), `modconv`
(modulated convolution, the synthesis layer and ToRGB), `synthesis`, `generator`
(`Generator` = `StyleGAN2Generator`), `discriminator` (`Discriminator` =
`StyleGAN2Discriminator`). See docs/stylegan2.md.
"""
