"""protobuf <-> domain: requests, replies and event payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.notification.v1 import events_pb2 as nev
from guildhall.notification.v1 import notification_pb2 as pb
from guildhall.post.v1 import post_pb2 as ppb
from guildhall.profile.v1 import profile_pb2 as prpb
from guildhall_notification.application.ports import Routed
from guildhall_notification.application.routing import Policy, RoutedEntry
from guildhall_notification.application.subscriptions import (
    CommunityDefaultView,
    Effective,
    PreferencesView,
)
from guildhall_notification.application.webhooks import Delivery, Webhook
from guildhall_notification.domain.digest import Frequency
from guildhall_notification.domain.model import (
    Item,
    ItemType,
    Kind,
    Level,
    Notification,
    Person,
    PersonKind,
    Reason,
    Role,
    Source,
    Template,
    Visibility,
)
from guildhall_notification.domain.routing import ChainState

KIND: Final = {
    Kind.MENTION: pb.NOTIFICATION_KIND_MENTION,
    Kind.COMMENT: pb.NOTIFICATION_KIND_COMMENT,
    Kind.ANSWER: pb.NOTIFICATION_KIND_ANSWER,
    Kind.ANSWER_ACCEPTED: pb.NOTIFICATION_KIND_ANSWER_ACCEPTED,
    Kind.QUESTION_FOR_EXPERT: pb.NOTIFICATION_KIND_QUESTION_FOR_EXPERT,
    Kind.WATCHED_SPACE: pb.NOTIFICATION_KIND_WATCHED_SPACE,
    Kind.ANNOUNCEMENT: pb.NOTIFICATION_KIND_ANNOUNCEMENT,
    Kind.MEMBERSHIP: pb.NOTIFICATION_KIND_MEMBERSHIP,
    Kind.PINHOLE_ACCESS: pb.NOTIFICATION_KIND_PINHOLE_ACCESS,
    Kind.WATCHED_ITEM: pb.NOTIFICATION_KIND_WATCHED_ITEM,
    Kind.QUESTION_ESCALATED: pb.NOTIFICATION_KIND_QUESTION_ESCALATED,
    Kind.WEBHOOK_DISABLED: pb.NOTIFICATION_KIND_WEBHOOK_DISABLED,
    Kind.IDEA_STATUS: pb.NOTIFICATION_KIND_IDEA_STATUS,
}
KIND_FROM: Final = {v: k for k, v in KIND.items()}

REASON: Final = {
    Reason.WATCHING_SPACE: pb.NOTIFICATION_REASON_WATCHING_SPACE,
    Reason.WATCHING_ITEM: pb.NOTIFICATION_REASON_WATCHING_ITEM,
    Reason.TRACKING: pb.NOTIFICATION_REASON_TRACKING,
    Reason.MENTIONED: pb.NOTIFICATION_REASON_MENTIONED,
    Reason.OWN_CONTENT: pb.NOTIFICATION_REASON_OWN_CONTENT,
    Reason.EXPERTISE: pb.NOTIFICATION_REASON_EXPERTISE,
    Reason.COMMUNITY_STAFF: pb.NOTIFICATION_REASON_COMMUNITY_STAFF,
    Reason.OWN_ACCESS: pb.NOTIFICATION_REASON_OWN_ACCESS,
    Reason.MEMBER: pb.NOTIFICATION_REASON_MEMBER,
    Reason.ADMINISTRATION: pb.NOTIFICATION_REASON_ADMINISTRATION,
}
REASON_FROM: Final = {v: k for k, v in REASON.items()}

LEVEL: Final = {
    Level.WATCHING: pb.SUBSCRIPTION_LEVEL_WATCHING,
    Level.TRACKING: pb.SUBSCRIPTION_LEVEL_TRACKING,
    Level.NORMAL: pb.SUBSCRIPTION_LEVEL_NORMAL,
    Level.MUTED: pb.SUBSCRIPTION_LEVEL_MUTED,
}
LEVEL_FROM: Final = {v: k for k, v in LEVEL.items()}

SOURCE: Final = {
    Source.EXPLICIT: pb.SUBSCRIPTION_SOURCE_EXPLICIT,
    Source.AUTHOR: pb.SUBSCRIPTION_SOURCE_AUTHOR,
    Source.PARTICIPANT: pb.SUBSCRIPTION_SOURCE_PARTICIPANT,
    Source.SPACE: pb.SUBSCRIPTION_SOURCE_SPACE,
    Source.COMMUNITY_DEFAULT: pb.SUBSCRIPTION_SOURCE_COMMUNITY_DEFAULT,
    Source.PLATFORM_DEFAULT: pb.SUBSCRIPTION_SOURCE_PLATFORM_DEFAULT,
}

FREQUENCY: Final = {
    Frequency.OFF: pb.DIGEST_FREQUENCY_OFF,
    Frequency.HOURLY: pb.DIGEST_FREQUENCY_HOURLY,
    Frequency.DAILY: pb.DIGEST_FREQUENCY_DAILY,
    Frequency.WEEKLY: pb.DIGEST_FREQUENCY_WEEKLY,
}
FREQUENCY_FROM: Final = {v: k for k, v in FREQUENCY.items()}

ITEM_TYPE: Final = {
    ppb.POST_TYPE_DISCUSSION: ItemType.DISCUSSION,
    ppb.POST_TYPE_ANNOUNCEMENT: ItemType.ANNOUNCEMENT,
    ppb.POST_TYPE_QUESTION: ItemType.QUESTION,
    ppb.POST_TYPE_IDEA: ItemType.IDEA,
    ppb.POST_TYPE_WIKI_PAGE: ItemType.WIKI_PAGE,
}

IDEA_STATUS: Final = {
    ppb.IDEA_STATUS_NEW: "new",
    ppb.IDEA_STATUS_UNDER_REVIEW: "under_review",
    ppb.IDEA_STATUS_ACCEPTED: "accepted",
    ppb.IDEA_STATUS_DECLINED: "declined",
    ppb.IDEA_STATUS_IMPLEMENTED: "implemented",
}

VISIBILITY: Final = {
    cpb.COMMUNITY_VISIBILITY_OPEN: Visibility.OPEN,
    cpb.COMMUNITY_VISIBILITY_PRIVATE: Visibility.PRIVATE,
    cpb.COMMUNITY_VISIBILITY_SECRET: Visibility.SECRET,
}

ROLE: Final = {
    cpb.ROLE_MEMBER: Role.MEMBER,
    cpb.ROLE_MODERATOR: Role.MODERATOR,
    cpb.ROLE_OWNER: Role.OWNER,
}

GRANT: Final = {cpb.GRANT_LEVEL_VIEWER: "viewer", cpb.GRANT_LEVEL_CONTRIBUTOR: "contributor"}


def ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return stamp


def when(stamp: Timestamp, fallback: datetime) -> datetime:
    """A timestamp field as an aware datetime; ``fallback`` when unset."""
    if stamp.seconds == 0 and stamp.nanos == 0:
        return fallback
    return stamp.ToDatetime(tzinfo=UTC)


def template_message(template: Template) -> pb.Notification:
    return pb.Notification(
        kind=KIND[template.kind],
        reason=REASON[template.reason],
        title=template.title,
        space_id=template.space_id,
        community_id=template.community_id,
        post_id=template.post_id,
        comment_id=template.comment_id,
        answer_id=template.answer_id,
        actor_id=template.actor_id,
        actor_display_name=template.actor_display_name,
        excerpt=template.excerpt,
        webhook_id=template.webhook_id,
    )


def notification(n: Notification) -> pb.Notification:
    message = template_message(n.template)
    message.notification_id = n.notification_id
    message.person_id = n.person_id
    message.source_event_id = n.source_event_id
    created = ts(n.created_at)
    if created is not None:
        message.created_at.CopyFrom(created)
    read = ts(n.read_at)
    if read is not None:
        message.read_at.CopyFrom(read)
    return message


def template(message: pb.Notification) -> Template:
    """The template a NotificationsRouted message carries.

    Raises:
        KeyError: an unknown kind or reason (the consumer dead-letters the message).
    """
    return Template(
        kind=KIND_FROM[message.kind],
        reason=REASON_FROM[message.reason],
        title=message.title,
        space_id=message.space_id,
        community_id=message.community_id,
        post_id=message.post_id,
        comment_id=message.comment_id,
        answer_id=message.answer_id,
        actor_id=message.actor_id,
        actor_display_name=message.actor_display_name,
        excerpt=message.excerpt,
        webhook_id=message.webhook_id,
    )


def routed_message(routed: Routed) -> nev.NotificationsRouted:
    message = nev.NotificationsRouted(
        source_event_id=routed.source_event_id,
        person_ids=list(routed.person_ids),
        template=template_message(routed.template),
        subject=routed.subject,
    )
    stamp = ts(routed.routed_at)
    if stamp is not None:
        message.routed_at.CopyFrom(stamp)
    return message


def routed(message: nev.NotificationsRouted, fallback: datetime) -> Routed:
    return Routed(
        source_event_id=message.source_event_id,
        person_ids=tuple(message.person_ids),
        template=template(message.template),
        subject=message.subject,
        routed_at=when(message.routed_at, fallback),
    )


def item(post: ppb.Post) -> Item:
    return Item(
        post_id=post.post_id,
        space_id=post.space_id,
        type=ITEM_TYPE.get(post.type, ItemType.DISCUSSION),
        author_id=post.author_id,
        title=post.title,
        tags=tuple(post.tags),
        deleted=post.state == ppb.POST_STATE_DELETED,
    )


def person(message: prpb.Person) -> Person:
    return Person(
        person_id=message.person_id,
        org_id=message.org_id,
        kind=(
            PersonKind.PARTNER
            if message.kind == prpb.PERSON_KIND_PARTNER_USER
            else PersonKind.EMPLOYEE
        ),
        display_name=message.display_name,
        email=message.email,
    )


def subscription(view: Effective) -> pb.Subscription:
    message = pb.Subscription(
        person_id=view.person_id,
        level=LEVEL[view.level],
        source=SOURCE[view.source],
        item_space_id=view.item_space_id,
    )
    if view.target_kind == "item":
        message.post_id = view.target_id
    else:
        message.space_id = view.target_id
    stamp = ts(view.updated_at)
    if stamp is not None:
        message.updated_at.CopyFrom(stamp)
    return message


def community_default(view: CommunityDefaultView) -> pb.CommunityDefault:
    message = pb.CommunityDefault(
        community_id=view.community_id, level=LEVEL[view.level], updated_by=view.updated_by
    )
    stamp = ts(view.updated_at)
    if stamp is not None:
        message.updated_at.CopyFrom(stamp)
    return message


def preferences(view: PreferencesView) -> pb.Preferences:
    message = pb.Preferences(
        person_id=view.person_id,
        digest_frequency=FREQUENCY[view.digest_frequency],
        email=view.email,
    )
    stamp = ts(view.last_digest_at)
    if stamp is not None:
        message.last_digest_at.CopyFrom(stamp)
    return message


CHAIN_STATE: Final = {
    ChainState.OPEN: pb.ROUTED_QUESTION_STATE_OPEN,
    ChainState.ANSWERED: pb.ROUTED_QUESTION_STATE_ANSWERED,
    ChainState.CLOSED: pb.ROUTED_QUESTION_STATE_CLOSED,
}
CHAIN_STATE_FROM: Final = {v: k for k, v in CHAIN_STATE.items()}


def routed_question(entry: RoutedEntry) -> pb.RoutedQuestion:
    message = pb.RoutedQuestion(
        question_id=entry.question_id,
        space_id=entry.space_id,
        title=entry.title,
        tags=list(entry.tags),
        step=entry.step,
        reason=REASON[entry.reason],
        state=CHAIN_STATE[entry.state],
    )
    stamp = ts(entry.routed_at)
    if stamp is not None:
        message.routed_at.CopyFrom(stamp)
    return message


def policy(value: Policy) -> pb.RoutingPolicy:
    message = pb.RoutingPolicy(space_id=value.space_id, updated_by=value.updated_by)
    message.answer_sla.FromTimedelta(value.answer_sla)
    stamp = ts(value.updated_at)
    if stamp is not None:
        message.updated_at.CopyFrom(stamp)
    return message


WEBHOOK_EVENT: Final = {
    "post_created": pb.WEBHOOK_EVENT_TYPE_POST_CREATED,
    "post_edited": pb.WEBHOOK_EVENT_TYPE_POST_EDITED,
    "post_deleted": pb.WEBHOOK_EVENT_TYPE_POST_DELETED,
    "comment_added": pb.WEBHOOK_EVENT_TYPE_COMMENT_ADDED,
    "answer_posted": pb.WEBHOOK_EVENT_TYPE_ANSWER_POSTED,
    "answer_accepted": pb.WEBHOOK_EVENT_TYPE_ANSWER_ACCEPTED,
    "wiki_revised": pb.WEBHOOK_EVENT_TYPE_WIKI_REVISED,
    "idea_status_changed": pb.WEBHOOK_EVENT_TYPE_IDEA_STATUS_CHANGED,
    "pinhole_granted": pb.WEBHOOK_EVENT_TYPE_PINHOLE_GRANTED,
    "pinhole_revoked": pb.WEBHOOK_EVENT_TYPE_PINHOLE_REVOKED,
    "pinhole_closed": pb.WEBHOOK_EVENT_TYPE_PINHOLE_CLOSED,
}
WEBHOOK_EVENT_FROM: Final = {v: k for k, v in WEBHOOK_EVENT.items()}

DELIVERY_STATE: Final = {
    "pending": pb.DELIVERY_STATE_PENDING,
    "succeeded": pb.DELIVERY_STATE_SUCCEEDED,
    "failed": pb.DELIVERY_STATE_FAILED,
    "dropped": pb.DELIVERY_STATE_DROPPED,
    "cancelled": pb.DELIVERY_STATE_CANCELLED,
}


def _set(message: object, field: str, value: datetime | None) -> None:
    stamp = ts(value)
    if stamp is not None:
        getattr(message, field).CopyFrom(stamp)


def webhook(value: Webhook) -> pb.Webhook:
    message = pb.Webhook(
        webhook_id=value.webhook_id,
        org_id=value.org_id,
        url=value.url,
        event_types=[WEBHOOK_EVENT[t] for t in value.event_types if t in WEBHOOK_EVENT],
        description=value.description,
        state=pb.WEBHOOK_STATE_ENABLED if value.enabled else pb.WEBHOOK_STATE_DISABLED,
        disabled_reason=value.disabled_reason,
        consecutive_failures=value.consecutive_failures,
        created_by=value.created_by,
        secret_hint=value.secret_hint,
    )
    _set(message, "created_at", value.created_at)
    _set(message, "updated_at", value.updated_at)
    _set(message, "secret_set_at", value.secret_set_at)
    return message


def delivery(value: Delivery) -> pb.WebhookDelivery:
    message = pb.WebhookDelivery(
        delivery_id=value.delivery_id,
        webhook_id=value.webhook_id,
        event_type=WEBHOOK_EVENT.get(value.event_type, pb.WEBHOOK_EVENT_TYPE_UNSPECIFIED),
        source_event_id=value.source_event_id,
        state=DELIVERY_STATE.get(value.state, pb.DELIVERY_STATE_UNSPECIFIED),
        attempts=value.attempts,
        last_status_code=value.last_status_code,
        last_error=value.last_error,
        space_id=value.space_id,
    )
    _set(message, "created_at", value.created_at)
    _set(message, "last_attempt_at", value.last_attempt_at)
    if value.state == "pending":
        _set(message, "next_attempt_at", value.next_attempt_at)
    return message
