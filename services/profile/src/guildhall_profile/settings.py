"""Settings of the profile service (``GUILDHALL_*`` environment variables)."""

from typing import Annotated, ClassVar

from pydantic import Field

from guildhall_kit.settings import ServiceSettings

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class ProfileSettings(ServiceSettings):
    """The kit's shared settings plus the home organisation and the community service."""

    service_name: ClassVar[str] = "profile"
    grpc_port: int = 50051

    home_org_id: Annotated[str, Field(pattern=ID_PATTERN)] = "home"
    """``GUILDHALL_HOME_ORG_ID``: id of the home enterprise, created at first start.
    Employees' tokens carry it as their org. Changing it later is refused at boot
    (there is exactly one home org)."""

    home_org_name: Annotated[str, Field(min_length=1, max_length=200)] = "Home"
    """``GUILDHALL_HOME_ORG_NAME``: the home enterprise's display name, used when it
    is first created (later changes of the variable are ignored, with a warning)."""

    community_addr: Annotated[str, Field(min_length=1)]
    """``GUILDHALL_COMMUNITY_ADDR``: ``host:port`` of the community service, asked on every
    partner request which pinholes the partner can see now. Required."""

    community_deadline_seconds: Annotated[float, Field(gt=0, le=30)] = 2.0
    """Deadline of one call to the community service (cut to the caller's remaining time)."""

    directory_repair_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """How often the directory lists (experts per tag, people per department and manager)
    drop the stale entries readers met; the first pass also back-fills lists a database
    never had."""
