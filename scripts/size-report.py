#!/usr/bin/env python3
"""Lists main source files over a line limit and methods over a line limit (brace counting, Java).

  scripts/size-report.py [--file-max 700] [--method-max 70] DIR...   exit 1 when anything is over
"""
import re, sys, pathlib

def methods(lines):
    """Yields (name, start_line, length) of each method or constructor body, by brace depth."""
    sig = re.compile(r'^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|protected|private|static|final|synchronized|abstract|default|native)\s+)*(?:<[^>]+>\s+)?[\w.<>\[\],? ]*?\b(\w+)\s*\([^;]*$')
    depth = 0; stack = []; pending = None
    in_block_comment = False
    for i, raw in enumerate(lines, 1):
        line = re.sub(r'"(?:\\.|[^"\\])*"', '""', raw)
        line = re.sub(r"'(?:\\.|[^'\\])'", "''", line)
        if in_block_comment:
            if '*/' in line: line = line.split('*/', 1)[1]; in_block_comment = False
            else: continue
        line = re.sub(r'/\*.*?\*/', '', line)
        if '/*' in line: line = line.split('/*', 1)[0]; in_block_comment = True
        line = line.split('//', 1)[0]
        m = None if re.search(r'\b(record|class|interface|enum)\s+\w+', line) else sig.match(line)
        if m and m.group(1) not in ('if', 'for', 'while', 'switch', 'catch', 'synchronized', 'return', 'new', 'else', 'try'):
            pending = (m.group(1), i)
        for ch in line:
            if ch == '{':
                if pending is not None:
                    stack.append((depth, pending)); pending = None
                depth += 1
            elif ch == '}':
                depth -= 1
                if stack and stack[-1][0] == depth:
                    _, (name, start) = stack.pop()
                    yield name, start, i - start + 1
        if ';' in line and '{' not in line: pending = None

def main(argv):
    file_max, method_max, dirs = 700, 70, []
    it = iter(argv)
    for a in it:
        if a == '--file-max': file_max = int(next(it))
        elif a == '--method-max': method_max = int(next(it))
        else: dirs.append(a)
    bad = 0; sizes = []
    for d in dirs:
        for p in sorted(pathlib.Path(d).rglob('*.java')):
            if '/src/main/' not in str(p): continue
            lines = p.read_text().splitlines()
            sizes.append((len(lines), str(p)))
            if len(lines) > file_max: print(f'FILE {len(lines):5d} lines  {p}'); bad += 1
            for name, start, length in methods(lines):
                if length > method_max: print(f'METHOD {length:4d} lines  {p}:{start} {name}'); bad += 1
    print('largest files:')
    for n, p in sorted(sizes, reverse=True)[:5]: print(f'  {n:5d}  {p}')
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
