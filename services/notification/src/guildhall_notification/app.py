"""Wiring of the notification service: servicer, indexes, consumers, background tasks."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from guildhall.notification.v1 import notification_pb2, notification_pb2_grpc
from guildhall_kit.service import ServiceContext, ServiceParts
from guildhall_notification.adapters.grpc_api import NotificationServicer
from guildhall_notification.settings import NotificationSettings

SERVICE_NAME = notification_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name


async def build(ctx: ServiceContext[NotificationSettings]) -> ServiceParts:
    servicer = NotificationServicer()

    def register(server: grpc.aio.Server) -> Sequence[str]:
        notification_pb2_grpc.add_NotificationServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    return ServiceParts(register=register)
