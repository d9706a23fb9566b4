#!/usr/bin/env python3
"""A mail sink for the tests: a real SMTP server (aiosmtpd) on 127.0.0.1, on a
free port that it writes to PORTFILE once listening; each message received is
saved as DIR/N.eml (as received) with its envelope recipients in DIR/N.rcpt.

usage: smtp_sink.py PORTFILE DIR"""
import asyncio
import os
import sys

from aiosmtpd.smtp import SMTP


class Saver:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.folder, str(self.count))
        with open(base + ".rcpt", "w") as f:
            f.write("\n".join(envelope.rcpt_tos) + "\n")
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 OK"


async def main(portfile, folder):
    os.makedirs(folder, exist_ok=True)
    loop = asyncio.get_running_loop()
    handler = Saver(folder)
    server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(portfile + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(portfile + ".tmp", portfile)
    await asyncio.Event().wait()


asyncio.run(main(sys.argv[1], sys.argv[2]))
