"""The ops tools' logic (tap, trace, dlq, top): topic scans with time and offset bounds,
filters, masking, trace assembly, redrive. CLI glue lives in eventyard.commands."""
