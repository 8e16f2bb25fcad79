"""Predictive traits (docs/predictive.md): per-site models that score each profile's
probability of a goal within N days, trained on a time split and written to the profile as
`traits.predicted.<name>`, so segments can target "likely buyers".

`features` and `learn` are pure (no Django); `dataset` reads the stored events and profiles
as of a cutoff, `services` trains, scores and keeps the field catalog in step.
"""

# The traits key the scores live under. Clients may not write it (delivery rejects it).
PREDICTED_TRAITS_KEY = "predicted"
