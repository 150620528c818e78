"""The generated package works as an outside developer would use it.

It imports, it registers the protovalidate rules with the messages, bad input
gives violations that name the field, good input passes, and the contracts
keep the conventions of docs/adr/0003-contracts.md (every request field has a
rule; every id field uses the shared id rule).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import protovalidate
import pytest
from buf.validate import validate_pb2
from google.protobuf import descriptor, message_factory, timestamp_pb2
from google.protobuf.message import Message

import guildhall
from guildhall.community.v1 import community_pb2, community_pb2_grpc
from guildhall.events.v1 import envelope_pb2
from guildhall.post.v1 import events_pb2 as post_events_pb2
from guildhall.post.v1 import post_pb2
from guildhall.profile.v1 import profile_pb2
from guildhall.rules.v1 import rules_pb2

ULID = "01jc7x9m4q8v2n5k3r6t0w1y2z"
SERVICES = ("profile", "community", "post", "notification", "gateway")


def _modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.walk_packages(guildhall.__path__, "guildhall.")]
    return [importlib.import_module(name) for name in sorted(names)]


def _paths(message: Message) -> list[str]:
    """Violated field paths as dotted strings, e.g. "principal.person_id", "tags[1]"."""
    rendered = []
    for violation in protovalidate.collect_violations(message):
        parts = []
        field_path = violation.proto.field
        assert field_path is not None, "a violation of a field rule names the field"
        for element in field_path.elements:
            part = element.field_name
            if element.subscript is not None:
                part += f"[{element.subscript.value}]"
            parts.append(part)
        rendered.append(".".join(parts))
    return sorted(rendered)


def _rule_ids(message: Message) -> list[str]:
    return sorted(v.proto.rule_id for v in protovalidate.collect_violations(message))


def test_every_generated_module_imports() -> None:
    modules = {m.__name__ for m in _modules()}
    for service in SERVICES:
        assert f"guildhall.{service}.v1.{service}_pb2" in modules
        assert f"guildhall.{service}.v1.{service}_pb2_grpc" in modules
        assert f"guildhall.{service}.v1.events_pb2" in modules
    assert "guildhall.events.v1.envelope_pb2" in modules


def test_service_stubs_and_servicers_exist() -> None:
    for service in SERVICES:
        grpc_module = importlib.import_module(f"guildhall.{service}.v1.{service}_pb2_grpc")
        name = f"{service.capitalize()}Service"
        assert hasattr(grpc_module, f"{name}Stub")
        assert hasattr(grpc_module, f"{name}Servicer")
        assert hasattr(grpc_module, f"add_{name}Servicer_to_server")
    assert callable(community_pb2_grpc.CommunityServiceStub)


def test_a_good_request_passes() -> None:
    request = community_pb2.CheckAccessRequest(
        principal=community_pb2.Principal(
            person_id=ULID,
            org_id="home",
            kind=community_pb2.PRINCIPAL_KIND_EMPLOYEE,
        ),
        space_id=ULID,
        action=community_pb2.ACTION_READ,
    )
    protovalidate.validate(request)
    assert protovalidate.collect_violations(request) == []


def test_bad_fields_are_named_by_path() -> None:
    request = community_pb2.CheckAccessRequest(
        principal=community_pb2.Principal(
            person_id="Not An Id!",
            org_id="home",
            kind=community_pb2.PRINCIPAL_KIND_PARTNER_USER,
        ),
        space_id=ULID,
        action=community_pb2.ACTION_UNSPECIFIED,
    )
    assert _paths(request) == ["action", "principal.person_id"]
    with pytest.raises(protovalidate.ValidationError) as excinfo:
        protovalidate.validate(request)
    assert "principal.person_id" in str(excinfo.value)


def test_a_missing_required_message_is_named() -> None:
    request = community_pb2.CheckAccessRequest(space_id=ULID, action=community_pb2.ACTION_POST)
    assert _paths(request) == ["principal"]


def test_repeated_items_are_named_with_their_index() -> None:
    request = post_pb2.CreatePostRequest(
        space_id=ULID,
        type=post_pb2.POST_TYPE_QUESTION,
        title="How do we onboard a supplier?",
        body="Steps, please.",
        tags=["procurement", "Bad Tag"],
    )
    assert _paths(request) == ["tags[1]"]
    assert _rule_ids(request) == ["guildhall.tag"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (ULID, True),
        ("home", True),
        ("e-123_456", True),
        ("a" * 64, True),
        ("", False),
        ("a" * 65, False),
        ("UPPER", False),
        ("-leading", False),
        ("white space", False),
        ('{"$gt": ""}', False),
    ],
)
def test_id_format(value: str, ok: bool) -> None:
    request = profile_pb2.GetPersonRequest(person_id=value)
    assert _paths(request) == ([] if ok else ["person_id"])


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("Zoë Müller-Łukasz", True),
        ("山田 太郎", True),
        ("x", True),
        ("", False),
        (" leading", False),
        ("trailing ", False),
        ("two\nlines", False),
        ("tab\there", False),
        ("bidi\u202eoverride", False),
    ],
)
def test_line_format(value: str, ok: bool) -> None:
    request = profile_pb2.RegisterOrgRequest(kind=profile_pb2.ORG_KIND_VENDOR, display_name=value)
    assert _paths(request) == ([] if ok else ["display_name"])


def test_or_empty_rules_let_an_update_clear_a_field() -> None:
    clear = profile_pb2.UpdatePersonRequest(person_id=ULID, title="", manager_id="")
    assert _paths(clear) == []
    bad = profile_pb2.UpdatePersonRequest(person_id=ULID, title=" x", manager_id="X")
    assert _paths(bad) == ["manager_id", "title"]
    # An optional filter may be empty, but not malformed.
    assert _paths(post_pb2.ListSpaceFeedRequest(space_id=ULID, tag="")) == []
    assert _paths(post_pb2.ListSpaceFeedRequest(space_id=ULID, tag="No!")) == ["tag"]
    # display_name may be changed but not cleared.
    assert _paths(profile_pb2.UpdateMyProfileRequest(display_name="")) == ["display_name"]


def test_enums_reject_unspecified_and_unknown_values() -> None:
    unspecified = profile_pb2.RegisterOrgRequest(display_name="Acme")
    assert _paths(unspecified) == ["kind"]
    home = profile_pb2.RegisterOrgRequest(kind=profile_pb2.ORG_KIND_HOME, display_name="Acme")
    assert _paths(home) == ["kind"]
    unknown = community_pb2.ChangeRoleRequest(community_id=ULID, person_id=ULID, role=99)  # type: ignore[arg-type]
    assert _paths(unknown) == ["role"]


def test_page_size_bounds() -> None:
    for size, ok in ((0, True), (1, True), (100, True), (101, False), (-1, False)):
        request = community_pb2.ListMembersRequest(community_id=ULID, page_size=size)
        assert _paths(request) == ([] if ok else ["page_size"])


def test_page_token_format() -> None:
    for token, ok in (
        ("", True),
        ("abc-_=+/", True),
        ("x" * 1024, True),
        ("x" * 1025, False),
        ("a b", False),
    ):
        request = community_pb2.ListMembersRequest(community_id=ULID, page_token=token)
        assert _paths(request) == ([] if ok else ["page_token"])


def test_text_format() -> None:
    for body, ok in (("line one\n\tline two\r\n", True), ("   \n", False), ("nul\x00", False)):
        request = community_pb2.ProposePinholeRequest(community_id=ULID, title="T", purpose=body)
        assert _paths(request) == ([] if ok else ["purpose"])


def test_pinhole_expiry_must_be_in_the_future() -> None:
    past = timestamp_pb2.Timestamp(seconds=1_000_000_000)
    request = community_pb2.ProposePinholeRequest(
        community_id=ULID, title="Supplier onboarding", purpose="Work with Acme.", expires_at=past
    )
    assert _paths(request) == ["expires_at"]


def _request_messages() -> list[descriptor.Descriptor]:
    """Every message that is an RPC input, and the messages nested in them."""
    seen: dict[str, descriptor.Descriptor] = {}

    def visit(message: descriptor.Descriptor) -> None:
        if message.full_name in seen or message.full_name.startswith("google.protobuf."):
            return
        seen[message.full_name] = message
        for field in message.fields:
            if field.message_type is not None:
                visit(field.message_type)

    for module in _modules():
        file_descriptor = getattr(module, "DESCRIPTOR", None)
        if not isinstance(file_descriptor, descriptor.FileDescriptor):
            continue
        for service in file_descriptor.services_by_name.values():
            for method in service.methods:
                visit(method.input_type)
    return sorted(seen.values(), key=lambda m: m.full_name)


def _rules(field: descriptor.FieldDescriptor) -> validate_pb2.FieldRules | None:
    options = field.GetOptions()
    if not options.HasExtension(validate_pb2.field):
        return None
    return options.Extensions[validate_pb2.field]


def test_the_rules_of_every_request_compile() -> None:
    # Rules are CEL and regular expressions compiled when first used; a typo
    # in one would otherwise surface only when its message is first
    # validated in production.
    for message in _request_messages():
        protovalidate.collect_violations(message_factory.GetMessageClass(message)())


def test_every_request_field_has_a_rule() -> None:
    # Booleans have nothing to check; every other field of a request states
    # its rule, so bad input is rejected the same way by every server.
    missing = [
        field.full_name
        for message in _request_messages()
        for field in message.fields
        if field.type != descriptor.FieldDescriptor.TYPE_BOOL
        and _rules(field) is None
        # A nested message without a rule of its own is still validated
        # field by field (LanguageList, for example).
        and field.message_type is None
    ]
    assert missing == []


def test_every_request_id_field_uses_the_shared_id_rule() -> None:
    id_rules = (rules_pb2.id, rules_pb2.id_or_empty)
    wrong = []
    for message in _request_messages():
        for field in message.fields:
            if not field.name.endswith(("_id", "_ids")):
                continue
            rules = _rules(field)
            string_rules = None
            if rules is not None:
                string_rules = rules.repeated.items.string if field.is_repeated else rules.string
            if string_rules is None or not any(string_rules.Extensions[r] for r in id_rules):
                wrong.append(field.full_name)
    assert wrong == []


def test_events_travel_in_an_envelope() -> None:
    event = post_events_pb2.AnswerAccepted(
        answer_id=ULID,
        question_id=ULID,
        space_id=ULID,
        answer_author_id="alice",
        accepted_by="bob",
        question_tags=["sap-fi"],
    )
    envelope = envelope_pb2.EventEnvelope(
        id=ULID,
        type=event.DESCRIPTOR.full_name,
        source="guildhall/post",
        subject=event.question_id,
        data_content_type="application/protobuf",
        data=event.SerializeToString(),
    )
    stored = envelope_pb2.EventEnvelope.FromString(envelope.SerializeToString())
    assert stored.type == "guildhall.post.v1.AnswerAccepted"
    assert post_events_pb2.AnswerAccepted.FromString(stored.data) == event
