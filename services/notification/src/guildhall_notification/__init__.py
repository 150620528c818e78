"""Guildhall notification service: subscriptions, inbox, digests, webhooks, expert routing."""
