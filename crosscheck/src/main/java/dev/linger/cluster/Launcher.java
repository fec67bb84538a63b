package dev.linger.cluster;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A KRaft cluster on 127.0.0.1: N broker nodes (process.roles=broker, node ids 0..N-1, as linger
 * numbers brokers) and one controller node (process.roles=controller, node id N), each a separate
 * JVM running {@code kafka.Kafka}, so that SIGKILL, SIGSTOP and SIGTERM are real process faults.
 *
 * <p>The controller has its own node because linger's controller is not a broker: a fault on
 * broker 0 must not also take the active controller down (in combined mode it may, and the
 * failover then waits for a KRaft election, controller.quorum.fetch.timeout.ms 2 s, that linger
 * does not model).
 *
 * <p>Each broker has two listeners: CLIENT (advertised at the broker's fault proxy, so every
 * client connection passes through {@link FaultProxy}) and REPLICATION (the inter-broker
 * listener, direct); the controller listens on CONTROLLER (the static quorum
 * {@code controller.quorum.voters}). Storage is
 * formatted with {@code kafka.tools.StorageTool format} (what kafka-storage.sh runs) under one
 * temporary directory, removed on every exit path (close() and a shutdown hook).
 */
final class Launcher implements AutoCloseable {
    /** Lines of a node's log quoted when it fails. */
    private static final int LOG_TAIL_LINES = 30;

    final Path root;
    final int nodes;
    final int[] clientPorts;
    final int[] proxyPorts;
    final int[] replicationPorts;
    final int[] controllerPorts;
    private final Process[] processes;
    private final boolean[] stopped;
    private final String classpath;
    private final Map<String, String> brokerConfig;
    private final Thread hook;

    /** The controller's node id (and index): one past the brokers. */
    final int controller;

