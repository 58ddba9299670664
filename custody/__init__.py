"""The append-only custody log: canonical events, RFC 9162 Merkle tree, signed checkpoints."""
