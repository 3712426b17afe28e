"""Asynchronous member-ID estimation web API (FastAPI), SPEC §S3."""
