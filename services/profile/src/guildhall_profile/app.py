"""Wiring of the profile service: use cases, servicer, indexes, outbox and consumers.

At boot (before serving) the home org is created if it does not exist yet; a
home org of another id than ``GUILDHALL_HOME_ORG_ID`` fails the boot, since
there is exactly one. Besides the gRPC server the process runs the kit's
outbox relay over ``orgs`` and ``people`` (hinted after each write) and the
consumers of :mod:`guildhall_profile.adapters.consumers`. It runs no periodic
task: every index it reads is an ordinary one the database keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import grpc

from guildhall.profile.v1 import profile_pb2, profile_pb2_grpc
from guildhall_kit.clients import CommunityAccessClient
from guildhall_kit.service import ConsumerSpec, ServiceContext, ServiceParts
from guildhall_profile.adapters.consumers import (
    COMMUNITY_GROUP,
    COMMUNITY_TOPIC,
    DIRECTORY_GROUP,
    POST_GROUP,
    POST_TOPIC,
    PROFILE_TOPIC,
    CommunityEvents,
    DirectoryEvents,
    PostEvents,
)
from guildhall_profile.adapters.convert import outbox_event
from guildhall_profile.adapters.grpc_api import ProfileServicer
from guildhall_profile.adapters.repository import (
    ORGS,
    OUTBOX_COLLECTIONS,
    PEOPLE,
    ProfileRepository,
    indexes,
)
from guildhall_profile.application.access import PeopleAccess
from guildhall_profile.application.common import Writes
from guildhall_profile.application.directory import Directory
from guildhall_profile.application.orgs import Orgs
from guildhall_profile.application.participants import Participants
from guildhall_profile.application.people import People
from guildhall_profile.settings import ProfileSettings

SERVICE_NAME = profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name


async def build(ctx: ServiceContext[ProfileSettings]) -> ServiceParts:
    settings = ctx.settings
    # Every write goes through the kit's writer handle (serialised on FerretDB,
    # see guildhall_kit.mongo), and each write that added events hints the relay.
    repo = ProfileRepository(ctx.db, ctx.outbox(), writer=ctx.writer_db)
    writes = Writes(
        repo,
        encode=partial(outbox_event, ctx.outbox()),
        hint_org=partial(ctx.hint_relay, ORGS),
        hint_person=partial(ctx.hint_relay, PEOPLE),
    )
    orgs = Orgs(writes, home_org_id=settings.home_org_id)
    directory = Directory(writes)
    participants = Participants(repo)
    community = CommunityAccessClient(
        settings.community_addr, deadline_s=settings.community_deadline_seconds
    )
    servicer = ProfileServicer(orgs, People(writes), directory, PeopleAccess(repo, community))
    # Like the kit's index creation right after build: needs MongoDB at boot, and
    # a wrong GUILDHALL_HOME_ORG_ID stops the process here instead of serving.
    await orgs.bootstrap_home(settings.home_org_name)

    def register(server: grpc.aio.Server) -> Sequence[str]:
        profile_pb2_grpc.add_ProfileServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    return ServiceParts(
        register=register,
        indexes=indexes(),
        outbox_collections=OUTBOX_COLLECTIONS,
        consumers=[
            ConsumerSpec(
                group=POST_GROUP, topics=[POST_TOPIC], handler=PostEvents(directory, participants)
            ),
            ConsumerSpec(
                group=COMMUNITY_GROUP,
                topics=[COMMUNITY_TOPIC],
                handler=CommunityEvents(participants),
            ),
            ConsumerSpec(
                group=DIRECTORY_GROUP, topics=[PROFILE_TOPIC], handler=DirectoryEvents(directory)
            ),
        ],
        on_stop=[community.close],
    )
