"""Recorder adapters: mass storage, MTP, GA/T 947.4 vendor SDK, simulated."""
