"""Former home of the uint8 conversion, grid and atomic PNG writer, now in `stylegan_tf.media`.

Kept so `from stylegan_tf.images import grid, save_png, to_uint8` (training/reporting.py) goes on
working; new code imports `stylegan_tf.media`.
"""

from stylegan_tf.media import grid, save_png, to_uint8

__all__ = ["grid", "save_png", "to_uint8"]
