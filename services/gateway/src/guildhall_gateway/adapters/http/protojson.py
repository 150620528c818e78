"""Protobuf messages <-> the API's JSON, and JSON Schema models for them, from one source.

The HTTP API speaks the services' contracts (protos/) in JSON. Both directions
and the OpenAPI schemas are derived here from the message descriptors, so a
field added to a contract appears in the API, its schema and the generated
client at once, and the encoder and the schema cannot disagree.

JSON shape (the same for every message):

- field names are the contract's snake_case names; every field is always
  present in a response;
- enums are the value's name without the enum's prefix, lowercase
  (``COMMUNITY_VISIBILITY_OPEN`` -> ``"open"``); the zero value
  (``..._UNSPECIFIED``) is ``null``;
- timestamps are RFC 3339 strings in UTC with milliseconds, ``null`` when unset;
- messages are objects, ``null`` when unset; ``optional`` scalars are ``null``
  when unset; int64 values are JSON numbers (every count and version stays far
  below 2**53).

Request bodies are validated by pydantic models built from the same
descriptors (unknown fields rejected, no type coercion), then turned into the
request message; the protovalidate rules declared in the contract are
checked by the gateway before any call, with the same field names.
"""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Final

from buf.validate import validate_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field, create_model

from guildhall.rules.v1 import rules_pb2

ID_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,63}$"
TAG_PATTERN: Final = r"^[a-z0-9+#._-]{1,40}$"
PAGE_TOKEN_PATTERN: Final = r"^[\x21-\x7E]*$"  # noqa: S105 - a pattern, not a secret
TIMESTAMP: Final = "google.protobuf.Timestamp"
DURATION: Final = "google.protobuf.Duration"
"""Durations are JSON numbers of seconds (fractions allowed)."""

_F = FieldDescriptor

# protobuf's stubs type descriptors as unions of its pure-Python and upb classes,
# with optional parts that a field of the right kind always has; these aliases
# keep the walk readable (every access is checked by the kind tested before it).
Descriptor = Any
EnumDescriptor = Any
FieldDesc = Any


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def enum_names(descriptor: EnumDescriptor) -> dict[int, str]:
    """Wire name of every value but zero, by number (``COMMUNITY_VISIBILITY_OPEN`` -> open)."""
    prefix = _snake(descriptor.name) + "_"
    names = {}
    for value in descriptor.values:
        if value.number == 0:
            continue
        name = value.name[len(prefix) :] if value.name.startswith(prefix) else value.name
        names[value.number] = name.lower()
    return names


# --- encoding: message -> JSON-ready dict -----------------------------------------

Encoder = Callable[[Any], Any]
_encoders: dict[str, Callable[[Message], dict[str, Any]]] = {}


