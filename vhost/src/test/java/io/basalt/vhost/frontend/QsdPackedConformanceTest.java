package io.basalt.vhost.frontend;

/** The QSD suite over packed rings. */
class QsdPackedConformanceTest extends QsdConformanceTest {
    @Override
    protected String options() {
        return ",packed=1";
    }
}
