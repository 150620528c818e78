"""Settings of the post service (``GUILDHALL_*`` environment variables)."""

from typing import Annotated, ClassVar

from pydantic import Field

from guildhall_kit.settings import ServiceSettings


class PostSettings(ServiceSettings):
    """The kit's shared settings plus the post service's own."""

    service_name: ClassVar[str] = "post"
    grpc_port: int = 50053

    community_addr: Annotated[str, Field(min_length=1)]
    """``host:port`` of the community service, asked for every partner user's access
    (``GUILDHALL_COMMUNITY_ADDR``). Required."""

    community_deadline_seconds: Annotated[float, Field(gt=0, le=10)] = 1.0
    """Deadline of each CheckAccess/ListSpaces call; on expiry the request is refused
    (UNAVAILABLE), never served from the read model."""

    search_index_path: str = ""
    """Directory of the search index; empty keeps it in memory (rebuilt from the post
    topic at start-up, since the consumer group then starts from the beginning)."""

    home_feed_max_spaces: Annotated[int, Field(ge=1, le=10_000)] = 2000
    """Most spaces merged into one home feed (the person's communities' spaces)."""
