"""The signals processor (`eventyard signals`): the I/O around the pure signals/ package.

- processor.py: its own consumer group on the warehouse topic, the batch loop, rebalances.
- state.py: restoring a partition's windows from the compacted state changelog.
- http.py: /metrics and /healthz.
"""
