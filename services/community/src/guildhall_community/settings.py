"""Settings of the community service (``GUILDHALL_*`` environment variables)."""

from typing import Annotated, ClassVar

from pydantic import Field

from guildhall_community.domain import PinholeOpenPolicy
from guildhall_kit.settings import ServiceSettings


class CommunitySettings(ServiceSettings):
    """The kit's shared settings plus the community service's own."""

    service_name: ClassVar[str] = "community"
    grpc_port: int = 50052

    pinhole_open_policy: PinholeOpenPolicy = PinholeOpenPolicy.OWNER_OR_ADMIN
    """``GUILDHALL_PINHOLE_OPEN_POLICY``: who opens pinholes and grants them to partner
    orgs — ``owner_or_admin`` (a community owner or a home admin) or ``admin_only``.
    Revoking and closing are never restricted by it."""

    pinhole_sweep_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """``GUILDHALL_PINHOLE_SWEEP_SECONDS``: how often the sweeper records lapsed pinholes
    (expired, or of an archived community) as closed. Bookkeeping only: a lapsed
    pinhole is closed for every decision the moment it lapses."""

    outbox_poll_seconds: Annotated[float, Field(gt=0, le=86_400)] = 60.0
    """``GUILDHALL_OUTBOX_POLL_SECONDS``: how often the kit's outbox relay scans for
    events no write told it about (a failed publish, a process that died). Writes hint
    their documents to the relay, so this is the safety net, not the normal path; on
    FerretDB a scan reads every stored document, hence a minute rather than the kit's
    default."""

    write_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    """``GUILDHALL_WRITE_ATTEMPTS``: how often an operation that lost a compare-and-set
    is re-run before the caller gets ABORTED."""
