"""Cases, users and roles, evidence access and viewing sessions: the case service's domain logic.

Imports no web framework; ``api/http`` is the FastAPI layer over it.
"""
