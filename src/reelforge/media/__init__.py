"""Media storage and ingest: where asset bytes live and how uploads become assets."""
