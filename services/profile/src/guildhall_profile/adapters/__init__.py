"""The profile service's adapters: gRPC in; MongoDB, the community service and Kafka out.

- :mod:`.grpc_api`   ProfileServicer: request -> use case -> response
- :mod:`.convert`    protobuf <-> domain (requests, replies, event payloads)
- :mod:`.repository` MongoDB documents, declared indexes, queries and writes
- :mod:`.consumers`  handlers of the post, community and the service's own topics
- :mod:`.migration`  the one-off migration from the directory lists (ADR 0011)
"""
