#!/usr/bin/env python3
"""The man pages and tetherctl's bash completion against the code (issue 17):
  - every command tetherd registers in its command table (each `.add("name", usage, ...)` in the
    sources), with each sub-command its usage names, is in tetherctl(8) and is offered by the
    completion (config/completion/tetherctl, run in bash); `monitor` (tetherctl's own) too;
  - the completion completes a few prefixes as expected (commands, sub-commands, options,
    interface names from /sys/class/net);
  - the built pages render without a warning: `groff -ww -man -z` and `man --warnings -l`.
(tests/unit/man_pages_test.cpp checks every config key the parser accepts is in tetherd.conf(5).)
Usage: man_pages_test.py <source dir> <built man dir>"""
import os
import re
import subprocess
import sys

SRC, MAN = sys.argv[1], sys.argv[2]
COMPLETION = os.path.join(SRC, "config/completion/tetherctl")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


LITERALS = r'((?:"(?:[^"\\]|\\.)*"\s*)+)'
ADD = re.compile(r'\.add\(\s*"([a-z][a-z0-9-]*)"\s*,\s*(?:' + LITERALS + r'|([A-Za-z_]\w*))\s*,', re.S)


def literal_text(lits):
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', lits))


def commands():
    """(command, usage) for every registration in the sources (not tests, not the build)."""
    out = []
    for top in ("tether", "softap", "web", "config"):
        for root, _, files in os.walk(os.path.join(SRC, top)):
            for f in files:
                if not f.endswith(".cpp"):
                    continue
                text = open(os.path.join(root, f), encoding="utf-8").read()
                for m in ADD.finditer(text):
                    name, lits, var = m.groups()
                    if var:
                        d = re.search(r'std::string\s+' + var + r'\s*=\s*' + LITERALS + ';', text)
                        if not d:
                            fail("%s: usage variable %s of command %s not found" % (f, var, name))
                            continue
                        lits = d.group(1)
                    out.append((name, literal_text(lits)))
    return out


WORD = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def phrases(name, usage):
    """'tether start|stop | tether interface add|remove <if>' -> tether start, tether stop,
    tether interface add, tether interface remove; a command without sub-commands -> itself."""
    out = set()
    for alt in usage.split(" | "):
        words = alt.split()
        if not words or words[0] != name:
            continue
        subs = [s for s in words[1].split("|") if WORD.match(s)] if len(words) > 1 else []
        if not subs:
            out.add((name,))
            continue
        thirds = [s for s in words[2].split("|") if WORD.match(s)] if len(words) > 2 and len(subs) == 1 else []
        for s in subs:
            if thirds:
                out.update((name, s, t) for t in thirds)
            else:
                out.add((name, s))
    return out or {(name,)}


def complete(line):
    """What the completion offers for the command line `line` (the last word being completed)."""
    words = line.split(" ")
    script = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _tetherctl; ' \
             'printf "%s\\n" "${COMPREPLY[@]}"'
    r = subprocess.run(["bash", "--norc", "-c", script, "bash", COMPLETION] + words,
                       capture_output=True, text=True, timeout=10)
    if r.returncode != 0 or r.stderr:
        fail("completion of %r: rc=%d %s" % (line, r.returncode, r.stderr.strip()))
    return sorted(w for w in r.stdout.split("\n") if w)


def main():
    page = open(os.path.join(SRC, "docs/man/tetherctl.8.scd"), encoding="utf-8").read()
    plain = re.sub(r"[*_]", "", page)
    table = commands()
    names = {n for n, _ in table}
    for expected in ("ping", "status", "tether", "softap", "web", "client"):
        if expected not in names:
            fail("the source scan found no command %r: the scan is broken" % expected)
    all_phrases = {("monitor",)}
    for name, usage in table:
        all_phrases |= phrases(name, usage)
    for p in sorted(all_phrases):
        text = " ".join(p)
        if not re.search(r"(^|[^a-z-])" + re.escape(text) + r"($|[^a-z0-9-])", plain, re.M):
            fail("tetherctl(8) does not describe `tetherctl %s`" % text)
        # The completion offers each word of it after the words before it.
        offered = complete("tetherctl " + " ".join(p[:-1] + ("",)))
        if p[-1] not in offered:
            fail("the completion does not offer %r after `tetherctl %s` (offers %s)" % (p[-1], " ".join(p[:-1]), offered))
    print("checked %d commands, %d command phrases in tetherctl(8) and the completion" % (len(names) + 1, len(all_phrases)))

    cases = {
        "tetherctl te": ["tether"],
        "tetherctl softap st": ["start", "stations", "status", "stop"],
        "tetherctl --j": ["--json"],
        "tetherctl --socket /tmp/x.sock --json web s": ["set-password", "setup-code", "status"],
        "tetherctl softap set security wpa": ["wpa2-psk", "wpa2-wpa3", "wpa3-sae"],
        "tetherctl tether interface add l": sorted(i for i in os.listdir("/sys/class/net") if i.startswith("l")),
        "tetherctl interface getcfg ": sorted(os.listdir("/sys/class/net")),
        "tetherctl ping ": [],
    }
    for line, want in cases.items():
        got = complete(line)
        if got != want:
            fail("completion of %r: %s, expected %s" % (line, got, want))
    print("checked %d completion prefixes" % len(cases))

    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    for page in ("tetherd.8", "tetherctl.8", "tetherd.conf.5"):
        path = os.path.join(MAN, page)
        if not os.path.exists(path):
            fail("%s was not built" % path)
            continue
        g = subprocess.run(["groff", "-ww", "-man", "-z", path], capture_output=True, text=True, timeout=30)
        if g.returncode != 0 or g.stderr:
            fail("groff -ww %s: %s" % (page, g.stderr.strip()))
        m = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True, timeout=30, env=env)
        if m.returncode != 0 or m.stderr or len(m.stdout) < 1000:
            fail("man --warnings -l %s: rc=%d %s" % (page, m.returncode, m.stderr.strip()))
        name = page.rsplit(".", 1)[0]
        if not m.stdout.lstrip().startswith(name + "(") and name + "(" not in m.stdout[:200]:
            fail("%s: rendered page does not start with its name" % page)
    print("rendered 3 pages without warnings" if not failures else "")
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
