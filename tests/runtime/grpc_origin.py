#!/usr/bin/env python3
"""A gRPC origin for the tests, on python3-grpcio's generic handlers over raw bytes (no
code generation). Service test.Echo:

  Unary   answers b"echo:" + the request, with trailing metadata x-trailer: t1 and
          x-blob-bin: the bytes 0..9
  Server  streams N messages (the request: N, as text, and a size: "N" or "N SIZE")
  Client  answers how many bytes it received, as text
  Bidi    echoes each message as it comes
  Slow    answers after the request's milliseconds; logs "started Slow" as its handler
          starts, and "cancelled Slow" when the call is cancelled first
  Fail    ends with the status the request names ("CODE message")

Each call is logged as "call METHOD". Usage: grpc_origin.py PORT --log FILE [--tls CERT KEY]
"""
import argparse
import time
from concurrent import futures

import grpc


LOG = None


def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


def ident(data):
    return data


def unary(request, context):
    context.set_trailing_metadata((("x-trailer", "t1"), ("x-blob-bin", bytes(range(10)))))
    return b"echo:" + request


def server(request, context):
    parts = request.decode().split()
    count, size = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    for i in range(count):
        message = b"m%d" % i
        yield message + b"." * max(0, size - len(message))


def client(requests, context):
    return str(sum(len(r) for r in requests)).encode()


def bidi(requests, context):
    for r in requests:
        yield r


def slow(request, context):
    log("started Slow")
    deadline = time.time() + int(request.decode()) / 1000
    while time.time() < deadline:
        if not context.is_active():
            log("cancelled Slow")
            return b""
        time.sleep(0.01)
    return b"slow done"


def fail(request, context):
    code, message = request.decode().split(" ", 1)
    status = next(s for s in grpc.StatusCode if s.value[0] == int(code))
    context.abort(status, message)


class Handlers(grpc.GenericRpcHandler):
    def service(self, details):
        method = details.method
        if not method.startswith("/test.Echo/"):
            return None
        name = method[len("/test.Echo/"):]
        log("call " + name)
        if name == "Unary":
            return grpc.unary_unary_rpc_method_handler(unary, ident, ident)
        if name == "Server":
            return grpc.unary_stream_rpc_method_handler(server, ident, ident)
        if name == "Client":
            return grpc.stream_unary_rpc_method_handler(client, ident, ident)
        if name == "Bidi":
            return grpc.stream_stream_rpc_method_handler(bidi, ident, ident)
        if name == "Slow":
            return grpc.unary_unary_rpc_method_handler(slow, ident, ident)
        if name == "Fail":
            return grpc.unary_unary_rpc_method_handler(fail, ident, ident)
        return None


def main():
    global LOG
    parser = argparse.ArgumentParser()
    parser.add_argument("port")
    parser.add_argument("--log", required=True)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    LOG = args.log
    s = grpc.server(futures.ThreadPoolExecutor(32))
    s.add_generic_rpc_handlers((Handlers(),))
    if args.tls:
        with open(args.tls[0], "rb") as c, open(args.tls[1], "rb") as k:
            credentials = grpc.ssl_server_credentials(((k.read(), c.read()),))
        s.add_secure_port(f"127.0.0.1:{args.port}", credentials)
    else:
        s.add_insecure_port(f"127.0.0.1:{args.port}")
    s.start()
    s.wait_for_termination()


if __name__ == "__main__":
    main()
