"""Ingestion: hash while copying, read back, record in the catalogue, make the derivatives
(the media work itself is ``media/``)."""
