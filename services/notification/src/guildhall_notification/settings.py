"""Settings of the notification service (``GUILDHALL_*`` environment variables)."""

from typing import ClassVar

from guildhall_kit.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    """The kit's shared settings; the notification service adds none yet."""

    service_name: ClassVar[str] = "notification"
    grpc_port: int = 50054
