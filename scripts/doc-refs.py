#!/usr/bin/env python3
"""Checks that README.md and docs/*.md name only things that exist (issue 9, "docs that match the code").

- Java classes: a backticked CamelCase name (`Raid5Channel`, `Raid5Channel#sync`, `SyncTarget.Worker`,
  `Foo.java`, or a one-word `Reactor#post`) must be declared as a class, interface, record or enum somewhere in
  the repo's .java files; a member after # or . (`Reactor#post`, `Raid5Channel.STEPS`) must appear in the file
  that declares the class. A bare word ending in Test must be a test class of the repo.
- Pages: a word NAME.md must be README.md or docs/NAME.md (no citing notes that live outside the repo).
- Repo paths: a backticked or linked path whose first folder is a top-level folder of the repo, or that ends in a
  source extension, must exist (links relative to the page, backticked paths relative to the repo root).
- RPC methods: every method named in a docs/rpc.md heading, in a `basalt rpc METHOD` call, or as a backticked
  `drive_*`/`raid_*`/`vhost_*`/... word must be registered by the daemon; every registered method must have
  a heading in docs/rpc.md.
Names that are intentionally external (the JDK, SPDK, QEMU, Linux, md) are in ALLOW below, each with its reason.

Usage: doc-refs.py [--methods FILE] [ROOT]   (FILE: the daemon's rpc_methods, one per line; default: the
registrations found in daemon/src/main). Exit 1 with one line per broken reference.
"""
import os
import re
import sys

# Names that are not this repo's, each with why it is named.
ALLOW = {
    # JDK
    "MemorySegment": "JDK (java.lang.foreign)", "Arena": "JDK", "Linker": "JDK", "SymbolLookup": "JDK",
    "ValueLayout": "JDK", "MethodHandle": "JDK", "VarHandle": "JDK", "AtomicIntegerArray": "JDK",
    "AtomicLong": "JDK", "AtomicInteger": "JDK", "ByteBuffer": "JDK", "FileChannel": "JDK",
    "LockSupport": "JDK", "ConcurrentHashMap": "JDK", "ReentrantLock": "JDK", "StructuredTaskScope": "JDK",
    "ThreadLocalRandom": "JDK", "SecureRandom": "JDK (java.security)", "SplittableRandom": "JDK", "VectorSpecies": "JDK (jdk.incubator.vector)",
    "LongVector": "JDK (jdk.incubator.vector)", "ByteVector": "JDK (jdk.incubator.vector)",
    "IllegalArgumentException": "JDK", "IllegalStateException": "JDK", "IOException": "JDK",
    "UncheckedIOException": "JDK", "OutOfMemoryError": "JDK", "ServerSocketChannel": "JDK",
    "SocketChannel": "JDK", "UnixDomainSocketAddress": "JDK", "HttpServer": "JDK (com.sun.net.httpserver)",
    "CompletableFuture": "JDK", "ExecutorService": "JDK", "ArrayDeque": "JDK", "LinkedBlockingQueue": "JDK",
    "ConcurrentLinkedQueue": "JDK", "ConcurrentSkipListMap": "JDK", "HashMap": "JDK", "ArrayList": "JDK", "BitSet": "JDK",
    "CRC32C": "JDK (java.util.zip)", "ProcessBuilder": "JDK", "StandardOpenOption": "JDK", "VirtualThread": "JDK",
    # libraries
    "ObjectMapper": "Jackson", "JsonNode": "Jackson", "JsonParser": "Jackson", "JsonGenerator": "Jackson",
    "HdrHistogram": "HdrHistogram library", "MpscArrayQueue": "JCTools (measured against, not used)",
    "CommandLine": "picocli", "JUnit": "test framework name",
    "BigInteger": "JDK", "StreamReadConstraints": "Jackson (its limits compared with ours)",
    "MpscVarHandleArrayQueue": "JCTools (measured against, not used)", "UnsafeBuffer": "Agrona (not used, says why)",
    "DescStatePacked": "vhost-user spec's packed-ring inflight entry (not implemented)",
    "DescStateSplit": "vhost-user spec's split-ring inflight entry",
    "PplCostMain": "history: the former name of `basalt bench ppl-cost`",
    "HttpServerCodec": "Netty", "HttpRequest": "Netty", "HttpContent": "Netty",
    # S3 error codes (the wire names S3 answers with, docs/objects.md)
    "XAmzContentSHA256Mismatch": "S3 error code", "BadDigest": "S3 error code", "RequestTimeTooSkewed": "S3 error code",
    "AccessDenied": "S3 error code", "SignatureDoesNotMatch": "S3 error code", "InvalidAccessKeyId": "S3 error code",
    "AuthorizationHeaderMalformed": "S3 error code", "InvalidRequest": "S3 error code",
    "NoSuchBucket": "S3 error code", "NoSuchKey": "S3 error code", "BucketNotEmpty": "S3 error code",
    "InvalidBucketName": "S3 error code", "KeyTooLongError": "S3 error code", "InvalidArgument": "S3 error code",
    "InternalError": "S3 error code", "NotImplemented": "S3 error code", "InvalidRange": "S3 error code",
    "MethodNotAllowed": "S3 error code", "BucketAlreadyOwnedByYou": "S3 error code",
    "PreconditionFailed": "S3 error code", "EntityTooLarge": "S3 error code", "MissingContentLength": "S3 error code",
    # other systems, named for comparison
    "AeronStat": "Aeron's tool (idea borrowed)", "AIStore": "product name", "QEMU": "product name",
}
SOURCE_EXTS = (".java", ".sh", ".py", ".md", ".xml", ".c", ".h", ".json", ".txt", ".properties")
# Paths named on purpose outside the repo or made at run time.
ALLOW_PATHS = {
    "/work/shared/DESIGN.md": "the project's direction, kept outside the repo",
    "include/uapi/linux/raid/md_p.h": "Linux source tree", "drivers/md/md.c": "Linux source tree",
    "drivers/md/md-bitmap.h": "Linux source tree", "linux/virtio_blk.h": "Linux header",
    "docs/interop/vhost-user.rst": "QEMU source tree", "engine/json": "history: a package removed in issue 9",
    "opt/basalt/test.sh": "a QEMU fw_cfg name inside the guest",
}
PLACEHOLDER = re.compile(r"^[A-Z_]+/")  # DATA_DIR/config.json: a folder the user picks
CLASS_RE = re.compile(r"^([A-Z][A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*|[A-Z][a-z0-9]+[A-Z0-9][A-Za-z0-9]*)"
                      r"((?:\.[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*)*)(?:\.[A-Z][A-Z0-9_]*)?(?:\.java|#\w+(?:\(.*\))?|\.[a-z]\w*(?:\(.*\))?|\(.*\))?$")
