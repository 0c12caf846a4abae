#!/usr/bin/python3
"""Layer check for webfw.h: references between functions only go down the >> sections.

    tests/layers.py [--all | --summary] [--allow FILE] [path/to/webfw.h]

The implementation part of the header is split into sections by banner comments
    /* ======...
     * >>loop  Poll loop, ...
     * ======... */
and the order of the banners is the order of the layers: the first is the lowest. For every
definition in the implementation part (top-level functions with a body, file-scope initializers,
#define macros) this lists the wf_/wf__/WF__ names it uses, called or not (a callback passed by
address counts), that are defined as a function or function-like macro in another section,
outside comments and string literals. A use from a lower section of a name defined in a higher one
is an upward reference: each is printed as
    section_from -> section_to: caller -> callee (webfw.h:LINE)
and the check fails unless the pair is on the allow-list (tests/layers.allow, one
`caller -> callee  # why` a line; the reason is mandatory, and an entry that matches nothing is
reported as stale and fails too, so the list stays short and true).
    --all      the whole table of cross-section references, down ones too
    --summary  counts per pair of sections
"""
import bisect
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
IMPL = '#if defined(WEBFW_IMPLEMENTATION) && !defined(WF__IMPL_INCLUDED)'
BANNER = re.compile(r'^/\* =+[ \t]*\n \* >>(\w+)', re.M)
# comments, string and character literals: blanked out, newlines kept, so offsets and lines still match
NOISE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
DIRECTIVE = re.compile(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', re.M)
SCAN = re.compile(r'^[ \t]*#[ \t]*(\w*)(?:[^\n]*\\\n)*[^\n]*|[{};]', re.M)
DEFINE = re.compile(r'#[ \t]*define[ \t]+(\w+)(\()?')
# a name that is not a member (.x, ->x) nor a tag (struct x)
NAME = re.compile(r'(?<![\w.])(?<!->)(?<!struct )(?<!union )(?<!enum )\b([wW][fF]_\w*)')
WRAPPER = re.compile(r'\b(?:__attribute__|_Atomic|__declspec)\s*\(')


def fail(msg):
    sys.exit('layers.py: ' + msg)


def drop_groups(s):
    """`__attribute__((...))` and `_Atomic(...)` out of a declaration head, so that the first
    `name (` left is the declarator of a function."""
    while True:
        m = WRAPPER.search(s)
        if not m:
            return s
        depth, i = 0, m.end() - 1
        for i in range(m.end() - 1, len(s)):
            depth += {'(': 1, ')': -1}.get(s[i], 0)
            if depth == 0:
                break
        s = s[:m.start()] + ' ' + s[i + 1:]


def parse(path):
    """Sections, definitions {name: (section index, line)} and the chunks that make references:
    [(owner, section index, start, end)] as offsets into the blanked text."""
    text = open(path, encoding='utf-8').read()
    impl = text.find(IMPL)
    if impl < 0:
        fail(f'{path}: no line "{IMPL}"')
    code = NOISE.sub(lambda m: re.sub(r'[^\n]', ' ', m.group()), text)
    banners = [(m.start(), m.group(1)) for m in BANNER.finditer(text, impl)]
    if not banners:
        fail(f'{path}: no >> banner in the implementation part')
    sections = [name for _, name in banners]
    if len(set(sections)) != len(sections):
        fail(f'{path}: a section banner is repeated: {sections}')
    starts = [pos for pos, _ in banners]
    nl = [m.start() for m in re.finditer('\n', text)]

    def section(pos):
        return bisect.bisect_right(starts, pos) - 1

    def line(pos):
        return bisect.bisect_left(nl, pos) + 1

    defs, chunks = {}, []

    def define(name, pos):
        if name in defs and defs[name][0] != section(pos):
            fail(f'{path}:{line(pos)}: {name} is also defined in >>{sections[defs[name][0]]}')
        defs.setdefault(name, (section(pos), line(pos)))

    # one pass over directives and braces: macros are chunks (function-like ones also definitions);
    # after `#if ... #else ... #endif` the depth is the one the first branch left
    flat = DIRECTIVE.sub(lambda m: re.sub(r'[^\n]', ' ', m.group()), code)     # C without directives
    depth, start, body, ifs = 0, starts[0], 0, []
    for m in SCAN.finditer(code, starts[0]):
        pos, ch = m.start(), m.group()
        if m.group(1) is not None:
            word, d = m.group(1), DEFINE.match(ch.lstrip())
            if d:
                if d.group(2):
                    define(d.group(1), pos)
                chunks.append((d.group(1), section(pos), pos + len(ch) - len(ch.lstrip()) + d.end(), m.end()))
            elif word.startswith('if'):
                ifs.append([depth, None])
            elif word in ('else', 'elif') and ifs:
                if ifs[-1][1] is None:
                    ifs[-1][1] = depth
                depth = ifs[-1][0]
            elif word == 'endif' and ifs:
                first = ifs.pop()[1]
                depth = depth if first is None else first
        elif ch == '{':
            if depth == 0:
                body = pos
            depth += 1
        elif ch == '}':
            depth -= 1
            if depth < 0:
                fail(f'{path}:{line(pos)}: unbalanced braces')
            head = drop_groups(flat[start:body]) if depth == 0 else ''
            fn = re.search(r'\b([A-Za-z_]\w*)\s*\(', head)
            if fn and '=' not in head and not re.match(r'\s*(typedef|struct|union|enum)\b', head):
                define(fn.group(1), start + len(head) - len(head.lstrip()))
                chunks.append((fn.group(1), section(body), body, pos + 1))
                start = pos + 1
        elif depth == 0:                 # ';' ends a declaration: a prototype, a type or a variable
            head = flat[start:pos]
            eq = head.find('=')
            if eq >= 0:
                var = re.findall(r'\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*$', head[:eq])
                chunks.append((var[0] if var else '<file scope>', section(pos), start + eq + 1, pos))
            start = pos + 1
    if depth:
        fail(f'{path}: unbalanced braces at the end')
    refs = []                            # (caller section, callee section, caller, callee, line)
    for owner, sec, lo, hi in chunks:
        for m in NAME.finditer(code, lo, hi):
            callee = m.group(1)
            if callee in defs and defs[callee][0] != sec and callee != owner:
                refs.append((sec, defs[callee][0], owner, callee, line(m.start())))
    return sections, defs, refs


def read_allow(path):
    allow, errors = {}, []
    for n, raw in enumerate(open(path, encoding='utf-8') if os.path.exists(path) else [], 1):
        entry, _, why = raw.partition('#')
        if not entry.strip():
            continue
        m = re.fullmatch(r'\s*(\w+)\s*->\s*(\w+)\s*', entry)
        if not m:
            errors.append(f'{path}:{n}: not "caller -> callee  # why": {raw.rstrip()}')
        elif not why.strip():
            errors.append(f'{path}:{n}: {m.group(1)} -> {m.group(2)} says no why (add "# reason")')
        else:
            allow[(m.group(1), m.group(2))] = n
    return allow, errors


def main(argv):
    mode, allow_path, paths = None, os.path.join(HERE, 'layers.allow'), []
    args = iter(argv)
    for a in args:
        if a in ('--all', '--summary'):
            mode = a
        elif a == '--allow':
            allow_path = next(args, None) or fail('--allow needs a file')
        elif a in ('-h', '--help'):
            return print(__doc__) or 0
        elif a.startswith('-'):
            sys.exit(__doc__)
        else:
            paths.append(a)
    path = paths[0] if paths else os.path.join(HERE, '..', 'webfw.h')
    shown = path if paths else os.path.relpath(path)
    sections, defs, refs = parse(path)
    where = lambda r: f'{sections[r[0]]} -> {sections[r[1]]}: {r[2]} -> {r[3]} ({shown}:{r[4]})'
    if mode == '--all':
        for r in refs:
            print(('UP   ' if r[1] > r[0] else 'down ') + where(r))
        return 0
    if mode == '--summary':
        count = {}
        for r in refs:
            count[r[:2]] = count.get(r[:2], 0) + 1
        for (a, b), n in sorted(count.items()):
            print(f'{"UP  " if b > a else "down"} {sections[a]:>10} -> {sections[b]:<10} {n:4}')
        return 0
    allow, errors = read_allow(allow_path)
    up = [r for r in refs if r[1] > r[0]]
    used = {(r[2], r[3]) for r in up}
    bad = [r for r in up if (r[2], r[3]) not in allow]
    for r in up:
        print(where(r) + ('  (allowed)' if (r[2], r[3]) in allow else ''))
    for pair, n in allow.items():
        if pair not in used:
            errors.append(f'{allow_path}:{n}: stale, no such upward reference: {pair[0]} -> {pair[1]}')
    for e in errors:
        print(e)
    print(f'layers: {len(sections)} sections, {len(defs)} definitions, {len(refs)} cross-section references, '
          f'{len(up)} upward ({len(used)} caller -> callee pairs), {len(bad)} not allowed')
    return 1 if bad or errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
