"""An interactive explorer in the browser: the counterpart of the StyleGAN3 repo's `visualizer.py`
(which needs OpenGL and a CUDA GPU), served locally and rendered on the CPU.

    python -m stylegan_tf.explore --network G.keras [--directions out/sefa.npz] [--port 8000]

then open http://127.0.0.1:8000/. The page sets the seed, truncation psi (and cutoff), style mixing
(a second seed and the layers taken from it), the noise mode, StyleGAN3's translate/rotate, an
editing direction (SeFa computed for the network, or a `python -m stylegan_tf.edit` file) with its
strength and layers, and shows a synthesis layer's activations as an image next to the output.
`renderer` draws, `server` serves (the standard library's `http.server`: no extra dependency and
nothing that calls out), `page.html` is the page.
"""
