"""The profile service's domain: organisations, people, expertise and partner visibility.

Pure Python, no I/O: no database, broker, network or clock. Adapters read the
current state, call these functions with it and ``now``, and store what they
return (state and event together, through the outbox).

Map:

- :mod:`.model`       Org, Person, EarnedTag and their enums and limits
- :mod:`.orgs`        the home org, partner registration, suspension, reinstatement
- :mod:`.people`      creating people, profile edits, the manager chain walk and cycle check
- :mod:`.expertise`   declared and earned expertise, directory rows, the directory search
- :mod:`.listing`     which ordered lists a person stands in, and their entries (ADR 0011)
- :mod:`.visibility`  which people a partner user may see (ADR 0005)
- :mod:`.paging`      page sizes and page tokens
- :mod:`.events`      the events published
"""
