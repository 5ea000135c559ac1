#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""readme_snippets.py: every ```c and ```cpp block in README.md is a whole
program that compiles and runs as shown (issue #13). Run under ctest.

    readme_snippets.py README.md WORKDIR --include DIR --lib LIBASYNC
                       --cc CC --cxx CXX [--flags "EXTRA FLAGS"]

Each C block is compiled with `CC -std=c11 -Wall -Wextra -Wpedantic -Werror`,
each C++ block with `CXX -std=c++20 -Wall -Wextra -Wpedantic -Werror`, against
the built library, then run (10 s at most); it must exit 0. A block that
states its output in an `Output:` comment (the first one counts),

    /* Output: one line */            // Output: one line
    /* Output:                        // Output:
     *   line 1                       //   line 1
     *   line 2 */                    //   line 2

must print exactly those lines (trailing blanks on a line aside). Other
fences (```sh, ```cmake, ...) are not programs and are left alone. Exits 1
naming each block that fails, with the compiler's or the program's output.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

FLAGS = {"c": ["-std=c11"], "cpp": ["-std=c++20"]}
WARN = ["-Wall", "-Wextra", "-Wpedantic", "-Werror"]


def blocks(text):
    """(language, first line number, code) for each ```c / ```cpp block."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang, start, body = m.group(1), i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if lang in FLAGS:
            out.append((lang, start + 1, "\n".join(body) + "\n"))
    return out


def stated_output(code):
    """The lines an `Output:` comment states, or None when there is none."""
    m = re.search(r"/\*\s*Output:(.*?)\*/", code, re.S)
    if m:
        lines = [re.sub(r"^\s*\*?\s?", "", l) for l in m.group(1).split("\n")]
    else:
        m = re.search(r"^[ \t]*// Output:(.*(?:\n[ \t]*//.*)*)", code, re.M)
        if not m:
            return None
        lines = [re.sub(r"^\s*//", "", l) for l in m.group(1).split("\n")]
    lines = [l.strip() for l in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("readme")
    ap.add_argument("workdir")
    ap.add_argument("--include", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cxx", required=True)
    ap.add_argument("--flags", default="")
    args = ap.parse_args()

    with open(args.readme) as f:
        found = blocks(f.read())
    os.makedirs(args.workdir, exist_ok=True)
    libdir = os.path.dirname(os.path.abspath(args.lib))
    failures = 0
    counts = {"c": 0, "cpp": 0}
    for n, (lang, line, code) in enumerate(found, 1):
        counts[lang] += 1
        what = "README.md:%d (```%s)" % (line, lang)
        src = os.path.join(args.workdir, "snippet%d.%s" % (n, lang))
        exe = os.path.join(args.workdir, "snippet%d" % n)
        with open(src, "w") as f:
            f.write(code)
        compiler = args.cc if lang == "c" else args.cxx
        cmd = [compiler, *FLAGS[lang], *WARN, *shlex.split(args.flags), "-I", args.include,
               "-o", exe, src, os.path.abspath(args.lib), "-Wl,-rpath," + libdir]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if r.returncode != 0:
            print("FAIL: %s does not compile:\n  %s\n%s" % (what, " ".join(cmd), r.stdout.decode()))
            failures += 1
            continue
        try:
            r = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        except subprocess.TimeoutExpired:
            print("FAIL: %s still running after 10 s" % what)
            failures += 1
            continue
        out = r.stdout.decode(errors="replace")
        if r.returncode != 0:
            print("FAIL: %s exits with %d\nstdout:\n%s\nstderr:\n%s"
                  % (what, r.returncode, out, r.stderr.decode(errors="replace")))
            failures += 1
            continue
        want = stated_output(code)
        if want is not None:
            got = [l.rstrip() for l in out.rstrip("\n").split("\n")] if out else []
            if got != want:
                print("FAIL: %s prints other than its Output: comment says\n--- stated\n%s\n--- got\n%s"
                      % (what, "\n".join(want), "\n".join(got)))
                failures += 1
                continue
        print("ok: %s compiles, runs, exits 0%s" % (what, ", prints what it states" if want is not None else ""))
    if counts["c"] == 0 or counts["cpp"] == 0:
        print("FAIL: expected C and C++ blocks in %s, found %d and %d" % (args.readme, counts["c"], counts["cpp"]))
        failures += 1
    if failures:
        print("%d README block(s) failed" % failures)
        return 1
    print("readme_snippets: all %d C and %d C++ blocks pass" % (counts["c"], counts["cpp"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
