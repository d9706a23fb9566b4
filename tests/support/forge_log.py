#!/usr/bin/env python3
"""What someone who can write a data directory (but not a witness kept
elsewhere) can do to its access log, for the tests.

  forge_log.py rewrite AUDIT_DB FROM TO
      replaces FROM by TO in every entry, recomputes every leaf hash and every
      stored subtree hash (RFC 6962), and deletes the signed checkpoints;
  forge_log.py legacy-tail AUDIT_DB N [FROM]
      writes N events from seq FROM (default: the log's end) into its journal
      in the earlier, unkeyed record format (a chain of SHA-256 checks anyone
      can compute); from before the log's end, it is what an earlier version
      leaves behind after a clean stop."""
import hashlib
import sqlite3
import struct
import sys
import time

STORED_LEVEL = 4


def node(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def rewrite(db, old, new):
    c = sqlite3.connect(db)
    rows = c.execute("SELECT seq, entry FROM audit_event ORDER BY seq").fetchall()
    leaves = []
    for seq, entry in rows:
        entry = bytes(entry).replace(old.encode(), new.encode())
        leaf = hashlib.sha256(b"\x00" + entry).digest()
        c.execute("UPDATE audit_event SET entry = ?, leaf_hash = ? WHERE seq = ?",
                  (entry, leaf, seq))
        leaves.append(leaf)
    c.execute("DELETE FROM audit_node")
    level, hashes = 0, leaves
    while len(hashes) > 1:
        hashes = [node(hashes[i], hashes[i + 1]) for i in range(0, len(hashes) - 1, 2)]
        level += 1
        if level >= STORED_LEVEL:
            for idx, h in enumerate(hashes):
                c.execute("INSERT INTO audit_node (level, idx, hash) VALUES (?, ?, ?)",
                          (level, idx, h))
    c.execute("DELETE FROM audit_checkpoint")
    c.commit()
    c.close()


def legacy_tail(db, n, start=None):
    c = sqlite3.connect(db)
    size = c.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_event").fetchone()[0]
    c.close()
    if start is not None:
        size = start
    out, prev = b"", b"\x00" * 16
    for seq in range(size, size + n):
        t = int(time.time() * 1e6)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 1000000))
        entry = ('{"seq":%d,"time":"%s.%06dZ","action":"record.read","outcome":"allow",'
                 '"user":1,"record":%d}' % (seq, stamp, t % 1000000, 900 + seq)).encode()
        leaf = hashlib.sha256(b"\x00" + entry).digest()
        head = struct.pack("<IIQqqqq48s8s32s16s", 0x324A5453, len(entry), seq, t, 1, 0,
                           900 + seq, b"record.read", b"allow", leaf, prev)
        check = hashlib.sha256(head).digest()[:16]
        out += head + check + entry + b"\x00" * ((8 - len(entry) % 8) % 8)
        prev = check
    journal = db[:-3] + "-journal-1" if db.endswith(".db") else db + "-journal-1"
    with open(journal, "r+b") as f:
        f.write(out)


if sys.argv[1] == "rewrite":
    rewrite(sys.argv[2], sys.argv[3], sys.argv[4])
elif sys.argv[1] == "legacy-tail":
    legacy_tail(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else None)
else:
    sys.exit("unknown forgery " + sys.argv[1])
