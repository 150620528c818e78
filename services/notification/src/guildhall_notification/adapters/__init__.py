"""Adapters: gRPC in; MongoDB, Kafka, the community service, SMTP and HTTP out."""
