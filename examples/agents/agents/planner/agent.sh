#!/bin/sh
# A stand-in agent: prints a heartbeat every few seconds until stopped.
# Replace it with your real agent; it runs in /home of its workspace.
name=${1:-agent}
trap 'echo "$name: stopping"; exit 0' TERM INT
echo "$name: started as $(id -un 2>/dev/null || id -u) on $(hostname) in $(pwd)"
n=0
while :; do
        n=$((n + 1))
        echo "$name: heartbeat $n ($(date -u +%H:%M:%S))"
        sleep 5 &
        wait $!
done
