"""The notification service's rules: pure, typed, no I/O."""
