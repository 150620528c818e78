"""Test support shared by Guildhall's tests and benchmarks (never shipped in an image).

- :mod:`guildhall_testsupport.platform`: the real services as real processes,
  for cross-service tests, the demo data of ``make run`` and benchmarks.
- one module per service with its in-process harness (the service started in
  the test's event loop against the real Kafka and FerretDB, with dev tokens).
"""
