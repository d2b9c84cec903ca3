#!/usr/bin/env python3
"""Compare the tagged JSON of a TOML decoder with toml-test's expectation.

    toml-compare.py EXPECTED.json ACTUAL.json

Exit 0 when equal, 1 with the first difference on stderr. Comparison is
structural: integers exactly, floats numerically (nan equals nan, the
sign of zero ignored), date-times semantically as toml-test does (T, t
or space separator, z or Z, and fractional seconds of any precision
denote the same value; offset date-times are compared as instants)."""

import datetime
import json
import math
import re
import sys

DT_RE = re.compile(
    r"^(?:(\d{4})-(\d{2})-(\d{2}))?"
    r"(?:[Tt ]?(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?$"
)


class Mismatch(Exception):
    pass


def datetime_key(kind, text):
    m = DT_RE.match(text)
    if not m or not text:
        raise Mismatch(f"unparseable {kind} {text!r}")
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    nanos = int((frac or "")[:9].ljust(9, "0"))
    has_date, has_time = y is not None, h is not None
    has_offset = z is not None or sign is not None
    expected = {
        "datetime": (True, True, True),
        "datetime-local": (True, True, False),
        "date-local": (True, False, False),
        "time-local": (False, True, False),
    }[kind]
    if (has_date, has_time, has_offset) != expected:
        raise Mismatch(f"{text!r} is not a {kind}")
    if kind == "datetime":
        offset = 0 if z else (1 if sign == "+" else -1) * (int(oh) * 60 + int(om))
        # Leap second 60 has no datetime; keep it as an extra second.
        leap = int(s) == 60
        when = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s) - leap)
        when -= datetime.timedelta(minutes=offset)
        return (when.isoformat(), leap, nanos)
    return (y, mo, d, h, mi, s, nanos)


def scalar_equal(kind, exp, act):
    if kind == "integer":
        return int(exp) == int(act)
    if kind == "float":
        e, a = float(exp), float(act)
        if math.isnan(e) or math.isnan(a):
            return math.isnan(e) and math.isnan(a)
        return e == a
    if kind in ("datetime", "datetime-local", "date-local", "time-local"):
        return datetime_key(kind, exp) == datetime_key(kind, act)
    return exp == act


def is_tagged(v):
    return isinstance(v, dict) and set(v) == {"type", "value"} and isinstance(v.get("type"), str) \
        and isinstance(v.get("value"), str)


def compare(exp, act, path):
    where = path or "<root>"
    if is_tagged(exp):
        if not is_tagged(act):
            raise Mismatch(f"{where}: expected {exp['type']} {exp['value']!r}, got {json.dumps(act)[:80]}")
        if exp["type"] != act["type"]:
            raise Mismatch(f"{where}: expected type {exp['type']}, got {act['type']}")
        try:
            equal = scalar_equal(exp["type"], exp["value"], act["value"])
        except ValueError as e:
            raise Mismatch(f"{where}: cannot compare {exp['value']!r} with {act['value']!r}: {e}")
        if not equal:
            raise Mismatch(f"{where}: expected {exp['type']} {exp['value']!r}, got {act['value']!r}")
        return
    if isinstance(exp, dict):
        if not isinstance(act, dict) or is_tagged(act):
            raise Mismatch(f"{where}: expected a table, got {json.dumps(act)[:80]}")
        if set(exp) != set(act):
            missing = sorted(set(exp) - set(act))
            extra = sorted(set(act) - set(exp))
            raise Mismatch(f"{where}: keys differ: missing {missing}, unexpected {extra}")
        for k in exp:
            compare(exp[k], act[k], f"{path}.{k}" if path else k)
        return
    if isinstance(exp, list):
        if not isinstance(act, list):
            raise Mismatch(f"{where}: expected an array, got {json.dumps(act)[:80]}")
        if len(exp) != len(act):
            raise Mismatch(f"{where}: expected {len(exp)} array elements, got {len(act)}")
        for i, (e, a) in enumerate(zip(exp, act)):
            compare(e, a, f"{where}[{i}]")
        return
    raise Mismatch(f"{where}: unexpected JSON in expectation: {json.dumps(exp)[:80]}")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        expected = json.load(f)
    try:
        with open(sys.argv[2], encoding="utf-8") as f:
            actual = json.load(f)
    except ValueError as e:
        print(f"decoder output is not JSON: {e}", file=sys.stderr)
        return 1
    try:
        compare(expected, actual, "")
    except Mismatch as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
