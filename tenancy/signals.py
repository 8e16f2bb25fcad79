from django.dispatch import Signal

# Sent with `site=` once a site is created, inside its transaction.
site_created = Signal()
