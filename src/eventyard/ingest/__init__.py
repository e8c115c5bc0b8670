"""The HTTP ingest edge (`eventyard ingest`): browsers and backends send events over HTTP;
each is answered only once the broker has acknowledged it (acks=all). docs/ingest.md."""
