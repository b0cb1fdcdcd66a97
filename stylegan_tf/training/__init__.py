"""Training: the trainer (G, D, Gs, optimizers, `train_step`), the loop, checkpoints, reporting.

`loop.run(config, options, run_dir, dataset)` is what `train.py` calls; see its docstring
for the order of a run and how resuming stays exact.
"""
