"""stylegan_tf: StyleGAN (Karras, Laine, Aila, CVPR 2019) in Keras 3 on TensorFlow 2.

Importing the package imports neither TensorFlow nor Keras; the network modules
(`layers`, `mapping`, `synthesis`, `generator`, `discriminator`) use Keras 3 ops only
and run under any Keras backend. Training, datasets and export need TensorFlow.
"""

__version__ = "0.1.0"
