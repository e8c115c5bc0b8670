"""The router process: batch loop, per-record dispatch, dedup state, policy reload."""
