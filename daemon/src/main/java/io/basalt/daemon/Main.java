package io.basalt.daemon;

/** The basalt command line. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.out.println("usage: basalt serve | rpc METHOD [JSON] | bench ... | test");
    }
}
