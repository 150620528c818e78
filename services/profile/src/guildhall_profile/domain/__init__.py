"""The profile service's domain: organisations, people, expertise and partner visibility.

Pure Python, no I/O: no database, broker, network or clock. The application
layer reads the current state, calls these functions with it and ``now``,
and stores what they return (state and event together, through the outbox).

Map:

- :mod:`.model`       Org, Person, EarnedTag, their enums and limits, list keys
- :mod:`.orgs`        the home org, partner registration, suspension, reinstatement
- :mod:`.people`      creating people, profile edits, the manager chain walk and cycle check
- :mod:`.expertise`   declared and earned expertise, answer credits, directory rows and search
- :mod:`.visibility`  which people a partner user may see (ADR 0005)
- :mod:`.events`      the events published
"""
