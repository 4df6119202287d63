package io.basalt.objectlayer.store;

import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * One mountpath's objects of a bucket in UTF-8 byte order of their keys, read lazily: a stack of directories, each
 * read whole and sorted when entered. A file "s" sorts as the bytes of s and a directory "s%d" as s + '/', because
 * every key under the directory starts with s + '/'; so a depth-first walk in that order yields sorted keys (decision
 * 36). Memory is the entries of the directories on the current path, not the bucket's listing.
 *
 * <p>A prefix descends straight to its last '/' and filters that directory; start-after skips, in every directory
 * entered, the entries whose keys all sort at or before it. I/O failures surface as {@link UncheckedIOException}.
 */
final class DirectoryWalker implements Mountpath.Walk {
    private record Node(String name, byte[] sortKey, boolean dir) {}

    private record Frame(Path dir, byte[] base, List<Node> nodes, int[] next) {}

    private final DirectoryMountpath mountpath;
    private final String bucket;
    private final byte[] startAfter;
    private final Deque<Frame> stack = new ArrayDeque<>();
    private Mountpath.Item ahead;

    /** @param startAfter  null: from the first key */
    DirectoryWalker(DirectoryMountpath mountpath, String bucket, byte[] prefix, byte[] startAfter) throws IOException {
        this.mountpath = mountpath;
        this.bucket = bucket;
        this.startAfter = startAfter;
        int lastSlash = -1;
        for (int i = 0; i < prefix.length; i++) {
            if (prefix[i] == '/') lastSlash = i;
        }
        Path dir = mountpath.objectsDir(bucket);
        byte[] base = Arrays.copyOf(prefix, lastSlash + 1);
        if (lastSlash >= 0) {
            List<byte[]> dirs = Names.segments(Arrays.copyOf(prefix, lastSlash));
            for (byte[] segment : dirs) dir = dir.resolve(Names.dirName(segment));
        }
        if (!Files.isDirectory(mountpath.objectsDir(bucket))) throw new NoSuchFileException(dir.toString());
        if (Files.isDirectory(dir)) push(dir, base, Arrays.copyOfRange(prefix, lastSlash + 1, prefix.length));
    }

    @Override
    public boolean hasNext() {
        if (ahead == null) {
            try {
                ahead = advance();
            } catch (IOException e) {
                throw new UncheckedIOException("listing " + bucket + " on " + mountpath.root(), e);
            }
        }
        return ahead != null;
    }

    @Override
    public Mountpath.Item next() {
        if (!hasNext()) throw new NoSuchElementException();
        Mountpath.Item item = ahead;
        ahead = null;
        return item;
    }

    private Mountpath.Item advance() throws IOException {
        while (!stack.isEmpty()) {
            Frame f = stack.peek();
            if (f.next[0] >= f.nodes.size()) {
                stack.pop();
                continue;
            }
            Node n = f.nodes.get(f.next[0]++);
            byte[] full = concat(f.base, n.sortKey);
            if (n.dir) {
                push(f.dir.resolve(n.name), full, null);
                continue;
            }
            Mountpath.Item item = load(f.dir.resolve(n.name), full);
            if (item != null) return item;
        }
        return null;
    }

    private Mountpath.Item load(Path file, byte[] key) throws IOException {
        try {
            ObjectMeta meta = DirectoryMountpath.matching(mountpath.readMeta(file), Files.size(file));
            ObjectInfo info = meta.info(bucket);
            String keyText = new String(key, StandardCharsets.UTF_8);
            if (!keyText.equals(info.key())) return null; // a file that is not this key's (foreign or stale)
            return new Mountpath.Item(key, info);
        } catch (NoSuchFileException e) {
            return null; // deleted since the directory was read
        }
    }

    /** Enters a directory: reads, decodes, filters (by the prefix's last part) and sorts its entries. */
    private void push(Path dir, byte[] base, byte[] mustStartWith) throws IOException {
        List<Node> nodes = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                Node node = node(p);
                if (node != null && (mustStartWith == null || startsWith(node.sortKey, mustStartWith))) nodes.add(node);
            }
        } catch (NoSuchFileException e) {
            return; // pruned by a DELETE since its parent was read
        }
        nodes.sort((a, b) -> Arrays.compareUnsigned(a.sortKey, b.sortKey));
        int first = 0;
        if (startAfter != null) {
            while (first < nodes.size() && allAtOrBefore(concat(base, nodes.get(first).sortKey),
                    nodes.get(first).dir)) {
                first++;
            }
        }
        stack.push(new Frame(dir, base, nodes, new int[] {first}));
    }

    private Node node(Path p) throws IOException {
        String name = p.getFileName().toString();
        Names.Entry e = Names.decode(name);
        if (e.kind() == Names.Kind.OTHER) return null;
        boolean dir = e.kind() == Names.Kind.DIR;
        byte[] segment = e.segment();
        try {
            if (segment == null && dir) {
                segment = DirectoryMountpath.readSegment(p);
            } else if (segment == null) {
                List<byte[]> parts = Names.segments(mountpath.readMeta(p).getFirst().key()
                        .getBytes(StandardCharsets.UTF_8));
                segment = parts.getLast();
            }
        } catch (NoSuchFileException gone) {
            return null;
        }
        return new Node(name, dir ? concat(segment, new byte[] {'/'}) : segment, dir);
    }

    /** Whether every key at {@code full} (a file) or under it (a directory, full ends in '/') is <= startAfter. */
    private boolean allAtOrBefore(byte[] full, boolean dir) {
        int c = Arrays.compareUnsigned(full, startAfter);
        return dir ? c < 0 && !startsWith(startAfter, full) : c <= 0;
    }

    static boolean startsWith(byte[] bytes, byte[] prefix) {
        return bytes.length >= prefix.length && Arrays.equals(bytes, 0, prefix.length, prefix, 0, prefix.length);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
