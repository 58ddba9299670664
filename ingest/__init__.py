"""Ingestion: hash while copying, read back, probe, playback copies, recordings."""
