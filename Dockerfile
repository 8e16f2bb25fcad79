# For contributors and small installations: one image for web, worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY personalize personalize
COPY tenancy tenancy
COPY segments segments
COPY content content
COPY analytics analytics
COPY experiments experiments
COPY delivery delivery
COPY templates templates
COPY static static
COPY manage.py ./

RUN pip install . \
    && SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --noinput \
    && useradd --system --uid 1000 personalize
USER personalize

EXPOSE 8000
# Sync workers: decide is CPU-bound and never waits on the network on the anonymous path.
CMD ["gunicorn", "personalize.wsgi:application", "--bind", "0.0.0.0:8000", \
     "--workers", "4", "--access-logfile", "-", "--forwarded-allow-ips", "*"]
