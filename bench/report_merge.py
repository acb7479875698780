#!/usr/bin/env python3
"""Merging a partial benchmark run into docs/PERFORMANCE.md: `bench/run.sh --only soak` must not
drop the sections it did not run. Pure text in, text out.

merge(old, new, ran, headings, note): `new` is the report rendered from this run (sections not
run say "Not run this time"); `old` the file as it was. The result is `old` with, for each
section in `ran`: its "## " block replaced by (or, when absent, added from) `new`, and its
summary rows (those starting "| <section>:") replaced; `note` is added to the preamble's list
of re-runs (a bullet starting "- Re-run: `<command>`" for the same command is replaced).
new_preamble: take the preamble from `new` (a full run keeps only the soak from `old`).

Usage: report_merge.py --self-test
"""
import re
import sys


def _split(text):
    """-> (preamble, [(heading, block)]): blocks start at lines "## ..."."""
    parts = re.split(r"(?m)^(?=## )", text)
    pre, blocks = parts[0], []
    for p in parts[1:]:
        blocks.append((p.split("\n", 1)[0], p))
    return pre, blocks


def _rows(block):
    return [l for l in block.splitlines() if l.startswith("| ") and ":" in l.split("|")[1]]


def _section_of(row):
    return row.split("|")[1].strip().split(":", 1)[0]


def merge(old, new, ran, headings, note="", new_preamble=False):
    o_pre, o_blocks = _split(old)
    n_pre, n_blocks = _split(new)
    if new_preamble:  # a full run: its own machine and code lines
        o_pre = n_pre
    n_by = dict(n_blocks)
    ran_headings = {headings[s] for s in ran}
    out = []
    seen = set()
    for h, block in o_blocks:
        seen.add(h)
        if h == "## Summary" and "## Summary" in n_by:
            new_rows = [r for r in _rows(n_by[h]) if _section_of(r) in ran]
            lines, placed = [], False
            last_row = max((i for i, l in enumerate(block.split("\n")) if l.startswith("| ")), default=-1)
            for i, l in enumerate(block.split("\n")):
                if l in _rows(block) and _section_of(l) in ran:
                    if not placed:
                        lines += new_rows
                        placed = True
                    continue
                lines.append(l)
                if i == last_row and not placed:
                    lines += new_rows
                    placed = True
            block = "\n".join(lines)
        elif h in ran_headings and h in n_by:
            block = n_by[h]
        out.append((h, block))
    # Sections run now but absent from the old file: before the log section, or at the end.
    for h, block in n_blocks:
        if h in ran_headings and h not in seen:
            at = next((i for i, (oh, _) in enumerate(out) if oh.startswith("## tetherd's log")), len(out))
            out.insert(at, (h, block))
    if note:
        cmd = re.match(r"- Re-run: `[^`]*`", note)
        lines = [l for l in o_pre.rstrip("\n").split("\n") if not (cmd and l.startswith(cmd.group(0)))]
        at = max((i + 1 for i, l in enumerate(lines) if l.startswith("- ")), default=len(lines))
        o_pre = "\n".join(lines[:at] + [note] + lines[at:]) + "\n\n"
    return o_pre + "\n\n".join(b.rstrip("\n") for _, b in out) + "\n"


def self_test():
    headings = {"a": "## Alpha", "b": "## Beta", "soak": "## Soak"}
    old = ("# t\n\n- Code: x\n\n## Summary\n\n| figure | v |\n|---|---:|\n| a: one | 1 |\n| b: two | 2 |\n\n"
           "## Alpha\n\nold alpha\n\n## Beta\n\nold beta\n\n## tetherd's log during these runs\n\nlog\n")
    new = ("# t\n\n- Code: y\n\n## Summary\n\n| figure | v |\n|---|---:|\n| soak: rss | 9 |\n\n"
           "## Alpha\n\n_Not run this time._\n\n## Beta\n\n_Not run this time._\n\n## Soak\n\nsoak text\n")
    got = merge(old, new, ["soak"], headings, "- Re-run: `run --only soak` at z.")
    want = ("# t\n\n- Code: x\n- Re-run: `run --only soak` at z.\n\n## Summary\n\n| figure | v |\n|---|---:|\n"
            "| a: one | 1 |\n| b: two | 2 |\n| soak: rss | 9 |\n\n## Alpha\n\nold alpha\n\n## Beta\n\nold beta\n\n"
            "## Soak\n\nsoak text\n\n## tetherd's log during these runs\n\nlog\n")
    ok = got == want
    # Again, with the soak now present: replaced in place, the re-run note not repeated.
    new2 = new.replace("| 9 |", "| 8 |").replace("soak text", "soak text 2")
    got2 = merge(got, new2, ["soak"], headings, "- Re-run: `run --only soak` at w.")
    want2 = want.replace("| 9 |", "| 8 |").replace("soak text", "soak text 2").replace("at z.", "at w.")
    ok = ok and got2 == want2
    # A run of "b" keeps Alpha and Soak as they were.
    new3 = new.replace("| soak: rss | 9 |", "| b: two | 3 |").replace("_Not run this time._\n\n## Soak", "new beta\n\n## Soak")
    got3 = merge(got, new3, ["b"], headings)
    want3 = got.replace("| b: two | 2 |", "| b: two | 3 |").replace("old beta", "new beta")
    ok = ok and got3 == want3
    # A full run (a and b) takes its own preamble and keeps the soak.
    got4 = merge(got, new3.replace("_Not run this time._", "new alpha", 1), ["a", "b"], headings, new_preamble=True)
    want4 = want3.replace("- Code: x\n- Re-run: `run --only soak` at z.", "- Code: y").replace("old alpha", "new alpha")
    want4 = want4.replace("| a: one | 1 |\n", "")
    ok = ok and got4 == want4
    if not ok:
        for g, wnt in ((got, want), (got2, want2), (got3, want3), (got4, want4)):
            if g != wnt:
                print("GOT:\n%s\nWANT:\n%s" % (g, wnt))
    return ok


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(0 if self_test() else 1)
    sys.exit(__doc__)
