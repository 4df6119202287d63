package io.basalt.engine.spi;

import io.basalt.engine.BlockDevice;

import java.util.List;
import java.util.Map;

/**
 * A kind of drive spec that a module outside engine knows how to open ({@code vhost-user:/path.sock} from
 * vhost, later {@code nvme-tcp:} from nvmeof). Engine cannot depend on those modules, so
 * {@link io.basalt.engine.DeviceSpec} finds providers with {@link java.util.ServiceLoader}: a module registers
 * its provider in {@code META-INF/services/io.basalt.engine.spi.BackendProvider}, and a spec whose kind no
 * built-in backend claims goes to the provider naming that kind.
 */
public interface BackendProvider {
    /** Lower-case kind names this provider opens, such as {@code vhost-user}. */
    List<String> kinds();

    /**
     * Opens the device for {@code KIND:TARGET,key=value,...}. Throws {@link IllegalArgumentException} with a
     * clear message on a bad spec or when the device cannot be reached.
     */
    BlockDevice open(String name, String kind, String target, Map<String, String> options);
}
