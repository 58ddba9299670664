"""Entry points: the `evidence` CLI and the HTTP API. Only these read settings."""
