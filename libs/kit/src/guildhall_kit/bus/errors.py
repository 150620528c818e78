"""Errors the event bus raises on purpose."""

from __future__ import annotations


class BusError(Exception):
    """Base of every error the event bus raises on purpose."""


class UnsafeKafkaConfig(BusError):  # noqa: N818 - reads as the condition it reports
    """An option would weaken a delivery guarantee (auto-commit, acks, idempotence)."""


class MalformedEvent(BusError):  # noqa: N818 - reads as the condition it reports
    """A Kafka message is not a valid CloudEvent in binary mode, or a payload does not parse."""


class PublishFailed(BusError):  # noqa: N818 - reads as the condition it reports
    """The broker did not acknowledge an event within its deadline, or refused it.

    The event may still have been written (a late acknowledgement); publishers
    that retry therefore produce duplicates, which consumers drop by ``ce_id``.
    """


class NotStarted(BusError):  # noqa: N818 - reads as the condition it reports
    """A producer or consumer was used before ``start()`` or after ``stop()``."""
