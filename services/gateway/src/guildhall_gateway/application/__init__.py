"""The gateway's use cases: partner scoping, the audit trail, rate limits."""
