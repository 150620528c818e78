"""Adapters of the post service: MongoDB store and read models, the community client,
the access funnel, event handlers and the gRPC servicer."""
