"""Adapters of the community service: gRPC in; MongoDB and the bus out.

- :mod:`.grpc_api`    CommunityService handlers (thin: principal, convert, call, convert)
- :mod:`.convert`     domain values <-> protobuf messages, events included
- :mod:`.repository`  MongoDB: documents, declared indexes, queries, compare-and-set writes
- :mod:`.consumers`   the ``orgs`` and ``people`` read models from profile events
"""
