#!/usr/bin/env python3
"""An HTTP/2 origin for the proxy's tests (loopback only), over python3-h2 and asyncio:
prior knowledge (h2c), or TLS with ALPN h2.

usage: h2_origin.py PORT [--log FILE] [--tls CERT KEY] [--max-streams N] [--goaway-after N]
                          [--connect-protocol]

  GET  /anything    "h2 origin PORT" and the request's fields, as text
  GET  /bytes/N     N bytes of the tests' pattern (harness.PATTERN), with content-length
  GET  /trailers    a body, then the trailer x-checksum: done
  GET  /slow/MS     answers after MS milliseconds
  POST /upload      reads the body and answers its length and sha256

--connect-protocol advertises SETTINGS_ENABLE_CONNECT_PROTOCOL: an extended CONNECT (RFC
8441) is answered 200 and its DATA echoed back, its end ending the echo ("tunnel N
PROTOCOL PATH" in the log). --max-streams sets SETTINGS_MAX_CONCURRENT_STREAMS (python3-h2 refuses a client that
opens more, and the connection breaks); --goaway-after sends GOAWAY after that many
requests on a connection, naming the last one, whose streams finish. The log has
"connect N" per connection and "request N METHOD PATH open=K" per request (K: streams
open on the connection then).
"""
import argparse
import asyncio
import hashlib
import ssl

import h2.config
import h2.connection
import h2.events
import h2.settings

PATTERN = bytes(range(256)) * 64

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("--log")
parser.add_argument("--tls", nargs=2)
parser.add_argument("--max-streams", type=int, default=100)
parser.add_argument("--goaway-after", type=int, default=0)
parser.add_argument("--connect-protocol", action="store_true")
args = parser.parse_args()

connections = 0


def log(line):
    if args.log:
        with open(args.log, "a") as f:
            f.write(line + "\n")


class Connection:
    def __init__(self, reader, writer, number):
        self.reader, self.writer, self.number = reader, writer, number
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.bodies, self.heads = {}, {}
        self.window_open = asyncio.Event()
        self.served = 0
        self.last_stream = None
        self.tunnels = set()

    async def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def send_body(self, stream, body, trailers=None):
        body = memoryview(body)  # slices without copies
        while body:
            window = min(self.conn.local_flow_control_window(stream), self.conn.max_outbound_frame_size)
            if window <= 0:
                self.window_open.clear()
                await self.window_open.wait()
                continue
            piece, body = body[:window], body[window:]
            self.conn.send_data(stream, bytes(piece), end_stream=not body and not trailers)
            await self.flush()
        if trailers:
            self.conn.send_headers(stream, trailers, end_stream=True)
            await self.flush()

    async def answer(self, stream):
        head = self.heads.pop(stream)
        body = bytes(self.bodies.pop(stream, b""))
        method, path = head[":method"], head[":path"]
        log(f"request {self.number} {method} {path} open={self.conn.open_inbound_streams}")
        fields = [(":status", "200"), ("x-origin", "h2")]
        try:
            if path.startswith("/bytes/"):
                n = int(path.split("/")[2])
                self.conn.send_headers(stream, fields + [("content-length", str(n))])
                data = (PATTERN * (n // len(PATTERN) + 1))[:n]
                await self.send_body(stream, data)
            elif path.startswith("/slow/"):
                await asyncio.sleep(int(path.split("/")[2]) / 1000)
                self.conn.send_headers(stream, fields)
                await self.send_body(stream, b"slow\n")
            elif path == "/upload":
                text = f"{len(body)} {hashlib.sha256(body).hexdigest()}\n".encode()
                self.conn.send_headers(stream, fields)
                await self.send_body(stream, text)
            elif path == "/trailers":
                self.conn.send_headers(stream, fields)
                await self.send_body(stream, b"with trailers\n", trailers=[("x-checksum", "done")])
            else:
                text = f"h2 origin {args.port}\n" + "".join(f"{k}: {v}\n" for k, v in head.items())
                self.conn.send_headers(stream, fields)
                await self.send_body(stream, text.encode())
        except Exception:
            pass  # the proxy reset the stream
        if stream == self.last_stream:
            await self.flush()

    async def run(self):
        self.conn.initiate_connection()
        settings = {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: args.max_streams}
        if args.connect_protocol:
            settings[h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL] = 1
        self.conn.update_settings(settings)
        await self.flush()
        tasks = set()
        while True:
            data = await self.reader.read(65536)
            if not data:
                break
            try:
                events = self.conn.receive_data(data)
            except Exception:
                break
            for event in events:
                if isinstance(event, h2.events.RequestReceived):
                    if self.last_stream is not None and event.stream_id > self.last_stream:
                        continue  # after the GOAWAY: refused, the client sends it again
                    head = dict(event.headers)
                    if head.get(":method") == "CONNECT" and ":protocol" in head:
                        log(f"tunnel {self.number} {head[':protocol']} {head[':path']}")
                        self.tunnels.add(event.stream_id)
                        self.conn.send_headers(event.stream_id, [(":status", "200")])
                        continue
                    self.heads[event.stream_id] = head
                    self.bodies[event.stream_id] = bytearray()
                elif isinstance(event, h2.events.DataReceived) and event.stream_id in self.tunnels:
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    self.conn.send_data(event.stream_id, event.data)
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id in self.tunnels:
                    self.tunnels.discard(event.stream_id)
                    self.conn.end_stream(event.stream_id)
                elif isinstance(event, h2.events.DataReceived):
                    self.bodies.setdefault(event.stream_id, bytearray()).extend(event.data)
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    if event.stream_id in self.heads:
                        self.served += 1
                        task = asyncio.ensure_future(self.answer(event.stream_id))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                        if args.goaway_after and self.served == args.goaway_after:
                            self.last_stream = event.stream_id
                            self.conn.close_connection(last_stream_id=event.stream_id)
                            # Streams above it are not acted on, begun or not.
                            for stream in [s for s in self.heads if s > event.stream_id]:
                                del self.heads[stream]
                            # python3-h2 closes its side on a GOAWAY it sends; the streams
                            # it named still finish (RFC 9113 6.8).
                            self.conn.state_machine.state = h2.connection.ConnectionState.SERVER_OPEN
                elif isinstance(event, h2.events.WindowUpdated):
                    self.window_open.set()
                elif isinstance(event, h2.events.StreamReset):
                    self.heads.pop(event.stream_id, None)
            await self.flush()
        for task in tasks:
            task.cancel()
        self.writer.close()


async def serve(reader, writer):
    global connections
    connections += 1
    log(f"connect {connections}")
    await Connection(reader, writer, connections).run()


async def main():
    context = None
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*args.tls)
        context.set_alpn_protocols(["h2"])
    server = await asyncio.start_server(serve, "127.0.0.1", args.port, ssl=context, backlog=1024)
    async with server:
        await server.serve_forever()


asyncio.run(main())
