import os

from django.core.wsgi import get_wsgi_application

from personalize.chunked import ChunkedBodyMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "personalize.settings")
application = ChunkedBodyMiddleware(get_wsgi_application())
