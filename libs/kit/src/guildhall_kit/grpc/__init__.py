"""The grpc.aio server bootstrap, its one interceptor, and client helpers."""

from guildhall_kit.grpc.client import call_options, make_channel
from guildhall_kit.grpc.interceptor import RpcInterceptor
from guildhall_kit.grpc.server import LIVENESS_SERVICE, GrpcApp

__all__ = ["LIVENESS_SERVICE", "GrpcApp", "RpcInterceptor", "call_options", "make_channel"]
