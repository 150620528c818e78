"""Guildhall's shared runtime kit.

Every service is built from the same parts, used the same way:

- :mod:`guildhall_kit.settings`   typed settings from environment variables, failing at boot
- :mod:`guildhall_kit.logging`    structlog JSON lines carrying trace and span ids
- :mod:`guildhall_kit.telemetry`  OpenTelemetry traces and metrics, instrumentations
- :mod:`guildhall_kit.errors`     domain errors and their gRPC status codes
- :mod:`guildhall_kit.grpc`       the grpc.aio server bootstrap and its one interceptor
- :mod:`guildhall_kit.bus`        the Kafka event bus (CloudEvents binary mode)
- :mod:`guildhall_kit.outbox`     the transactional outbox and its relay
- :mod:`guildhall_kit.mongo`      PyMongo async access and declared indexes
- :mod:`guildhall_kit.auth`       principals and JWT verification
"""