def _timestamp(value: Timestamp) -> str:
    # gmtime + one format string: about twice as fast as datetime's isoformat here.
    t = time.gmtime(value.seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{value.nanos // 1_000_000:03d}Z"
    )


def _seconds(value: Duration) -> float:
    return value.seconds + value.nanos / 1e9


def _field_encoder(fd: FieldDesc) -> tuple[str, bool, Encoder | None]:
    """(name, presence-tracked, value encoder or None for plain scalars)."""
    if fd.type == _F.TYPE_ENUM:
        names = enum_names(fd.enum_type)
        return fd.name, fd.has_presence, names.get
    if fd.type == _F.TYPE_MESSAGE:
        if fd.message_type.full_name == TIMESTAMP:
            return fd.name, True, _timestamp
        if fd.message_type.full_name == DURATION:
            return fd.name, True, _seconds
        return fd.name, True, _message_encoder(fd.message_type)
    return fd.name, fd.has_presence and not fd.is_repeated, None


def _default(fd: FieldDesc) -> Any:
    """The JSON of a field that is not set."""
    if fd.is_repeated:
        return ()
    if fd.type in (_F.TYPE_ENUM, _F.TYPE_MESSAGE) or fd.has_presence:
        return None
    if fd.type == _F.TYPE_BOOL:
        return False
    if fd.type == _F.TYPE_STRING:
        return ""
    if fd.type in (_F.TYPE_DOUBLE, _F.TYPE_FLOAT):
        return 0.0
    return 0


def _message_encoder(descriptor: Descriptor) -> Callable[[Message], dict[str, Any]]:
    """An encoder that starts from every field's unset value and walks only the fields
    that are set (``ListFields``, one pass in C), so its cost follows what a message
    holds, not how many fields its type declares."""
    cached = _encoders.get(descriptor.full_name)
    if cached is not None:
        return cached
    template: dict[str, Any] = {}
    plan: dict[int, tuple[str, bool, Encoder | None]] = {}

    def encode(message: Message) -> dict[str, Any]:
        out = dict(template)
        for fd, value in message.ListFields():
            name, repeated, convert = plan[fd.number]
            if repeated:
                out[name] = [convert(v) for v in value] if convert else list(value)
            else:
                out[name] = convert(value) if convert else value
        return out

    _encoders[descriptor.full_name] = encode  # before the fields: messages may recurse
    for fd in descriptor.fields:
        name, _, convert = _field_encoder(fd)
        template[name] = _default(fd)
        plan[fd.number] = (name, fd.is_repeated, convert)
    return encode


def to_json(message: Message) -> dict[str, Any]:
    """``message`` as the API's JSON object (see the module docstring)."""
    return _message_encoder(message.DESCRIPTOR)(message)


# --- decoding: validated JSON -> message --------------------------------------------


def _enum_numbers(descriptor: EnumDescriptor) -> dict[str, int]:
    return {name: number for number, name in enum_names(descriptor).items()}


def _set_scalar(fd: FieldDesc, value: Any) -> Any:
    if fd.type == _F.TYPE_ENUM:
        return 0 if value is None else _enum_numbers(fd.enum_type)[_plain(value)]
    return value


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def fill(message: Message, values: Mapping[str, Any]) -> Message:
    """Set ``values`` (already validated against :func:`input_model`) on ``message``.

    ``None`` leaves a field unset. Returns ``message``.
    """
    descriptor: Descriptor = message.DESCRIPTOR
    for name, value in values.items():
        if value is None:
            continue
        fd: FieldDesc = descriptor.fields_by_name[name]
        if fd.type == _F.TYPE_MESSAGE:
            if fd.message_type.full_name == TIMESTAMP:
                stamp = Timestamp()
                stamp.FromDatetime(value)
                getattr(message, name).CopyFrom(stamp)
            elif fd.message_type.full_name == DURATION:
                getattr(message, name).CopyFrom(
                    Duration(seconds=int(value), nanos=round((value - int(value)) * 1e9))
                )
            elif fd.is_repeated:
                for item in value:
                    fill(getattr(message, name).add(), _as_mapping(item))
            else:
                fill(getattr(message, name), _as_mapping(value))
            if not fd.is_repeated:
                getattr(message, name).SetInParent()
        elif fd.is_repeated:
            getattr(message, name).extend(_set_scalar(fd, v) for v in value)
        else:
            setattr(message, name, _set_scalar(fd, value))
    return message


def _as_mapping(value: Any) -> Mapping[str, Any]:
    if isinstance(value, BaseModel):
        return {
            k: getattr(value, k) for k in type(value).model_fields if k in value.model_fields_set
        }
    if isinstance(value, Mapping):
        return value
    raise TypeError(f"not an object: {type(value).__name__}")


# --- schemas: descriptors -> pydantic models (for OpenAPI and request validation) ----

_enum_classes: dict[str, type[enum.Enum]] = {}
_output_models: dict[str, type[BaseModel]] = {}
_input_models: dict[str, type[BaseModel]] = {}
_names_taken: dict[str, str] = {}


def component_name(full_name: str, short: str) -> str:
    """A component name unique across packages: the short name, or the service prefixed."""
    owner = _names_taken.setdefault(short, full_name)
    if owner == full_name:
        return short
    service = full_name.split(".")[1].capitalize()
    return f"{service}{short}"


def enum_class(descriptor: EnumDescriptor) -> type[enum.Enum]:
    """A str Enum of the wire names (zero excluded), named after the contract's enum."""
    cached = _enum_classes.get(descriptor.full_name)
    if cached is not None:
        return cached
    name = component_name(descriptor.full_name, descriptor.name)
    members = {n.upper(): n for n in enum_names(descriptor).values()}
    made: type[enum.Enum] = enum.Enum(name, members, type=str)  # type: ignore[misc]
    made.__doc__ = f"The contract's {descriptor.name}."
    _enum_classes[descriptor.full_name] = made
    return made


def _output_type(fd: FieldDesc) -> Any:
    if fd.type == _F.TYPE_ENUM:
        base: Any = enum_class(fd.enum_type)
    elif fd.type == _F.TYPE_MESSAGE:
        full = fd.message_type.full_name
        if full == TIMESTAMP:
            base = datetime
        elif full == DURATION:
            base = float
        else:
            base = output_model(fd.message_type)
    else:
        base = _scalar_type(fd)
    if fd.is_repeated:
        return list[base]
    if fd.type in (_F.TYPE_ENUM, _F.TYPE_MESSAGE) or fd.has_presence:
        return base | None
    return base


def _scalar_type(fd: FieldDesc) -> Any:
    if fd.type == _F.TYPE_BOOL:
        return bool
    if fd.type in (_F.TYPE_DOUBLE, _F.TYPE_FLOAT):
        return float
    if fd.type == _F.TYPE_STRING:
        return str
    if fd.type == _F.TYPE_BYTES:
        return bytes
    return int


def output_model(descriptor: Descriptor, name: str | None = None) -> type[BaseModel]:
    """The response schema of a message: every field present (nullable where unset)."""
    found = _output_models.get(descriptor.full_name)
    if found is not None:
        return found
    fields: dict[str, Any] = {}
    for fd in descriptor.fields:
        fields[fd.name] = (_output_type(fd), Field(...))
    model_name = name or component_name(descriptor.full_name, descriptor.name)
    model: type[BaseModel] = create_model(
        model_name, __config__=ConfigDict(extra="forbid"), **fields
    )
    model.__doc__ = f"The contract's {descriptor.full_name}."
    _output_models[descriptor.full_name] = model
    return model


def field_rules(fd: FieldDesc) -> validate_pb2.FieldRules | None:
    """The protovalidate rules declared on a field, or None."""
    options = fd.GetOptions()
    if options.HasExtension(validate_pb2.field):
        rules: validate_pb2.FieldRules = options.Extensions[validate_pb2.field]
        return rules
    return None


def _string_constraints(rules: validate_pb2.StringRules) -> tuple[dict[str, Any], bool]:
    """(pydantic Field kwargs, required) for a string's protovalidate rules."""
    kwargs: dict[str, Any] = {}
    required = False
    ext = rules.Extensions
    if ext[rules_pb2.id]:
        kwargs["pattern"], required = ID_PATTERN, True
    elif ext[rules_pb2.id_or_empty]:
        kwargs["pattern"] = r"^(|[a-z0-9][a-z0-9_-]{0,63})$"
    elif ext[rules_pb2.tag]:
        kwargs["pattern"], required = TAG_PATTERN, True
    elif ext[rules_pb2.tag_or_empty]:
        kwargs["pattern"] = r"^(|[a-z0-9+#._-]{1,40})$"
    elif ext[rules_pb2.page_token]:
        kwargs["pattern"], kwargs["max_length"] = PAGE_TOKEN_PATTERN, 1024
    if ext[rules_pb2.line] or ext[rules_pb2.text]:
        required = True
        kwargs["min_length"] = 1
    if rules.HasField("max_len"):
        kwargs["max_length"] = rules.max_len
    elif rules.HasField("max_bytes"):
        kwargs["max_length"] = rules.max_bytes
    if rules.HasField("pattern"):
        kwargs["pattern"] = rules.pattern
    return kwargs, required


def input_field(fd: FieldDesc) -> tuple[Any, Any]:  # noqa: PLR0912 - a branch per kind
    """(annotation, FieldInfo) of one request field, constraints from its rules."""
    rules = field_rules(fd)
    kwargs: dict[str, Any] = {"description": None}
    required = bool(rules is not None and rules.required)
    item_kwargs: dict[str, Any] = {}
    if fd.type == _F.TYPE_ENUM:
        # Lax for enums only: a JSON string is matched against the names (strict
        # mode would want an Enum instance, which JSON cannot carry).
        base: Any = Annotated[enum_class(fd.enum_type), Field(strict=False)]
        if rules is not None and rules.HasField("enum") and 0 in rules.enum.not_in:
            required = True
    elif fd.type == _F.TYPE_MESSAGE:
        if fd.message_type.full_name == TIMESTAMP:
            base = Annotated[datetime, Field(strict=False)]
        elif fd.message_type.full_name == DURATION:
            base = Annotated[float, Field(strict=False, ge=0, le=315_576_000_000)]
        else:
            base = input_model(fd.message_type)
    elif fd.type == _F.TYPE_STRING:
        base = str
        string_rules = None
        if rules is not None and rules.HasField("string"):
            string_rules = rules.string
        elif (
            rules is not None
            and rules.HasField("repeated")
            and rules.repeated.items.HasField("string")
        ):
            string_rules = rules.repeated.items.string
        if string_rules is not None:
            found, needed = _string_constraints(string_rules)
            if fd.is_repeated:
                item_kwargs = found
            else:
                kwargs.update(found)
                required = required or needed
    elif fd.type in (_F.TYPE_INT32, _F.TYPE_INT64):
        base = int
        kwargs.update(_int_bounds(fd, rules))
        # A plain int whose rules refuse 0 (its default) must be given.
        required = required or kwargs["ge"] > 0
    else:
        base = _scalar_type(fd)
    if fd.has_presence and fd.type != _F.TYPE_MESSAGE:
        # proto3 ``optional``: absent keeps the value, so never required here.
        required = bool(rules is not None and rules.required)
    if fd.is_repeated:
        if item_kwargs:
            base = Annotated[base, Field(**item_kwargs)]
        annotation: Any = list[base]
        if rules is not None and rules.HasField("repeated"):
            if rules.repeated.HasField("max_items"):
                kwargs["max_length"] = rules.repeated.max_items
            if rules.repeated.HasField("min_items") and rules.repeated.min_items > 0:
                kwargs["min_length"] = rules.repeated.min_items
                required = True
        default: Any = ... if required else None
        return (annotation if required else annotation | None), Field(default, **kwargs)
    if required:
        return base, Field(..., **kwargs)
    return base | None, Field(None, **kwargs)


def _int_bounds(fd: FieldDesc, rules: validate_pb2.FieldRules | None) -> dict[str, int]:
    bounds: dict[str, int] = {}
    limit = 2**31 - 1 if fd.type == _F.TYPE_INT32 else 2**53 - 1
    bounds["ge"], bounds["le"] = -limit, limit
    if rules is None:
        return bounds
    if rules.HasField("int32"):
        r32 = rules.int32
        if r32.Extensions[rules_pb2.page_size]:
            bounds["ge"], bounds["le"] = 0, 100
        if r32.HasField("gte"):
            bounds["ge"] = r32.gte
        if r32.HasField("lte"):
            bounds["le"] = r32.lte
    if rules.HasField("int64"):
        r64 = rules.int64
        if r64.HasField("gte"):
            bounds["ge"] = r64.gte
        if r64.HasField("lte"):
            bounds["le"] = r64.lte
    return bounds


def input_model(
    descriptor: Descriptor, *, name: str | None = None, only: Iterable[str] | None = None
) -> type[BaseModel]:
    """A strict request schema of a message (or of the fields ``only`` names)."""
    key = f"{descriptor.full_name}:{name}"
    found = _input_models.get(key)
    if found is not None:
        return found
    wanted = set(only) if only is not None else None
    fields: dict[str, Any] = {}
    for fd in descriptor.fields:
        if wanted is None or fd.name in wanted:
            fields[fd.name] = input_field(fd)
    model_name = name or component_name(descriptor.full_name + ":input", descriptor.name + "Input")
    model: type[BaseModel] = create_model(
        model_name, __config__=ConfigDict(extra="forbid", strict=True), **fields
    )
    model.__doc__ = f"Fields of the contract's {descriptor.full_name}."
    _input_models[key] = model
    return model
