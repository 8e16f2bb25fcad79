"""Segment suggestions: RFM groups and behavioural clusters over a site's profiles, each
turned into a criteria tree that the site can save as a dynamic segment (docs/suggestions.md).

- `rfm.py`, `clusters.py`, `words.py`: pure (no Django): thresholds, k-means and
  decision-tree rules, plain words;
- `features.py`: the profiles and events read from the database;
- `services.py`: runs (created, executed by a Celery task) and "Save as segment";
- `admin.py`, `forms.py`: the "Segment suggestions" admin page.
"""
