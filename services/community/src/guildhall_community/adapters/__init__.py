"""Adapters of the community service: gRPC handlers, the Mongo repository, event handlers.

- :mod:`.grpc_service`   CommunityService handlers (thin: principal, convert, call, convert)
- :mod:`.messages`       domain values <-> protobuf messages, events included
- :mod:`.repository`     point reads by ``_id``; ordered compare-and-set writes with the outbox
- :mod:`.documents`      domain values <-> BSON documents; collection names
- :mod:`.profile_facts`  the ``orgs`` and ``people`` read models from profile events
- :mod:`.paging`         opaque page tokens
"""
