"""The case service HTTP API (FastAPI). Build it with ``api.http.app.create_app(home)``."""
