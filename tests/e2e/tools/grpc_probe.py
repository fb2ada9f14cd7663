#!/usr/bin/python3
"""A gRPC client Tilmash did not write (Debian's python3-grpcio): asks a plaintext loopback
daemon, without a token, for grpc.health.v1 or server reflection.

  grpc_probe.py HOST:PORT health   prints SERVING, NOT_SERVING, UNKNOWN or ERROR <code>
  grpc_probe.py HOST:PORT list     prints every service reflection lists, one a line

grpc_health / grpc_reflection are used when installed; otherwise the messages are raw bytes
(Debian ships grpcio without them), which is what any client sends on the wire.
"""
import sys

import grpc


def varint(data, i):
    shift = value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def fields(data):
    """(field number, wire type, value) of a protobuf message; length-delimited values as bytes."""
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(data, i)
        elif wire == 2:
            n, i = varint(data, i)
            value, i = data[i:i + n], i + n
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        yield number, wire, value


def health(channel):
    try:
        from grpc_health.v1 import health_pb2, health_pb2_grpc
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    except ImportError:
        pass
    # HealthCheckRequest{service: ""} is empty; the reply is status = field 1 (varint).
    reply = channel.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=5)
    status = {n: v for n, w, v in fields(reply)}.get(1, 0)
    return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}.get(status, str(status))


def services(channel):
    try:
        from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        for reply in stub.ServerReflectionInfo(iter([request]), timeout=5):
            return [s.name for s in reply.list_services_response.service]
    except ImportError:
        pass
    # ServerReflectionRequest{list_services = 7: ""}; the reply's list_services_response is
    # field 6, a ListServiceResponse of services (field 1) with a name (field 1).
    call = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    names = []
    for reply in call(iter([b"\x3a\x00"]), timeout=5):
        for number, _, value in fields(reply):
            if number == 6:
                for n, _, service in fields(value):
                    if n == 1:
                        names += [v.decode() for m, _, v in fields(service) if m == 1]
        break
    return names


def main():
    address, what = sys.argv[1], sys.argv[2]
    # The daemon's --plaintext is gRPC local credentials (loopback TCP), not an insecure channel.
    creds = grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP)
    with grpc.secure_channel(address, creds) as channel:
        try:
            if what == "health":
                print(health(channel))
            else:
                print("\n".join(services(channel)))
        except grpc.RpcError as e:
            print("ERROR", e.code().name, e.details())
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
