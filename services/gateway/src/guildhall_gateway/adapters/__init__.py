"""The gateway's adapters: HTTP in, the services' gRPC and MongoDB out."""
