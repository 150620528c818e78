"""The profile service's use cases, one module per aggregate.

Each reads the current state through the repository, runs the domain rule and
stores the result with its event in one single-document write (the outbox).
No protobuf and no pymongo here: adapters convert on the way in and out.

- :mod:`.common`        the write path every aggregate shares (events, the relay hint,
                        the directory rows that follow a person write)
- :mod:`.orgs`          the home org, partner orgs, suspension
- :mod:`.people`        people, profiles, departments, reports, the manager chain
- :mod:`.directory`     declared and earned expertise, the expert directory
- :mod:`.participants`  who hosts and who authored where (from other services' events)
- :mod:`.access`        the method gate and the one funnel for reading people (partners)
"""
