"""Typed clients of other Guildhall services, with a deadline on every call.

A service that needs another service's decision uses the client here rather
than its own stub wrapper, so the deadline, the retry rule (idempotent reads
only, on UNAVAILABLE) and the fail-closed error mapping live in one place.
"""

from guildhall_kit.clients.community import Action, CommunityAccessClient, SpaceAccess

__all__ = ["Action", "CommunityAccessClient", "SpaceAccess"]
