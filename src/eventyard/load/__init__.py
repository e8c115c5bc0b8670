"""`eventyard load`: routed records from the output topics into DuckDB or Postgres, exactly
once (offsets stored in the same transaction as the rows)."""
