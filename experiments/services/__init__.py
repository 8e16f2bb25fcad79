"""Writes of the experiments app, one module per question: `validation` (whether a setup is
consistent: arms, slot, layer slices, conflicts), `experiments` (create, update, start, pause,
resume, stop, weights and coverage), `layers` and `holdout`; for optimizations
`optimization_validation`, `optimization` (create, update, start, pause, resume, stop) and
`optimization_train` (training, the promotion gate, model versions). Every change that delivery sees
bumps the site's configuration version. Import from the module:
`from experiments.services.experiments import experiment_start`."""
