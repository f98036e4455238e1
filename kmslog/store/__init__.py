"""The Parquet store: an incremental, queryable copy of the event table
(``kmslog ingest --store DIR``) that every reading command reads with ``--store DIR``."""
