"""stylegan_tf: StyleGAN (Karras, Laine, Aila, CVPR 2019) in Keras 3 on TensorFlow 2.

Importing the package imports neither TensorFlow nor Keras; the network modules
(`layers`, `mapping`, `synthesis`, `generator`, `discriminator`) use Keras 3 ops only
and run under any Keras backend. Training, datasets and export need TensorFlow.

`import stylegan_tf` is all `keras.models.load_model` needs: every family's Keras classes
register as soon as Keras is imported (now, if it already is; see `keras_registration`).
"""

__version__ = "0.1.0"

from stylegan_tf import keras_registration as _keras_registration  # noqa: E402

_keras_registration.install()
