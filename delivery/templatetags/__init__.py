"""The delivery template tag library (`{% load personalize %}`)."""
