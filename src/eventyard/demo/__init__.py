"""`eventyard demo`: a local broker, one worker, session-shaped B2B traffic and a live view.

Modules: `funnel` (the traffic, pure), `tally` (counting topics and worker metrics, pure),
`view` and `summary` (rendering only), `session` (processes and I/O), `main` (CLI glue).
"""
