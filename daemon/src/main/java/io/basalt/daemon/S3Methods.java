package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcDispatcher;
import io.basalt.daemon.rpc.RpcException;
import io.basalt.daemon.rpc.RpcParams;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/** s3_start, s3_stop, s3_status (docs/rpc.md, "S3 object service"). Checks the params; {@link S3Registry} does the rest. */
final class S3Methods {
    static final String DEFAULT_ADDRESS = "127.0.0.1";
    static final int DEFAULT_PORT = 8080;
    static final String DEFAULT_REGION = "us-east-1";
    /** A bound on what one call can make the daemon open: far more directories than one host has disks. */
    static final int MOUNTPATHS_MAX = 256;
    /** AWS region names: lower-case words and digits joined by dashes (us-east-1, eu-central-2). */
    private static final Pattern REGION = Pattern.compile("[a-z0-9]+(-[a-z0-9]+)*");
    private static final int REGION_CHARS_MAX = 32;

    private final S3Registry s3;

    private S3Methods(S3Registry s3) {
        this.s3 = s3;
    }

    static void register(RpcDispatcher dispatcher, S3Registry s3) {
        S3Methods m = new S3Methods(s3);
        dispatcher.register("s3_start", m::start);
        dispatcher.register("s3_stop", m::stop);
        dispatcher.register("s3_status", m::status);
    }

    private Object start(RpcParams params) throws RpcException {
        params.allowOnly("address", "port", "mountpaths", "region", "allow_anonymous");
        String address = params.has("address") ? NvmfMethods.address(params, "address") : DEFAULT_ADDRESS;
        long port = params.optionalLong("port", DEFAULT_PORT);
        if (port < 0 || port > NvmfMethods.PORT_MAX) throw invalid(params, "port", "must be 0 (any free port) to " + NvmfMethods.PORT_MAX + ", was " + port);
        List<S3Registry.MountpathSpec> mountpaths = mountpaths(params);
        String region = params.has("region") ? params.requireString("region") : DEFAULT_REGION;
        if (region.length() > REGION_CHARS_MAX || !REGION.matcher(region).matches()) {
            throw invalid(params, "region", "must be a region name like us-east-1 (lower-case letters, digits and dashes, at most "
                    + REGION_CHARS_MAX + "), was '" + region + "'");
        }
        Object anonymous = params.asMap().getOrDefault("allow_anonymous", Boolean.FALSE);
        if (!(anonymous instanceof Boolean allowAnonymous)) {
            throw invalid(params, "allow_anonymous", "must be true or false, was " + anonymous);
        }
        try {
            s3.start(address, (int) port, mountpaths, region, allowAnonymous);
            return s3.status();
        } catch (DriveRegistry.DriveException e) {
            throw invalid(params, e.param(), e.getMessage());
        } catch (IllegalStateException e) {
            throw RpcException.invalidParams(params.method() + ": " + e.getMessage());
        }
    }

    /**
     * The mountpaths param: 1 to MOUNTPATHS_MAX distinct entries, each a directory path (made absolute: the saved state
     * replays it anywhere) or {@code volume:NAME}, a drive or RAID volume of this daemon holding a log-structured store.
     */
    private static List<S3Registry.MountpathSpec> mountpaths(RpcParams params) throws RpcException {
        if (!params.has("mountpaths")) {
            throw invalid(params, "mountpaths", "is required: the directories (or volume:NAME) objects are kept in, e.g. [\"/srv/basalt/objects\"]");
        }
        if (!(params.asMap().get("mountpaths") instanceof List<?> list) || list.isEmpty() || list.size() > MOUNTPATHS_MAX) {
            throw invalid(params, "mountpaths", "must be an array of 1 to " + MOUNTPATHS_MAX + " directory paths or volume:NAME");
        }
        List<S3Registry.MountpathSpec> specs = new ArrayList<>();
        Set<S3Registry.MountpathSpec> seen = new HashSet<>();
        for (Object o : list) {
            if (!(o instanceof String s) || s.isEmpty()) throw invalid(params, "mountpaths", "must hold non-empty strings, had " + o);
            S3Registry.MountpathSpec spec;
            if (s.startsWith(S3Registry.MountpathSpec.VOLUME_PREFIX)) {
                String name = s.substring(S3Registry.MountpathSpec.VOLUME_PREFIX.length());
                if (name.isEmpty()) throw invalid(params, "mountpaths", "has '" + s + "' without a drive or volume name");
                spec = S3Registry.MountpathSpec.volume(name);
            } else {
                try {
                    spec = S3Registry.MountpathSpec.directory(Path.of(s).toAbsolutePath().normalize());
                } catch (InvalidPathException e) {
                    throw invalid(params, "mountpaths", "has a path that is not one: '" + s + "'");
                }
            }
            if (!seen.add(spec)) throw invalid(params, "mountpaths", "names " + spec + " twice");
            specs.add(spec);
        }
        return specs;
    }

    private Object stop(RpcParams params) throws RpcException {
        params.allowOnly();
        if (!s3.stop()) throw RpcException.invalidParams(params.method() + ": no S3 service runs (s3_start starts one)");
        return Boolean.TRUE;
    }

    private Object status(RpcParams params) throws RpcException {
        params.allowOnly();
        return s3.status();
    }

    private static RpcException invalid(RpcParams params, String name, String message) {
        return RpcException.invalidParams(params.method() + ": param '" + name + "' " + message);
    }
}
