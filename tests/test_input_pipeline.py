"""The training input: each replica receives its own strided share of the global batch as uint8
(`training.loop.open_reals`, `distribute_datasets_from_function`), scaled and mirrored on the device
by the trainer with the global batch's draws, so the mirrored input equals the single-device one."""

import numpy as np
import tensorflow as tf

from stylegan_tf import presets
from stylegan_tf.training.trainer import Trainer


def test_each_replica_gets_its_uint8_share_of_the_single_device_batch(two_cpus, tmp_path):
    result = two_cpus.run(f"""
        from stylegan_tf.data.dataset import open_dataset
        from stylegan_tf.data.synthetic import build_synthetic_dataset
        from stylegan_tf.training.distribute import Placement
        from stylegan_tf.training.loop import open_reals
        build_synthetic_dataset({str(tmp_path / 'faces')!r}, resolution=8, num_images=32, seed=0)
        ds = open_dataset({str(tmp_path / 'faces')!r})
        one = open_reals(ds, 8, 8, 5, Placement(ONE, 1, 0), 3)
        two = open_reals(ds, 8, 8, 5, Placement(TWO, 1, 0), 3)
        result = []
        for _ in range(3):
            full, shares = next(one), TWO.experimental_local_results(next(two))
            result.append(dict(dtype=str(full.dtype.name), shapes=[list(s.shape) for s in shares],
                               devices=[s.device for s in shares],
                               equal=[bool(np.array_equal(shares[r].numpy(), full.numpy()[r::2])) for r in (0, 1)]))
    """)
    for step in result:
        assert step["dtype"] == "uint8" and step["shapes"] == [[4, 8, 8, 3]] * 2, step
        assert step["equal"] == [True, True], step
        assert step["devices"][0] != step["devices"][1]


def test_uint8_reals_are_scaled_and_mirrored_on_the_device():
    config = presets.get("stylegan2-tiny")
    t = Trainer(config, seed=0)
    pixels = np.random.RandomState(0).randint(0, 256, (8, 16, 16, 3)).astype(np.uint8)
    it = t.context(tf.constant(pixels), step=4)
    reals = t._reals_on_device(it).numpy()
    scaled = pixels.astype(np.float32) / 127.5 - 1.0
    flipped = [bool(np.array_equal(reals[i], scaled[i, :, ::-1])) for i in range(8)]
    kept = [bool(np.array_equal(reals[i], scaled[i])) for i in range(8)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    # The flips are a named draw of the iteration: the same step flips the same images.
    again = t._reals_on_device(t.context(tf.constant(pixels), step=4)).numpy()
    np.testing.assert_array_equal(reals, again)
    # Float reals are taken as given (a fit() dataset that scaled and mirrored them itself).
    np.testing.assert_array_equal(t._reals_on_device(t.context(tf.constant(scaled))).numpy(), scaled)
    assert config.training.mirror_augment
