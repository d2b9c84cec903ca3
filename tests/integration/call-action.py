#!/usr/bin/env python3
"""call-action.py SOCKET ACTION [PARAMS-JSON]: one raw request to the daemon
(docs/protocol.md), for tests that must send what the CLI never sends.
Prints one JSON line per message as it arrives (events, then the reply);
"null" when the daemon closes the connection first."""
import json
import socket
import struct
import sys


def recv_msg(s):
    h = s.recv(4, socket.MSG_WAITALL)
    if len(h) < 4:
        return None
    n = struct.unpack(">I", h)[0]
    b = s.recv(n, socket.MSG_WAITALL)
    return json.loads(b) if len(b) == n else None


def main():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    params = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    body = json.dumps({"v": 1, "id": 1, "action": sys.argv[2], "params": params}).encode()
    s.sendall(struct.pack(">I", len(body)) + body)
    while True:
        m = recv_msg(s)
        print(json.dumps(m), flush=True)
        if m is None or "event" not in m:
            break


main()
