"""Settings of the profile service (``GUILDHALL_*`` environment variables)."""

from typing import Annotated, ClassVar

from pydantic import Field

from guildhall_kit.settings import ServiceSettings


class ProfileSettings(ServiceSettings):
    """The kit's shared settings (among them ``GUILDHALL_HOME_ORG_ID``, the home org's id,
    which every service's token check uses) plus the home org's name and the community
    service."""

    service_name: ClassVar[str] = "profile"
    grpc_port: int = 50051

    home_org_name: Annotated[str, Field(min_length=1, max_length=200)] = "Home"
    """``GUILDHALL_HOME_ORG_NAME``: the home enterprise's display name, used when it
    is first created (later changes of the variable are ignored, with a warning).
    The home org itself (id ``GUILDHALL_HOME_ORG_ID``) is created at first start;
    changing that id later is refused at boot (there is exactly one home org)."""

    community_addr: Annotated[str, Field(min_length=1)]
    """``GUILDHALL_COMMUNITY_ADDR``: ``host:port`` of the community service, asked on every
    partner request which pinholes the partner can see now. Required."""

    community_deadline_seconds: Annotated[float, Field(gt=0, le=30)] = 2.0
    """Deadline of one call to the community service (cut to the caller's remaining time)."""
