package io.basalt.nvmeof.initiator;

import io.basalt.nvmeof.nvme.IdentifyController;
import io.basalt.nvmeof.tcp.DataPdu;
import io.basalt.nvmeof.tcp.IcReqPdu;
import io.basalt.nvmeof.tcp.IcRespPdu;
import io.basalt.nvmeof.tcp.PduFlyweight;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TCP proxy between the initiator and a target on 127.0.0.1 that passes the host's bytes through as they come and
 * the target's PDU by PDU (cut at PLEN), so a test can spoil one: the data digest of the next C2HData, the header
 * digest of the next CapsuleResp, the digests an ICResp grants, or ONCS bits in Identify Controller data. Plain blocking sockets, two threads per
 * connection: test code, not the data path.
 */
final class CorruptingProxy implements AutoCloseable {
    enum Fault { NONE, NEXT_C2H_DATA_DIGEST, NEXT_RESPONSE_HEADER_DIGEST }

    private final int targetPort;
    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicReference<Fault> armed = new AtomicReference<>(Fault.NONE);
    private final AtomicInteger spoiled = new AtomicInteger();
    /** ICResp DGST bits are ANDed with this (3: as the target granted; 0: every digest refused). */
    private volatile int icRespDigestMask = IcReqPdu.DIGEST_HEADER | IcReqPdu.DIGEST_DATA;
    /** ONCS bits cleared in Identify Controller data (only without the data digest, which is not recomputed). */
    private volatile int oncsClear;
    final int port;

    CorruptingProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        this.port = server.getLocalPort();
        Thread.ofPlatform().daemon().name("proxy-accept").start(this::acceptLoop);
    }

    String spec(String extra) {
        return "nvme-tcp://127.0.0.1:" + port + "/" + LoopbackTarget.NQN + "?nsid=1" + extra;
    }

    /** Spoils the next PDU of this kind, on whichever connection carries it first. */
    void arm(Fault fault) {
        armed.set(fault);
    }

    void icRespDigestMask(int mask) {
        icRespDigestMask = mask;
    }

    /** Identify Controller data reaching the host has these ONCS bits cleared (a controller without them). */
    void clearOncs(int bits) {
        oncsClear = bits;
    }

    /** PDUs spoiled so far. */
    int spoiled() {
        return spoiled.get();
    }

    private void acceptLoop() {
        try {
            while (true) {
                Socket host = server.accept();
                Socket target = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                host.setTcpNoDelay(true);
                target.setTcpNoDelay(true);
                sockets.add(host);
                sockets.add(target);
                Thread.ofPlatform().daemon().name("proxy-up").start(() -> copy(host, target));
                Thread.ofPlatform().daemon().name("proxy-down").start(() -> pdus(target, host));
            }
        } catch (IOException e) {
            // closed
        }
    }

    private static void copy(Socket from, Socket to) {
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) > 0) out.write(buffer, 0, n);
        } catch (IOException e) {
            // either side closed
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private void pdus(Socket from, Socket to) {
        try (DataInputStream in = new DataInputStream(from.getInputStream()); OutputStream out = to.getOutputStream()) {
            byte[] header = new byte[PduFlyweight.COMMON_HEADER_BYTES];
            while (true) {
                in.readFully(header);
                long plen = Integer.toUnsignedLong((header[4] & 0xFF) | (header[5] & 0xFF) << 8
                        | (header[6] & 0xFF) << 16 | (header[7] & 0xFF) << 24);
                byte[] pdu = new byte[(int) plen];
                System.arraycopy(header, 0, pdu, 0, header.length);
                in.readFully(pdu, header.length, pdu.length - header.length);
                spoil(pdu);
                out.write(pdu);
                out.flush();
            }
        } catch (IOException e) {
            // either side closed
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private void spoil(byte[] pdu) {
        int type = pdu[PduFlyweight.TYPE_OFFSET] & 0xFF;
        int hlen = pdu[PduFlyweight.HLEN_OFFSET] & 0xFF;
        if (type == PduFlyweight.TYPE_IC_RESP) {
            pdu[IcRespPdu.DIGEST_OFFSET] &= (byte) icRespDigestMask;
            return;
        }
        if (type == PduFlyweight.TYPE_C2H_DATA && oncsClear != 0) clearOncsOf(pdu);
        Fault fault = armed.get();
        if (fault == Fault.NEXT_C2H_DATA_DIGEST && type == PduFlyweight.TYPE_C2H_DATA && pdu.length > hlen + 8
                && armed.compareAndSet(fault, Fault.NONE)) {
            pdu[pdu.length - 1] ^= 0x5A; // the last byte of DDGST
            spoiled.incrementAndGet();
        } else if (fault == Fault.NEXT_RESPONSE_HEADER_DIGEST && type == PduFlyweight.TYPE_CAPSULE_RESP
                && armed.compareAndSet(fault, Fault.NONE)) {
            pdu[hlen] ^= 0x5A; // the first byte of HDGST
            spoiled.incrementAndGet();
        }
    }

    /** A C2HData from offset 0 whose bytes 768.. hold the subsystem NQN is Identify Controller data. */
    private void clearOncsOf(byte[] pdu) {
        int pdo = pdu[PduFlyweight.PDO_OFFSET] & 0xFF;
        int datao = (pdu[DataPdu.DATAO_OFFSET] & 0xFF) | (pdu[DataPdu.DATAO_OFFSET + 1] & 0xFF) << 8;
        byte[] nqn = LoopbackTarget.NQN.getBytes(StandardCharsets.US_ASCII);
        int subnqn = pdo + IdentifyController.SUBNQN_OFFSET;
        if (datao != 0 || pdu.length < subnqn + nqn.length
                || !Arrays.equals(pdu, subnqn, subnqn + nqn.length, nqn, 0, nqn.length)) {
            return;
        }
        pdu[pdo + IdentifyController.ONCS_OFFSET] &= (byte) ~oncsClear;
        spoiled.incrementAndGet();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // already closed
        }
    }

    /** Every live connection ends (the initiator sees its queues drop). */
    void dropConnections() {
        for (Socket s : sockets) closeQuietly(s);
        sockets.clear();
    }

    @Override
    public void close() throws IOException {
        server.close();
        dropConnections();
    }
}
