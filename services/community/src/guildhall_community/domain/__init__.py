"""The community service's domain: communities, memberships, pinholes and the access decision.

Pure Python, no I/O: no database, broker, network or clock. Adapters (gRPC
handlers, the Mongo repository, the outbox) read current state, call these
functions with it and ``now``, and apply what they return.

Map:

- :mod:`.principal`    who is asking (employee or partner user, home admin)
- :mod:`.model`        the state: Community, Membership, Pinhole, their enums and input rules
- :mod:`.access`       the access decision (:func:`decide`, :func:`list_spaces`) and the one
                       funnel every operation goes through (:func:`access_community`,
                       :func:`access_pinhole`)
- :mod:`.communities`  community and membership operations
- :mod:`.pinholes`     pinhole operations and the expiry sweep
- :mod:`.changes`      what operations return: ordered document writes with their events
- :mod:`.events`       the events published

The rules are written down in docs/access-model.md.
"""

from .access import (
    AccessFacts,
    Action,
    CommunitySpace,
    PinholeSpace,
    Space,
    SpaceAccess,
    SpaceKind,
    View,
    access_community,
    access_pinhole,
    allowed_actions,
    can_see,
    decide,
    effective_state,
    facts_for,
    list_spaces,
    missing_community,
    missing_pinhole,
    view,
    visible_grants,
)
from .changes import NO_CHANGE, Change, Write
from .communities import (
    approve_request,
    archive_community,
    change_role,
    create_community,
    invite,
    join,
    leave,
    reconcile_membership,
    reject_request,
    remove_member,
    request_membership,
    update_community,
)
from .events import (
    CommunityCreated,
    CommunityUpdated,
    Event,
    JoinPath,
    JoinRequested,
    JoinRequestRejected,
    LeaveReason,
    MemberJoined,
    MemberLeft,
    PinholeClosed,
    PinholeGranted,
    PinholeOpened,
    PinholeProposed,
    PinholeRevoked,
    RoleChanged,
)
from .model import (
    CloseReason,
    Community,
    CommunityState,
    Grant,
    GrantLevel,
    JoinRequest,
    JoinRequestState,
    Membership,
    MembershipStatus,
    PartnerOrg,
    Pinhole,
    PinholeOpenPolicy,
    PinholeState,
    Role,
    Visibility,
)
from .pinholes import close_lapsed, close_pinhole, grant, open_pinhole, propose_pinhole, revoke
from .principal import Principal, PrincipalKind, require_employee

__all__ = [
    "NO_CHANGE",
    "AccessFacts",
    "Action",
    "Change",
    "CloseReason",
    "Community",
    "CommunityCreated",
    "CommunitySpace",
    "CommunityState",
    "CommunityUpdated",
    "Event",
    "Grant",
    "GrantLevel",
    "JoinPath",
    "JoinRequest",
    "JoinRequestRejected",
    "JoinRequestState",
    "JoinRequested",
    "LeaveReason",
    "MemberJoined",
    "MemberLeft",
    "Membership",
    "MembershipStatus",
    "PartnerOrg",
    "Pinhole",
    "PinholeClosed",
    "PinholeGranted",
    "PinholeOpenPolicy",
    "PinholeOpened",
    "PinholeProposed",
    "PinholeRevoked",
    "PinholeSpace",
    "PinholeState",
    "Principal",
    "PrincipalKind",
    "Role",
    "RoleChanged",
    "Space",
    "SpaceAccess",
    "SpaceKind",
    "View",
    "Visibility",
    "Write",
    "access_community",
    "access_pinhole",
    "allowed_actions",
    "approve_request",
    "archive_community",
    "can_see",
    "change_role",
    "close_lapsed",
    "close_pinhole",
    "create_community",
    "decide",
    "effective_state",
    "facts_for",
    "grant",
    "invite",
    "join",
    "leave",
    "list_spaces",
    "missing_community",
    "missing_pinhole",
    "open_pinhole",
    "propose_pinhole",
    "reconcile_membership",
    "reject_request",
    "remove_member",
    "request_membership",
    "require_employee",
    "revoke",
    "update_community",
    "view",
    "visible_grants",
]
