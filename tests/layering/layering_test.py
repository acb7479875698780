#!/usr/bin/env python3
"""The layering test: every #include "..." of tetherd's own code (not tests/, bench/) must
point at the file's own layer or at a layer it may use. The table below is the one place the
directions are written (docs/ARCHITECTURE.md shows it as a table and a diagram).

Usage: layering_test.py [SOURCE_DIR]        exit 1 and one line per violation when any
       layering_test.py --self-test         shows that a forbidden include is caught
"""
import os
import re
import sys

# layer -> (folders, layers it may include). A folder's files may always include files of
# their own layer. Order: lowest first.
LAYERS = [
    ("base",       ["tether/base"],                      []),
    ("config",     ["config"],                           ["base"]),
    ("netfilter",  ["tether/system/netfilter"],          ["base", "config"]),
    ("system",     ["tether/system"],                    ["base", "config"]),
    ("hostapd",    ["softap/hostapd"],                   ["base", "config"]),
    ("machines",   ["statemachines"],                    ["base"]),
    ("clients",    ["tether/core/clients"],              ["base", "config", "system"]),
    ("core",       ["tether/core"],                      ["base", "config", "netfilter", "system", "machines", "clients"]),
    ("usb",        ["tether/radios/usb"],                ["base", "config", "system"]),
    ("bluetooth",  ["tether/radios/bluetooth"],          ["base", "config", "system"]),
    ("softap",     ["softap/service"],                   ["base", "config", "system", "hostapd", "clients", "core"]),
    ("control",    ["tether/control", "softap/control"], ["base", "config", "system", "clients", "core", "usb", "bluetooth",
                                                          "hostapd", "softap"]),
    ("webhttp",    ["web/http"],                         ["base"]),
    ("web",        ["web", "web/routes"],                ["base", "config", "netfilter", "system", "hostapd", "clients", "core", "softap",
                                                          "webhttp"]),
    ("app",        ["tether/app"],                       ["base", "config", "netfilter", "system", "hostapd", "machines", "clients", "core",
                                                          "usb", "bluetooth", "softap", "control", "webhttp", "web"]),
]
ROOTS = ["tether", "config", "softap", "statemachines", "web"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    best = None
    for name, folders, _ in LAYERS:
        for f in folders:
            if path == f or path.startswith(f + "/"):
                if best is None or len(f) > len(best[1]):
                    best = (name, f)
    return best[0] if best else None


def allowed(src_layer, dst_layer):
    if src_layer == dst_layer:
        return True
    for name, _, uses in LAYERS:
        if name == src_layer:
            return dst_layer in uses
    return False


def check(root):
    problems = []
    files = 0
    for top in ROOTS:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if not n.endswith((".h", ".cpp")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, n), root)
                src = layer_of(rel)
                files += 1
                if src is None:
                    problems.append(f"{rel}: in no layer (add its folder to tests/layering/layering_test.py)")
                    continue
                text = open(os.path.join(root, rel), encoding="utf-8", errors="replace").read()
                for m in INCLUDE.finditer(text):
                    inc = m.group(1)
                    line = text.count("\n", 0, m.start()) + 1
                    if not os.path.exists(os.path.join(root, inc)):
                        if os.path.exists(os.path.join(os.path.dirname(os.path.join(root, rel)), inc)):
                            problems.append(f"{rel}:{line}: #include \"{inc}\": use the path from the source root")
                        continue  # generated or system header
                    dst = layer_of(inc)
                    if dst is None:
                        problems.append(f"{rel}:{line}: #include \"{inc}\": not a file of any layer")
                    elif not allowed(src, dst):
                        problems.append(f"{rel}:{line}: #include \"{inc}\": layer {src} may not include layer {dst}")
    return files, problems


# Budgets (issue 11): no source file above MAX_FILE_LINES, no layer above MAX_LAYER_SHARE of the code.
MAX_FILE_LINES = 500
MAX_LAYER_SHARE = 0.25


def budgets(root):
    problems, per_layer, total = [], {}, 0
    for top in ROOTS:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if not n.endswith((".h", ".cpp")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, n), root)
                lines = sum(1 for _ in open(os.path.join(root, rel), encoding="utf-8", errors="replace"))
                if lines > MAX_FILE_LINES:
                    problems.append(f"{rel}: {lines} lines (budget {MAX_FILE_LINES})")
                layer = layer_of(rel)
                per_layer[layer] = per_layer.get(layer, 0) + lines
                total += lines
    for layer, lines in sorted(per_layer.items(), key=lambda kv: -kv[1]):
        if total and lines > MAX_LAYER_SHARE * total:
            problems.append(f"layer {layer}: {lines} of {total} lines ({100 * lines / total:.0f}%, budget "
                            f"{100 * MAX_LAYER_SHARE:.0f}%)")
    return per_layer, total, problems


def self_test():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for p, text in {
            "tether/base/log.h": "",
            "tether/core/manager.h": '#include "tether/base/log.h"\n',
            "tether/system/nl.h": '#include "tether/core/manager.h"\n',  # upward: forbidden
            "tether/radios/usb/a.h": '#include "tether/radios/bluetooth/b.h"\n',  # sibling: forbidden
            "tether/radios/bluetooth/b.h": "",
        }.items():
            os.makedirs(os.path.dirname(os.path.join(d, p)), exist_ok=True)
            open(os.path.join(d, p), "w").write(text)
        _, problems = check(d)
        expect = [
            'tether/radios/usb/a.h:1: #include "tether/radios/bluetooth/b.h": layer usb may not include layer bluetooth',
            'tether/system/nl.h:1: #include "tether/core/manager.h": layer system may not include layer core',
        ]
        if sorted(problems) != expect:
            print("self-test: expected", expect, "got", problems)
            return 1
        print("self-test: forbidden includes caught:", *problems, sep="\n  ")
        return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    files, problems = check(os.path.abspath(root))
    for p in problems:
        print(p)
    print(f"layering: {files} files, {len(problems)} forbidden include(s)")
    per_layer, total, over = budgets(os.path.abspath(root))
    for p in over:
        print(p)
    largest = max(per_layer.items(), key=lambda kv: kv[1]) if per_layer else ("-", 0)
    print(f"budgets: {total} lines, largest layer {largest[0]} {100 * largest[1] / max(total, 1):.0f}%, "
          f"{len(over)} over budget")
    return 1 if problems or over else 0


if __name__ == "__main__":
    sys.exit(main())