    Launcher(int brokers, Map<String, String> brokerConfig) throws IOException {
        int nodes = brokers + 1;
        this.nodes = brokers;
        this.controller = brokers;
        this.brokerConfig = brokerConfig;
        this.root = Files.createTempDirectory("linger-cluster-");
        this.clientPorts = new int[nodes];
        this.proxyPorts = new int[nodes];
        this.replicationPorts = new int[nodes];
        this.controllerPorts = new int[nodes];
        this.processes = new Process[nodes];
        this.stopped = new boolean[nodes];
        this.classpath = System.getProperty("java.class.path");
        this.hook = new Thread(this::destroyAll, "cluster-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        int[] ports = freePorts(nodes * 4);
        for (int i = 0; i < nodes; i++) {
            clientPorts[i] = ports[4 * i];
            proxyPorts[i] = ports[4 * i + 1];
            replicationPorts[i] = ports[4 * i + 2];
            controllerPorts[i] = ports[4 * i + 3];
        }
    }

    /** Distinct ports the kernel reports free now (bound, then released). */
    static int[] freePorts(int count) throws IOException {
        int[] ports = new int[count];
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket();
                socket.setReuseAddress(false);
                socket.bind(new InetSocketAddress("127.0.0.1", 0));
                held.add(socket);
                ports[i] = socket.getLocalPort();
            }
        } finally {
            for (ServerSocket socket : held) {
                socket.close();
            }
        }
        return ports;
    }

    /** Fails with a clear message when a port is taken (checked before a node binds it). */
    static void requireFree(int port, String what) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("127.0.0.1", port));
        } catch (IOException e) {
            throw new IllegalStateException(
                    "port " + port + " on 127.0.0.1 (" + what + ") is already in use: " + e.getMessage());
        }
    }

    Path nodeDir(int node) {
        return root.resolve("node-" + node);
    }

    private Path propertiesFile(int node) {
        return nodeDir(node).resolve("server.properties");
    }

    /** Writes each node's configuration and formats its storage with one cluster id. */
    void format() throws IOException {
        String voters = controller + "@127.0.0.1:" + controllerPorts[controller];
        String clusterId = org.apache.kafka.common.Uuid.randomUuid().toString();
        for (int i = 0; i <= controller; i++) {
            Path dir = nodeDir(i);
            Files.createDirectories(dir.resolve("data"));
            Files.createDirectories(dir.resolve("logs"));
            Properties props = new Properties();
            props.setProperty("node.id", Integer.toString(i));
            props.setProperty("listener.security.protocol.map",
                    "CLIENT:PLAINTEXT,REPLICATION:PLAINTEXT,CONTROLLER:PLAINTEXT");
            props.setProperty("controller.listener.names", "CONTROLLER");
            props.setProperty("controller.quorum.voters", voters);
            if (i == controller) {
                props.setProperty("process.roles", "controller");
                props.setProperty("listeners", "CONTROLLER://127.0.0.1:" + controllerPorts[i]);
            } else {
                props.setProperty("process.roles", "broker");
                props.setProperty("listeners", "CLIENT://127.0.0.1:" + clientPorts[i]
                        + ",REPLICATION://127.0.0.1:" + replicationPorts[i]);
                props.setProperty("advertised.listeners", "CLIENT://127.0.0.1:" + proxyPorts[i]
                        + ",REPLICATION://127.0.0.1:" + replicationPorts[i]);
                props.setProperty("inter.broker.listener.name", "REPLICATION");
            }
            props.setProperty("log.dirs", dir.resolve("data").toString());
            // A test cluster's internal topics fit in it whatever its size.
            props.setProperty("offsets.topic.replication.factor", Integer.toString(Math.min(3, nodes)));
            props.setProperty("transaction.state.log.replication.factor", Integer.toString(Math.min(3, nodes)));
            props.setProperty("transaction.state.log.min.isr", "1");
            props.setProperty("group.initial.rebalance.delay.ms", "0");
            for (Map.Entry<String, String> e : brokerConfig.entrySet()) {
                props.setProperty(e.getKey(), e.getValue());
            }
            try (var out = Files.newBufferedWriter(propertiesFile(i))) {
                props.store(out, "linger crosscheck cluster, node " + i);
            }
            Files.writeString(dir.resolve("log4j2.properties"), log4jConfig(dir.resolve("logs")));
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            int rc;
            try (PrintStream ps = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
                rc = kafka.tools.StorageTool.execute(
                        new String[] {"format", "-t", clusterId, "-c", propertiesFile(i).toString()}, ps);
            }
            if (rc != 0) {
                throw new IllegalStateException("formatting node " + i + "'s storage failed (exit "
                        + rc + "): " + captured.toString(StandardCharsets.UTF_8));
            }
        }
    }

    private static String log4jConfig(Path logs) {
        return String.join("\n",
                "status = error",
                "appender.file.type = File",
                "appender.file.name = file",
                "appender.file.fileName = " + logs.resolve("server.log"),
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = [%d] %p %m (%c)%n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.file.ref = file",
                "");
    }

    /** Starts node {@code i}'s JVM (after format, or again after a crash or stop). */
    void start(int i) throws IOException {
        if (processes[i] != null && processes[i].isAlive()) {
            return;
        }
        if (i == controller) {
            requireFree(controllerPorts[i], "the controller's listener");
        } else {
            requireFree(clientPorts[i], "broker " + i + "'s client listener");
            requireFree(replicationPorts[i], "broker " + i + "'s replication listener");
        }
        Path dir = nodeDir(i);
        List<String> command = new ArrayList<>(List.of(
                javaBinary(), "-Xmx" + (i == controller ? "200m" : "300m"), "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dlog4j2.configurationFile=" + dir.resolve("log4j2.properties"),
                "-Dkafka.logs.dir=" + dir.resolve("logs"),
                "-cp", classpath, "kafka.Kafka", propertiesFile(i).toString()));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.redirectErrorStream(true);
        builder.redirectOutput(dir.resolve("logs").resolve("stdout.log").toFile());
        processes[i] = builder.start();
        stopped[i] = false;
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    long pid(int i) {
        return processes[i].pid();
    }

    boolean alive(int i) {
        return processes[i] != null && processes[i].isAlive();
    }

    /** Fails with the node's log tail when its process has exited. */
    void requireAlive(int i) {
        if (!alive(i)) {
            int code = processes[i] == null ? -1 : processes[i].exitValue();
            throw new IllegalStateException("node " + i + " exited (code " + code + "); its log ends:\n" + logTail(i));
        }
    }

    String logTail(int i) {
        StringBuilder out = new StringBuilder();
        for (String name : new String[] {"stdout.log", "server.log"}) {
            Path file = nodeDir(i).resolve("logs").resolve(name);
            try {
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                for (String line : lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size())) {
                    out.append("  ").append(name).append(": ").append(line).append('\n');
                }
            } catch (IOException e) {
                // no such log yet
            }
        }
        return out.toString();
    }

    /** kill -9: the process dies, the OS resets its connections. */
    void kill(int i) throws InterruptedException {
        processes[i].destroyForcibly();
        processes[i].waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM: Kafka's controlled shutdown (leadership moves away first). */
    void terminate(int i) throws InterruptedException {
        processes[i].destroy();
        processes[i].waitFor(60, TimeUnit.SECONDS);
        if (processes[i].isAlive()) {
            processes[i].destroyForcibly();
        }
    }

    /** SIGSTOP / SIGCONT: a frozen host (nothing answers, no reset). */
    void signal(int i, String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid(i))).start();
        kill.waitFor(10, TimeUnit.SECONDS);
        stopped[i] = signal.equals("STOP");
    }

    boolean frozen(int i) {
        return stopped[i];
    }

    private void destroyAll() {
        for (int i = 0; i < processes.length; i++) {
            Process p = processes[i];
            if (p != null && p.isAlive()) {
                if (stopped[i]) {
                    try {
                        signal(i, "CONT");
                    } catch (IOException | InterruptedException e) {
                        // killed below anyway
                    }
                }
                p.destroyForcibly();
            }
        }
        for (int i = 0; i < processes.length; i++) {
            Process p = processes[i];
            if (p != null) {
                try {
                    p.waitFor(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        if (System.getenv("LINGER_KEEP_CLUSTER_DIR") == null) {
            try (Stream<Path> walk = Files.walk(root)) {
                walk.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            } catch (IOException e) {
                // already gone
            }
        }
    }

    @Override
    public void close() {
        destroyAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down; the hook runs destroyAll again, harmlessly
        }
    }
}
