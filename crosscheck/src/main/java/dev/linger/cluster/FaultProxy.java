package dev.linger.cluster;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy in front of one broker's client listener (the broker advertises the proxy's port),
 * on 127.0.0.1 only. It reads Kafka's framing in both directions: a 4-byte size, then for a
 * request the header api_key (int16), api_version (int16), correlation_id (int32), and for a
 * response the correlation_id (int32). Produce requests (api_key 0) are remembered per
 * connection by correlation id, so a response is known to be a produce response.
 *
 * <p>Faults, as linger's fault schedule names them: a one-way delay on every frame (both
 * directions, order kept, as on one TCP stream); {@code drop_responses}: the next n produce
 * responses are dropped and each one's connection black-holes from there (TCP never loses one
 * message and delivers the next); {@code delay_responses}: the next n produce responses are held
 * back, and, as the broker's muted channel would, so is every request behind each of them on its
 * connection until it is delivered; {@code blackhole}: every open connection silently loses everything from now on (the
 * client's request.timeout.ms abandons it; a new connection works); {@code reset}: every open
 * connection is closed with a TCP reset; {@code cut}/{@code heal}: a frame due while the link is
 * cut (new connections included) is lost as a segment would be and retransmitted on Linux's
 * schedule: the first retransmission {@code tcp_rto_min_ms} (200 ms) after it was due, each
 * further one twice as long after the last, up to {@code tcp_rto_max_ms} (120 s); it arrives at
 * the first retransmission after the heal, and the frames queued behind it on its connection
 * follow at once (the proxy's own sockets never lose a segment, so without this a healed cut
 * would deliver everything the instant it ends, which no real network does). A broker whose
 * process dies resets its connections; the proxy passes the reset on.
 */
final class FaultProxy implements AutoCloseable {
    private static final short PRODUCE = 0;
    /** Largest frame accepted (Kafka's socket.request.max.bytes default is 100 MiB). */
    private static final int MAX_FRAME = 104_857_600;

    private final String name;
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final List<Conn> conns = new CopyOnWriteArrayList<>();
    private final Thread acceptor;
    private volatile boolean closed;

    volatile long oneWayDelayNanos;
    volatile long extraDelayNanos;
    volatile boolean cut;
    /** Linux's retransmission timeout floor and cap (tcp_rto_min, TCP_RTO_MAX). */
    volatile long rtoMinNanos = TimeUnit.MILLISECONDS.toNanos(200);
    volatile long rtoMaxNanos = TimeUnit.SECONDS.toNanos(120);
    private final AtomicInteger dropBudget = new AtomicInteger();
    private final AtomicInteger delayBudget = new AtomicInteger();
    private volatile long delayResponseNanos;
    final AtomicLong droppedResponses = new AtomicLong();
    final AtomicLong delayedResponses = new AtomicLong();
    final AtomicLong produceRequests = new AtomicLong();
    final AtomicLong connections = new AtomicLong();

    FaultProxy(String name, int listenPort, int targetPort) throws IOException {
        this.name = name;
        this.target = new InetSocketAddress("127.0.0.1", targetPort);
        this.server = new ServerSocket();
        this.server.setReuseAddress(true);
        try {
            this.server.bind(new InetSocketAddress("127.0.0.1", listenPort));
        } catch (IOException e) {
            throw new IllegalStateException("the fault proxy for " + name + " cannot listen on 127.0.0.1:"
                    + listenPort + " (port in use?): " + e.getMessage());
        }
        this.acceptor = new Thread(this::acceptLoop, "proxy-" + name);
        this.acceptor.setDaemon(true);
        this.acceptor.start();
    }

    void dropProduceResponses(int n) {
        dropBudget.addAndGet(n);
    }

    void delayProduceResponses(int n, long delayMs) {
        delayResponseNanos = TimeUnit.MILLISECONDS.toNanos(delayMs);
        delayBudget.addAndGet(n);
    }

    void blackholeAll() {
        for (Conn c : conns) {
            c.blackholed = true;
        }
    }

    void resetAll() {
        for (Conn c : conns) {
            c.reset();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            connections.incrementAndGet();
            try {
                Socket broker = new Socket();
                broker.connect(target, 5_000);
                broker.setTcpNoDelay(true);
                client.setTcpNoDelay(true);
                Conn conn = new Conn(client, broker);
                conns.add(conn);
                conn.start();
            } catch (IOException e) {
                // the broker is down: the client sees its connection reset, as it would
                resetQuietly(client);
            }
        }
    }

    private static void resetQuietly(Socket socket) {
        try {
            socket.setSoLinger(true, 0);
        } catch (SocketException e) {
            // already closed
        }
        closeQuietly(socket);
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed
        }
    }

    /**
     * A frame on its way. {@code holds}: a produce request (whose response is held back if
     * delay_responses has budget when it reaches the broker). {@code releases}: a held response.
     */
    private record Frame(byte[] bytes, long releaseAt, boolean holds, boolean releases) {}

    /** One client connection and its broker connection. */
    private final class Conn {
        final Socket client;
        final Socket broker;
        final Set<Integer> produceIds = ConcurrentHashMap.newKeySet();
        final Set<Integer> delayedIds = ConcurrentHashMap.newKeySet();
        /** A delayed response is outstanding: the broker's channel stays muted. */
        volatile boolean muted;
        final LinkedBlockingQueue<Frame> toBroker = new LinkedBlockingQueue<>();
        final LinkedBlockingQueue<Frame> toClient = new LinkedBlockingQueue<>();
        volatile boolean blackholed;
        volatile boolean done;

        Conn(Socket client, Socket broker) {
            this.client = client;
            this.broker = broker;
        }

        void start() {
            thread("c2b-read", () -> readLoop(client, toBroker, true));
            thread("b2c-read", () -> readLoop(broker, toClient, false));
            thread("c2b-write", () -> writeLoop(toBroker, broker));
            thread("b2c-write", () -> writeLoop(toClient, client));
        }

        private void thread(String what, Runnable body) {
            Thread t = new Thread(body, "proxy-" + name + "-" + what);
            t.setDaemon(true);
            t.start();
        }

        private void readLoop(Socket from, LinkedBlockingQueue<Frame> queue, boolean requests) {
            try {
                DataInputStream in = new DataInputStream(from.getInputStream());
                while (!done) {
                    int size = in.readInt();
                    if (size < 4 || size > MAX_FRAME) {
                        throw new IOException("a frame of " + size + " bytes");
                    }
                    byte[] bytes = new byte[4 + size];
                    ByteBuffer.wrap(bytes).putInt(size);
                    in.readFully(bytes, 4, size);
                    ByteBuffer body = ByteBuffer.wrap(bytes, 4, size);
                    long delay = oneWayDelayNanos + extraDelayNanos;
                    boolean holds = false;
                    boolean releases = false;
                    if (requests) {
                        if (size >= 8) {
                            short apiKey = body.getShort(4);
                            int correlation = body.getInt(8);
                            if (apiKey == PRODUCE) {
                                produceIds.add(correlation);
                                produceRequests.incrementAndGet();
                                holds = true; // decided when it reaches the broker
                            }
                        }
                    } else {
                        int correlation = body.getInt(4);
                        if (produceIds.remove(correlation)) {
                            if (delayedIds.remove(correlation)) {
                                delayedResponses.incrementAndGet();
                                delay += delayResponseNanos;
                                releases = true;
                            } else if (dropBudget.getAndUpdate(b -> b > 0 ? b - 1 : b) > 0) {
                                droppedResponses.incrementAndGet();
                                blackholed = true;
                                continue;
                            }
                        }
                    }
                    if (blackholed) {
                        continue;
                    }
                    queue.add(new Frame(bytes, System.nanoTime() + delay, holds, releases));
                }
            } catch (EOFException e) {
                // orderly close by this end: close the other end
                finish(!requests);
            } catch (IOException e) {
                // a reset (a killed broker) or our own close: pass a reset on
                finish(!requests);
            }
        }

        private void writeLoop(LinkedBlockingQueue<Frame> queue, Socket to) {
            try {
                OutputStream out = to.getOutputStream();
                while (!done) {
                    Frame frame = queue.poll(100, TimeUnit.MILLISECONDS);
                    if (frame == null) {
                        continue;
                    }
                    sleepUntil(frame.releaseAt);
                    if (cut) {
                        // Lost on the cut link: retransmitted until a retransmission gets through.
                        long rto = rtoMinNanos;
                        long next = System.nanoTime() + rto;
                        while (!done) {
                            sleepUntil(next);
                            if (!cut) {
                                break;
                            }
                            rto = Math.min(rto * 2, rtoMaxNanos);
                            next += rto;
                        }
                    }
                    while (!done && to == broker && muted) {
                        TimeUnit.MILLISECONDS.sleep(1);
                    }
                    if (blackholed || done) {
                        continue;
                    }
                    // A produce request reaching the broker while delay_responses has budget: the
                    // broker holds its response back, and Kafka's SocketServer keeps the
                    // connection muted until a response is sent, so the requests behind it wait
                    // too. Requests that never reach the broker use no budget.
                    boolean held = frame.holds && delayBudget.getAndUpdate(b -> b > 0 ? b - 1 : b) > 0;
                    if (held) {
                        delayedIds.add(ByteBuffer.wrap(frame.bytes).getInt(8));
                        muted = true;
                    }
                    out.write(frame.bytes);
                    out.flush();
                    if (frame.releases) {
                        muted = false;
                    }
                }
            } catch (IOException e) {
                finish(true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Sleeps until {@code deadline} (System.nanoTime) or until the connection is done. */
        private void sleepUntil(long deadline) throws InterruptedException {
            long wait;
            while (!done && (wait = deadline - System.nanoTime()) > 0) {
                TimeUnit.NANOSECONDS.sleep(Math.min(wait, 50_000_000L));
            }
        }

        /** Ends both sides; {@code resetClient}: the client sees a reset rather than a close. */
        void finish(boolean resetClient) {
            if (done) {
                return;
            }
            done = true;
            conns.remove(this);
            if (resetClient) {
                resetQuietly(client);
            } else {
                closeQuietly(client);
            }
            closeQuietly(broker);
        }

        void reset() {
            finish(true);
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            // already closed
        }
        for (Conn c : conns) {
            c.finish(false);
        }
    }
}
