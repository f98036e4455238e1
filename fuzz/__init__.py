"""Fuzz targets for kmslog's untrusted-input parsers (see docs/fuzzing.md)."""
