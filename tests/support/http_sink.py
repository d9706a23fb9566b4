#!/usr/bin/env python3
"""An HTTP sink for the tests: on 127.0.0.1, on a free port that it writes to
PORTFILE once listening; the body of each POST is saved as DIR/N.json and
answered 201.

usage: http_sink.py PORTFILE DIR"""
import http.server
import os
import sys


class Sink(http.server.BaseHTTPRequestHandler):
    count = 0

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        Sink.count += 1
        base = os.path.join(self.server.folder, str(Sink.count))
        with open(base + ".tmp", "wb") as f:
            f.write(body)
        os.rename(base + ".tmp", base + ".json")
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


portfile, folder = sys.argv[1], sys.argv[2]
os.makedirs(folder, exist_ok=True)
server = http.server.HTTPServer(("127.0.0.1", 0), Sink)
server.folder = folder
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
