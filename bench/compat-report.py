#!/usr/bin/env python3
"""Compare two CPython regrtest runs (bench/compat.sh): Enclave and bwrap.

usage: compat-report.py ENCLAVE.log ENCLAVE.xml BWRAP.log BWRAP.xml

Prints, per test module, the module's result and its passed / failed /
skipped test counts in both runs side by side, then every test that
fails or is skipped only in Enclave, with the reason the suite gives.
"""
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

PROGRESS = re.compile(r"\[\s*\d+/\d+(?:/\d+)?\] (test_\w+)")
HEADING = re.compile(r"^(?:All )?(\d+) tests? (.*?):?$")


def module_results(log_path):
    """Module -> result, from the console log's progress lines and summary."""
    try:
        text = open(log_path, errors="replace").read()
    except OSError:
        return {}
    result = {}
    for m in PROGRESS.finditer(text):
        result.setdefault(m.group(1), "passed")
    # The summary: "3 tests failed:" then indented names until a blank line.
    section = None
    for line in text.splitlines():
        h = HEADING.match(line)
        if h and line.rstrip().endswith(":"):
            section = h.group(2)
            continue
        if section and line.startswith("    "):
            for name in line.split():
                if name.startswith("test_"):
                    result[name] = short_section(section)
            continue
        section = None
    return result


def short_section(section):
    s = section.lower()
    for key, word in (("resource denied", "denied"), ("altered the execution environment", "env-changed"),
                      ("failed again", "failed"), ("failed", "failed"), ("skipped", "skipped"),
                      ("run no tests", "no-tests"), ("omitted", "omitted"), ("interrupted", "interrupted")):
        if key in s:
            return word
    return s


def case_results(xml_path):
    """Test id -> (state, reason) and module -> Counter of states."""
    cases = {}
    try:
        root = ET.parse(xml_path).getroot()
    except (OSError, ET.ParseError):
        return cases
    for tc in root.iter("testcase"):
        name = tc.get("name", "")
        if not name:
            continue
        state, reason = "passed", ""
        for child in tc:
            if child.tag in ("failure", "error"):
                state = "failed"
                reason = (child.get("message") or child.text or "").strip()
                break
            if child.tag == "skipped":
                state = "skipped"
                reason = (child.text or child.get("message") or "").strip()
        cases[name] = (state, reason)
    return cases


# Packages whose tests live outside test/ (ctypes.test..., lib2to3.tests...)
# and the regrtest module that runs them.
OUTSIDE = {"idlelib": "test_idle"}


def module_of(test_id):
    parts = test_id.split(".")
    if len(parts) > 1 and parts[0] == "test":
        return parts[1]
    return OUTSIDE.get(parts[0], "test_" + parts[0])


def counts(cases):
    c = defaultdict(lambda: {"passed": 0, "failed": 0, "skipped": 0})
    for name, (state, _) in cases.items():
        c[module_of(name)][state] += 1
    return c


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    e_mod, e_cases = module_results(sys.argv[1]), case_results(sys.argv[2])
    b_mod, b_cases = module_results(sys.argv[3]), case_results(sys.argv[4])
    e_cnt, b_cnt = counts(e_cases), counts(b_cases)
    modules = sorted(set(e_mod) | set(b_mod) | set(e_cnt) | set(b_cnt))

    def fmt(mod, res, cnt):
        c = cnt.get(mod, {"passed": 0, "failed": 0, "skipped": 0})
        return f"{res.get(mod, '-'):<11} {c['passed']:>5} {c['failed']:>4} {c['skipped']:>4}"

    print(f"{'module':<40} {'enclave: result':<11} {'pass':>5} {'fail':>4} {'skip':>4}   "
          f"{'bwrap: result':<11} {'pass':>5} {'fail':>4} {'skip':>4}")
    differ = 0
    for mod in modules:
        e, b = fmt(mod, e_mod, e_cnt), fmt(mod, b_mod, b_cnt)
        mark = "" if e == b else "   <-- differs"
        differ += e != b
        print(f"{mod:<40} {e}   {b}{mark}")

    def totals(cnt, res):
        t = {"passed": 0, "failed": 0, "skipped": 0}
        for c in cnt.values():
            for k in t:
                t[k] += c[k]
        bad = sorted(m for m, r in res.items() if r == "failed")
        return t, bad

    (et, ebad), (bt, bbad) = totals(e_cnt, e_mod), totals(b_cnt, b_mod)
    print()
    print(f"modules: {len(modules)}; differing rows: {differ}")
    print(f"enclave: {et['passed']} passed, {et['failed']} failed, {et['skipped']} skipped tests; "
          f"{len(ebad)} modules failed: {' '.join(ebad) or '-'}")
    print(f"bwrap:   {bt['passed']} passed, {bt['failed']} failed, {bt['skipped']} skipped tests; "
          f"{len(bbad)} modules failed: {' '.join(bbad) or '-'}")

    only_fail = sorted(n for n, (s, _) in e_cases.items() if s == "failed" and b_cases.get(n, ("",))[0] != "failed")
    only_skip = sorted(n for n, (s, _) in e_cases.items() if s == "skipped" and b_cases.get(n, ("",))[0] == "passed")
    only_mod = sorted(m for m, r in e_mod.items() if r in ("failed", "env-changed") and b_mod.get(m) != r)
    print()
    print(f"modules that fail only in Enclave: {len(only_mod)}")
    for m in only_mod:
        print(f"  {m}: enclave {e_mod[m]}, bwrap {b_mod.get(m, '-')}")
    print(f"tests that fail only in Enclave: {len(only_fail)}")
    for n in only_fail:
        print(f"  {n}: {e_cases[n][1][:200]}")
    print(f"tests skipped only in Enclave (passed under bwrap): {len(only_skip)}")
    for n in only_skip:
        print(f"  {n}: {e_cases[n][1][:200]}")
    rev_fail = sorted(n for n, (s, _) in b_cases.items() if s == "failed" and e_cases.get(n, ("",))[0] != "failed")
    rev_skip = sorted(n for n, (s, _) in b_cases.items() if s == "skipped" and e_cases.get(n, ("",))[0] == "passed")
    print(f"(for comparison: tests that fail only under bwrap: {len(rev_fail)}, skipped only under bwrap: "
          f"{len(rev_skip)})")


if __name__ == "__main__":
    main()
