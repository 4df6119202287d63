package io.basalt.vhost.frontend;

/** The same suite over packed rings (packed=1) against Basalt's export. */
class BasaltPackedConformanceTest extends BasaltSplitConformanceTest {
    @Override
    protected String options() {
        return ",packed=1";
    }
}
