package io.basalt.engine.conformance;

/** The uring backend through the page cache (direct=0). */
class UringBufferedConformanceTest extends UringConformanceTest {
    @Override
    protected String options() {
        return ",direct=0";
    }
}
