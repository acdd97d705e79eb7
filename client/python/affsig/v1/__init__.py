"""affsig's API (proto/affsig/v1/signature_service.proto): the messages and the gRPC stub,
generated at build time by protoc and grpc_python_plugin."""
