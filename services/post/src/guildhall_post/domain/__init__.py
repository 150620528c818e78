"""The post service's domain: content life cycles and the access rules it applies.

Pure: no I/O, no clock (callers pass ``now``), no protobuf. Adapters in
:mod:`guildhall_post.adapters` read and write state and call these functions.

- :mod:`.access`     the employee access rules over the community read model, the funnel checks
- :mod:`.content`    posts, answers, comments: who may do what, idea workflow, votes, accepting
- :mod:`.links`      links between items and their shaping per reader
- :mod:`.revisions`  revision history and diffs
- :mod:`.cursor`     page tokens (keyset positions)
"""
