"""Behavioural signals, pure: per-identity counts over event-time windows that fire derived
events. No I/O: the processor (signals_worker/) feeds records in and ships what comes out.

- rules.py: a compiled `signals:` entry of the policy (SignalRule) and its condition syntax.
- window.py: one identity's window state per rule, and its transitions.
- engine.py: the state of one input partition (every identity, the event-time watermark,
  deadlines of `= 0` rules), dirty tracking for the changelog, eviction.
- observed.py: the fields of a warehouse record the rules read.
- derived.py: the derived raw event a firing emits, with its deterministic eventId.
- evaluate.py: events in -> signals out, for `test-policy` and `explain`.

Nothing is imported here: policy/schema.py imports rules.py, and derived.py imports the
router, which imports the policy.
"""
