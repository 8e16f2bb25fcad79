"""Analytics: what was shown and whether it worked (docs/analytics.md).

The layer between content and experiments. It owns metrics (goals) and their one
definition of a per-unit value (`analytics.metrics`, pure), the daily rollups that
reports, experiments and optimisation read (never raw events), the admin reports and
their charts, and the privacy chores of behavioural data: retention purges and proving
that an erased person is gone.
"""
