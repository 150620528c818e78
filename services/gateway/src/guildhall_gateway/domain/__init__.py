"""The gateway's pure rules: problem types, partner scoping, the audit chain. No I/O."""
