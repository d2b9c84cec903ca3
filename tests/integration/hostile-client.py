#!/usr/bin/env python3
"""hostile-client.py SOCKET COMMAND ...: a client that hands the daemon
what the CLI never would (tests/integration/test-quotas.sh).

  opath PATH SB WS            snapshot.import of an O_PATH fd to PATH; prints the reply
  fifo SB WS FIFO READY       snapshot.import of a FIFO opened read-write (so it
                              never ends), touches READY, then goes away
  pipe-export SB WS NAME READY
                              snapshot.export into a pipe whose read end a child
                              keeps and never reads; touches READY (holding the
                              child's pid), then goes away
  follow SB WS N SECS         N connections each asking workspace.logs --follow;
                              prints "accepted A busy B", holds them SECS seconds
  conns N SECS                N idle connections; prints "open A refused B",
                              holds them SECS seconds
"""
import array
import json
import os
import socket
import struct
import sys
import time


def frame(obj):
    b = json.dumps(obj).encode()
    return struct.pack(">I", len(b)) + b


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def send(s, action, params, fd=None):
    req = {"v": 1, "id": 1, "action": action, "params": params}
    if fd is not None:
        req["fds"] = 1
    data = frame(req)
    if fd is None:
        s.sendall(data)
    else:
        s.sendmsg([data[:1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
        s.sendall(data[1:])


def recv_msg(s, timeout):
    s.settimeout(timeout)
    try:
        h = s.recv(4, socket.MSG_WAITALL)
        if len(h) < 4:
            return None
        n = struct.unpack(">I", h)[0]
        return json.loads(s.recv(n, socket.MSG_WAITALL))
    except (socket.timeout, ConnectionError):
        return None


def reply(s, timeout=60):
    while True:
        m = recv_msg(s, timeout)
        if m is None or "event" not in m:
            return m


def touch(path, text=""):
    with open(path, "w") as f:
        f.write(text)


def main():
    sock, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "opath":
        path, sb, ws = args
        fd = os.open(path, os.O_PATH)
        s = connect(sock)
        send(s, "snapshot.import", {"sandbox": sb, "workspace": ws, "name": "stolen"}, fd)
        print(json.dumps(reply(s)))
    elif cmd == "fifo":
        sb, ws, fifo, ready = args
        fd = os.open(fifo, os.O_RDWR)
        s = connect(sock)
        send(s, "snapshot.import", {"sandbox": sb, "workspace": ws, "name": "never"}, fd)
        time.sleep(1)
        touch(ready)
    elif cmd == "pipe-export":
        sb, ws, name, ready = args
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(w)
            time.sleep(120)
            os._exit(0)
        os.close(r)
        s = connect(sock)
        send(s, "snapshot.export", {"sandbox": sb, "workspace": ws, "name": name}, w)
        time.sleep(1)
        touch(ready, str(pid))
    elif cmd == "follow":
        sb, ws, n, secs = args[0], args[1], int(args[2]), float(args[3])
        opened, conns, busy = [], [], 0
        for _ in range(n):
            s = connect(sock)
            send(s, "workspace.logs", {"sandbox": sb, "workspace": ws, "follow": True, "tail": 0})
            opened.append(s)
        time.sleep(1)
        for s in opened:
            m = recv_msg(s, 0.05)
            if m is not None and "error" in m:
                busy += 1
                sys.stderr.write(m["error"]["message"] + "\n")
                s.close()
            else:
                conns.append(s)
        print(f"accepted {len(conns)} busy {busy}", flush=True)
        time.sleep(secs)
    elif cmd == "conns":
        n, secs = int(args[0]), float(args[1])
        conns, refused = [], 0
        for _ in range(n):
            s = connect(sock)
            try:
                send(s, "daemon.ping", {})
            except OSError:
                pass  # refused at once: the busy error waits to be read
            m = recv_msg(s, 2.0)
            if m is None or "error" in m:
                refused += 1
                if m is not None:
                    sys.stderr.write(m["error"]["message"] + "\n")
                s.close()
            else:
                conns.append(s)
        print(f"open {len(conns)} refused {refused}", flush=True)
        time.sleep(secs)
    else:
        sys.exit(f"unknown command {cmd}")


main()
