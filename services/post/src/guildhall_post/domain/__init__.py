"""The post service's domain: the items of a space, their life cycles, and the access
rules the service applies.

Pure: no I/O, no clock (callers pass ``now``), no protobuf. The application layer
(:mod:`guildhall_post.application`) orchestrates these rules over the ports its
adapters implement.

- :mod:`.access`     the employee access rules over the community read model, the funnel checks
- :mod:`.content`    what every item shares: states, reactions, who may edit or see it
- :mod:`.posts`      :class:`~.posts.Post` and its types, who may create which
- :mod:`.ideas`      the idea workflow
- :mod:`.answers`    :class:`~.answers.Answer`, votes, accepting an answer
- :mod:`.comments`   :class:`~.comments.Comment` and its one-level threads
- :mod:`.revisions`  :class:`~.revisions.Revision`, history and diffs
- :mod:`.links`      links between items and their shaping per reader
"""
