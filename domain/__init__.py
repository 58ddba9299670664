"""Shared domain types and the root error; imports no framework."""
