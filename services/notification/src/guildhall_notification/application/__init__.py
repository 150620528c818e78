"""Use cases of the notification service, one module per aggregate (no protobuf, no pymongo)."""