# One-word names (`Reactor`, `Xor`) are classes only when written as one: `Reactor#post`, `Xor.java`.
SINGLE_RE = re.compile(r"^([A-Z][a-z0-9]+)()(?:\.java|#\w+(?:\(.*\))?)$")
RPC_PREFIX = re.compile(r"^(drive|raid|vhost|daemon|stat|config|rpc|s3)_[a-z_]+$")
BASALT_RPC = re.compile(r"basalt rpc (?:--\S+ \S+ )*([a-z][a-z0-9_]*)")


def md_files(root):
    files = [os.path.join(root, "README.md")]
    docs = os.path.join(root, "docs")
    files += sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))
    return files


def java_types(root):
    """{type name: the text of the files that declare it}."""
    names = {}
    decl = re.compile(r"\b(?:class|interface|record|enum)\s+([A-Z]\w*)")
    for d, dirs, files in os.walk(root):
        # Maven's output folders are skipped, not a Java package named target (io.basalt.nvmeof.target) under src/.
        in_src = (os.sep + "src" + os.sep) in (d + os.sep)
        dirs[:] = [x for x in dirs if not x.startswith(".") and (x != "target" or in_src)]
        for f in files:
            if f.endswith(".java"):
                with open(os.path.join(d, f), encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for name in [f[:-5]] + decl.findall(text):
                    names.setdefault(name, []).append(text)
    return names


def registered_methods(root):
    methods = set()
    main = os.path.join(root, "daemon", "src", "main")
    loop = False
    for d, _, files in os.walk(main):
        for f in files:
            if f.endswith(".java"):
                text = open(os.path.join(d, f), encoding="utf-8").read()
                methods.update(re.findall(r'\.register\("([a-z][a-z0-9_]*)"', text))
                loop = loop or '"raid_" + action.wireName()' in text
    if loop:  # RaidMethods registers raid_<action> for every SyncAction: the names are SyncJob.ACTION_NAMES
        sync = open(os.path.join(root, "raid/src/main/java/io/basalt/raid/volume/SyncJob.java"), encoding="utf-8").read()
        names = re.search(r"ACTION_NAMES\s*=\s*\{([^}]*)\}", sync).group(1)
        methods.update("raid_" + n for n in re.findall(r'"(\w+)"', names))
    return methods


def path_exists(root, p):
    """A repo path; a module-relative package (`raid/volume`); or a path under some module (`src/test/...`)."""
    if os.path.exists(os.path.join(root, p)):
        return True
    module, _, rest = p.partition("/")
    for kind in ("main", "test"):
        if os.path.exists(os.path.join(root, module, "src", kind, "java", "io", "basalt", module, rest)):
            return True
    return any(os.path.exists(os.path.join(root, m, p)) for m in os.listdir(root))


def spans(text):
    """(line number, backticked span, in a fenced block) for inline code, and fenced lines as spans."""
    fenced = False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            yield n, line, True
        else:
            for m in re.finditer(r"`([^`]+)`", line):
                yield n, m.group(1), False


def main(argv):
    args = list(argv)
    methods_file = None
    if args[:1] == ["--methods"]:
        methods_file = args[1]
        args = args[2:]
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
    types = java_types(root)
    methods = registered_methods(root)
    if methods_file:
        live = {l.strip() for l in open(methods_file) if l.strip()}
        if live != methods:
            print(f"doc-refs: the daemon's rpc_methods and its registrations in daemon/src/main differ: "
                  f"only live {sorted(live - methods)}, only in source {sorted(methods - live)}")
            return 1
    top = {d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")}
    errors = []
    checked = {"class": 0, "path": 0, "rpc": 0}

    def err(path, n, what):
        errors.append(f"{os.path.relpath(path, root)}:{n}: {what}")

    for path in md_files(root):
        text = open(path, encoding="utf-8").read()
        for n, span, fenced in spans(text):
            for m in BASALT_RPC.finditer(span):
                checked["rpc"] += 1
                if m.group(1) not in methods and m.group(1) not in ("METHOD",) and m.group(1) != "no_such_method":
                    err(path, n, f"`basalt rpc {m.group(1)}`: no such RPC method registered")
            if fenced:
                continue
            s = span.strip()
            cm = CLASS_RE.match(s) or SINGLE_RE.match(s)
            if cm and "/" not in s:
                checked["class"] += 1
                outer = cm.group(1)
                inner = [x for x in cm.group(2).split(".") if x]
                for name in [outer] + inner:
                    if name not in types and name not in ALLOW:
                        err(path, n, f"`{s}`: no Java type {name} in the repo")
                member = re.match(r"^[\w.]*?[#.]([a-z]\w*|[A-Z][A-Z0-9_]+)\b", s)
                owner = (inner or [outer])[-1]
                if member and owner in types and not any(re.search(r"\b" + member.group(1) + r"\b", t) for t in types[owner]):
                    err(path, n, f"`{s}`: {owner} has no member {member.group(1)}")
            elif RPC_PREFIX.match(s):
                checked["rpc"] += 1
                if s not in methods:
                    err(path, n, f"`{s}`: looks like an RPC method but the daemon registers none by that name")
            elif "/" in s and " " not in s and not s.startswith(("http", "/dev/", "/proc/", "/sys/")):
                p = s.split(":")[0].split("#")[0].rstrip("/.,")
                first = p.split("/")[0]
                if "/target/" in p or p.startswith("target/") or PLACEHOLDER.match(p) or p in ALLOW_PATHS:
                    continue  # build output, a user's folder, or allowed
                if first in top or (p.endswith(SOURCE_EXTS) and not p.startswith(("/", "~"))):
                    checked["path"] += 1
                    if not path_exists(root, p):
                        err(path, n, f"`{s}`: no such file or folder in the repo")
        prose = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
        prose = re.sub(r"`[^`\n]*`", "", prose)
        for m in re.finditer(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", prose):
            target = m.group(1)
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            checked["path"] += 1
            n = prose.count("\n", 0, m.start()) + 1
            if not os.path.exists(os.path.join(os.path.dirname(path), target)):
                err(path, n, f"link ({target}): no such file")
        # Bare words too: a page named as NAME.md must be in the repo, a test class named as ...Test must exist.
        for n, line in enumerate(text.splitlines(), 1):
            for page in re.findall(r"(?<![/\w.-])([A-Za-z0-9_-]+\.md)\b", line):
                checked["path"] += 1
                if not (os.path.exists(os.path.join(root, page)) or os.path.exists(os.path.join(root, "docs", page))):
                    err(path, n, f"{page}: no such page in the repo (README.md or docs/)")
            for test in re.findall(r"\b([A-Z][a-z][A-Za-z0-9]*Test)\b", line):
                checked["class"] += 1
                if test not in types:
                    err(path, n, f"{test}: no such test class in the repo")
        if os.path.basename(path) == "rpc.md":
            headed = set()
            for n, line in enumerate(text.splitlines(), 1):
                hm = re.match(r"^###\s+(.*)$", line)
                if hm:
                    for word in re.findall(r"\b[a-z][a-z0-9]*_[a-z_]+\b", hm.group(1)):
                        checked["rpc"] += 1
                        headed.add(word)
                        if word not in methods:
                            err(path, n, f"heading names {word}: no such RPC method registered")
            for mth in sorted(methods - headed):
                err(path, 0, f"RPC method {mth} is registered but has no ### heading in docs/rpc.md")
    for e in errors:
        print("doc-refs: " + e, flush=True)
    print(f"doc-refs: {checked['class']} class, {checked['path']} path and {checked['rpc']} RPC references checked "
          f"in README.md and docs/*.md; {len(errors)} broken", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
