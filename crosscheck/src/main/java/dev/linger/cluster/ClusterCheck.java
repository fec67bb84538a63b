package dev.linger.cluster;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One run of a linger experiment on a real cluster: start the nodes and their fault proxies,
 * create the topic, run the real KafkaProducer with the experiment's workload while a scheduler
 * applies the fault schedule, then read every partition's full log back with a consumer
 * (read_uncommitted and read_committed) and write one JSON document: what the application was
 * told about every send, the logs, the producer's metrics.
 *
 * <p>Usage: {@code ClusterCheck SPEC.properties OUT.json}. The spec is written by
 * {@code linger crosscheck cluster} from the experiment's TOML. Exit 0 on a finished run, 1 with
 * a message on stderr otherwise. The classification (lost, duplicated, reordered) is linger's own
 * checker, run by linger on this output, so both sides are judged by one definition.
 *
 * <p>Fidelity (against linger's run): a throwaway producer warms the JVM up first; time zero of
 * the fault schedule and the arrivals is the first send, after the producer has the topic's
 * metadata (KafkaProducer.partitionsFor); keys are drawn from java.util.Random with the run's
 * seed, so keys (and the partitions they hash to) differ from linger's draws; {@code restart}
 * after {@code power_off} kills the frozen process and starts it afresh (a rebooted host); every
 * broker that is down at the end is restarted, and the logs are read after Kafka's own recovery
 * and once the replicas are back in sync (at most settle_ms), as linger reads final logs.
 */
public final class ClusterCheck {
    private static final String TOPIC = "linger";
    private static final String WARMUP_TOPIC = "linger-warmup";
    private static final int WARMUP_RECORDS = 20;
    /** The producer metrics reported (names as linger's result columns). */
    private static final String[] METRICS = {
        "record-send-rate", "record-send-total", "batch-size-avg", "batch-size-max",
        "records-per-request-avg", "request-latency-avg", "request-latency-max",
        "record-queue-time-avg", "record-queue-time-max", "record-retry-rate", "record-retry-total",
        "record-error-rate", "record-error-total", "bufferpool-wait-ratio", "buffer-exhausted-total",
        "batch-split-total",
    };

    private ClusterCheck() {}

    public static void main(String[] args) {
        if (args.length != 2) {
            System.err.println("usage: ClusterCheck SPEC.properties OUT.json");
            System.exit(2);
        }
        try {
            Properties spec = new Properties();
            try (var in = Files.newBufferedReader(Path.of(args[0]))) {
                spec.load(in);
            }
            String json = run(spec);
            Files.writeString(Path.of(args[1]), json);
            System.exit(0);
        } catch (Exception e) {
            System.err.println("cluster run failed: " + e);
            Throwable cause = e.getCause();
            while (cause != null) {
                System.err.println("  caused by: " + cause);
                cause = cause.getCause();
            }
            System.exit(1);
        }
    }

    private static Map<String, String> prefixed(Properties spec, String prefix) {
        Map<String, String> out = new TreeMap<>();
        for (String key : spec.stringPropertyNames()) {
            if (key.startsWith(prefix)) {
                out.put(key.substring(prefix.length()), spec.getProperty(key));
            }
        }
        return out;
    }

    private static int intOf(Properties spec, String key, int fallback) {
        String v = spec.getProperty(key);
        return v == null ? fallback : Integer.parseInt(v.trim());
    }

    private static double doubleOf(Properties spec, String key, double fallback) {
        String v = spec.getProperty(key);
        return v == null ? fallback : Double.parseDouble(v.trim());
    }

    /** One scheduled fault. */
    record Fault(double atMs, String action, int broker, int n, double delayMs, double extraMs, double untilMs) {}

    static List<Fault> faults(Properties spec) {
        List<Fault> out = new ArrayList<>();
        for (int i = 0; spec.getProperty("fault." + i + ".action") != null; i++) {
            String p = "fault." + i + ".";
            out.add(new Fault(doubleOf(spec, p + "at.ms", 0), spec.getProperty(p + "action"),
                    intOf(spec, p + "broker", -1), intOf(spec, p + "n", 1), doubleOf(spec, p + "delay.ms", 0),
                    doubleOf(spec, p + "extra.ms", 0), doubleOf(spec, p + "until.ms", 0)));
        }
        out.sort((a, b) -> Double.compare(a.atMs, b.atMs));
        return out;
    }

    static String run(Properties spec) throws Exception {
        int nodes = intOf(spec, "nodes", 3);
        int partitions = intOf(spec, "partitions", 1);
        short rf = (short) intOf(spec, "replication.factor", Math.min(3, nodes));
        int minIsr = intOf(spec, "min.insync.replicas", 1);
        long settleMs = (long) doubleOf(spec, "settle.ms", 10_000);
        long started = System.nanoTime();
        try (Launcher cluster = new Launcher(nodes, prefixed(spec, "broker."))) {
            cluster.format();
            List<FaultProxy> proxies = new ArrayList<>();
            try {
                for (int i = 0; i < nodes; i++) {
                    proxies.add(new FaultProxy("broker" + i, cluster.proxyPorts[i], cluster.clientPorts[i]));
                }
                for (int i = 0; i <= cluster.controller; i++) {
                    cluster.start(i);
                }
                String bootstrap = bootstrap(cluster);
                waitReady(cluster, bootstrap, partitions, rf, minIsr);
                long readyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                long delayNanos = (long) (doubleOf(spec, "network.one.way.delay.ms", 0) * 1e6);
                long rtoMinNanos = (long) (doubleOf(spec, "network.tcp.rto.min.ms", 200) * 1e6);
                long rtoMaxNanos = (long) (doubleOf(spec, "network.tcp.rto.max.ms", 120_000) * 1e6);
                for (FaultProxy p : proxies) {
                    p.oneWayDelayNanos = delayNanos;
                    p.rtoMinNanos = rtoMinNanos;
                    p.rtoMaxNanos = rtoMaxNanos;
                }
                Sent sent = produce(spec, bootstrap, cluster, proxies);
                for (FaultProxy p : proxies) {
                    p.cut = false;
                    p.extraDelayNanos = 0;
                    p.oneWayDelayNanos = 0;
                }
                // The checker reads every log: a node that is down is brought back first, so its
                // log (on disk) is read after Kafka's own recovery, as linger reads final logs.
                for (int i = 0; i < nodes; i++) {
                    if (cluster.frozen(i)) {
                        cluster.signal(i, "CONT");
                    }
                    if (!cluster.alive(i)) {
                        cluster.start(i);
                    }
                }
                settle(bootstrap, partitions, rf, settleMs);
                Map<Integer, List<long[]>> uncommitted = readLogs(bootstrap, partitions, "read_uncommitted");
                Map<Integer, List<long[]>> committed = readLogs(bootstrap, partitions, "read_committed");
                StringBuilder out = new StringBuilder();
                out.append("{\"ready_ms\":").append(readyMs);
                out.append(",\"kafka_version\":\"").append(org.apache.kafka.common.utils.AppInfoParser.getVersion()).append('"');
                out.append(",\"java\":\"").append(System.getProperty("java.version")).append('"');
                long dropped = 0;
                long delayed = 0;
                long connections = 0;
                for (FaultProxy p : proxies) {
                    dropped += p.droppedResponses.get();
                    delayed += p.delayedResponses.get();
                    connections += p.connections.get();
                }
                out.append(",\"proxy\":{\"dropped_responses\":").append(dropped)
                        .append(",\"delayed_responses\":").append(delayed)
                        .append(",\"connections\":").append(connections).append('}');
                out.append(",\"run_ms\":").append(sent.runMs);
                out.append(",\"sent\":[");
                for (int i = 0; i < sent.count; i++) {
                    if (i > 0) {
                        out.append(',');
                    }
                    Outcome o = sent.outcomes.get(i);
                    out.append("{\"id\":").append(i).append(",\"key\":").append(sent.keys[i])
                            .append(",\"sent_at_ms\":").append(sent.sentAtMs[i]);
                    if (o == null) {
                        out.append(",\"outcome\":\"unfinished\",\"partition\":").append(sent.partitions[i]);
                    } else if (o.error == null) {
                        out.append(",\"outcome\":\"acked\",\"partition\":").append(o.partition)
                                .append(",\"offset\":").append(o.offset)
                                .append(",\"latency_ms\":").append(o.latencyMs);
                    } else {
                        out.append(",\"outcome\":\"failed\",\"partition\":").append(o.partition)
                                .append(",\"error\":\"").append(o.error.replace("\"", "'")).append('"');
                    }
                    out.append('}');
                }
                out.append("],\"log\":");
                appendLogs(out, uncommitted);
                out.append(",\"log_committed\":");
                appendLogs(out, committed);
                out.append(",\"metrics\":{");
                boolean first = true;
                for (Map.Entry<String, Double> m : sent.metrics.entrySet()) {
                    if (!first) {
                        out.append(',');
                    }
                    first = false;
                    out.append('"').append(m.getKey()).append("\":").append(finite(m.getValue()));
                }
                out.append("}}\n");
                return out.toString();
            } finally {
                for (FaultProxy p : proxies) {
                    p.close();
                }
            }
        }
    }

    private static String finite(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    private static void appendLogs(StringBuilder out, Map<Integer, List<long[]>> logs) {
        out.append('[');
        boolean firstP = true;
        for (Map.Entry<Integer, List<long[]>> e : logs.entrySet()) {
            if (!firstP) {
                out.append(',');
            }
            firstP = false;
            out.append("{\"partition\":").append(e.getKey()).append(",\"records\":[");
            boolean first = true;
            for (long[] r : e.getValue()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                out.append('[').append(r[0]).append(',').append(r[1]).append(']');
            }
            out.append("]}");
        }
        out.append(']');
    }

    private static String bootstrap(Launcher cluster) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cluster.nodes; i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append("127.0.0.1:").append(cluster.proxyPorts[i]);
        }
        return b.toString();
    }

    private static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        return Admin.create(p);
    }

    /** Waits (at most 90 s) for every node to register and the topic to have all its replicas in sync. */
    private static void waitReady(Launcher cluster, String bootstrap, int partitions, short rf, int minIsr)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        try (Admin admin = admin(bootstrap)) {
            while (true) {
                for (int i = 0; i <= cluster.controller; i++) {
                    cluster.requireAlive(i);
                }
                try {
                    Collection<?> seen = admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                    if (seen.size() == cluster.nodes) {
                        break;
                    }
                } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                    // not up yet
                }
                if (System.nanoTime() > deadline) {
                    StringBuilder logs = new StringBuilder();
                    for (int i = 0; i <= cluster.controller; i++) {
                        logs.append("node ").append(i).append(":\n").append(cluster.logTail(i));
                    }
                    throw new IllegalStateException("the cluster did not show " + cluster.nodes
                            + " brokers within 90 s; the nodes' logs end:\n" + logs);
                }
                Thread.sleep(200);
            }
            NewTopic topic = new NewTopic(TOPIC, assignment(cluster.nodes, partitions, rf))
                    .configs(Map.of("min.insync.replicas", Integer.toString(minIsr)));
            NewTopic warmup = new NewTopic(WARMUP_TOPIC, 1, (short) 1);
            admin.createTopics(List.of(topic, warmup)).all().get(30, TimeUnit.SECONDS);
            while (!inSync(admin, partitions, rf)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("topic " + TOPIC + " did not get " + partitions
                            + " partitions with " + rf + " in-sync replicas within 90 s");
                }
                Thread.sleep(100);
            }
        }
    }

    /**
     * Kafka's round-robin replica assignment without racks (AdminUtils.assignReplicasToBrokers,
     * now ReplicaPlacer's StripedReplicaPlacer for KRaft) with start index and shift 0, as linger
     * assigns replicas, so that broker numbers in a fault schedule name the same leaders on both
     * sides.
     */
    static Map<Integer, List<Integer>> assignment(int nodes, int partitions, short rf) {
        Map<Integer, List<Integer>> out = new TreeMap<>();
        for (int p = 0; p < partitions; p++) {
            int first = p % nodes;
            int shift = p / nodes;
            List<Integer> replicas = new ArrayList<>();
            replicas.add(first);
            for (int j = 1; j < rf; j++) {
                int offset = 1 + (shift + j - 1) % Math.max(nodes - 1, 1);
                replicas.add((first + offset) % nodes);
            }
            out.put(p, replicas);
        }
        return out;
    }

    private static boolean inSync(Admin admin, int partitions, short rf) {
        try {
            TopicDescription d = admin.describeTopics(List.of(TOPIC)).allTopicNames().get(5, TimeUnit.SECONDS).get(TOPIC);
            if (d.partitions().size() != partitions) {
                return false;
            }
            for (TopicPartitionInfo p : d.partitions()) {
                if (p.leader() == null || p.isr().size() < rf) {
                    return false;
                }
            }
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    /** After the run: waits up to {@code settleMs} for every replica to be back in sync. */
    private static void settle(String bootstrap, int partitions, short rf, long settleMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(settleMs, 5_000));
        try (Admin admin = admin(bootstrap)) {
            while (!inSync(admin, partitions, rf) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
        }
    }

    private record Outcome(int partition, long offset, String error, double latencyMs) {}

    private static final class Sent {
        int count;
        int[] keys;
        int[] partitions;
        double[] sentAtMs;
        AtomicReferenceArray<Outcome> outcomes;
        Map<String, Double> metrics = new TreeMap<>();
        long runMs;
    }

    private static Sent produce(Properties spec, String bootstrap, Launcher cluster, List<FaultProxy> proxies)
            throws Exception {
        Properties props = new Properties();
        props.putAll(prefixed(spec, "producer."));
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        int records = intOf(spec, "workload.records", 0);
        double durationMs = doubleOf(spec, "workload.duration.ms", 0);
        double perSec = doubleOf(spec, "workload.per.sec", 1000);
        int valueBytes = Math.max(8, intOf(spec, "workload.value.bytes", 512));
        int keyCount = intOf(spec, "workload.keys", 0);
        boolean sync = "sync".equals(spec.getProperty("workload.mode", "async"));
        long seed = Long.parseLong(spec.getProperty("seed", "1"));
        int capacity = records > 0 ? records : (int) Math.min(2_000_000, Math.ceil(durationMs / 1000.0 * perSec) + 1);
        Sent sent = new Sent();
        sent.keys = new int[capacity];
        sent.partitions = new int[capacity];
        sent.sentAtMs = new double[capacity];
        java.util.Arrays.fill(sent.partitions, -1);
        sent.outcomes = new AtomicReferenceArray<>(capacity);
        Random random = new Random(seed);
        List<Fault> schedule = faults(spec);
        // A throwaway producer sends a few records to a warm-up topic first, so that the JVM's
        // first-send costs (class loading, compilation) do not stretch the experiment's first
        // batches; its metrics and connections go with it.
        try (KafkaProducer<byte[], byte[]> warm = new KafkaProducer<>(props)) {
            for (int w = 0; w < WARMUP_RECORDS; w++) {
                warm.send(new ProducerRecord<>(WARMUP_TOPIC, new byte[valueBytes])).get(30, TimeUnit.SECONDS);
            }
        }
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            // Metadata first, so the run starts, as linger's does, with a producer that knows the
            // leaders.
            producer.partitionsFor(TOPIC);
            long t0 = System.nanoTime();
            Thread faulter = new Thread(() -> applyFaults(schedule, t0, cluster, proxies), "faults");
            faulter.setDaemon(true);
            faulter.start();
            CountDownLatch done = new CountDownLatch(capacity);
            int i = 0;
            for (; i < capacity; i++) {
                long due = t0 + (long) (i * 1e9 / perSec);
                if (!sync) {
                    long wait;
                    while ((wait = due - System.nanoTime()) > 0) {
                        TimeUnit.NANOSECONDS.sleep(Math.min(wait, 10_000_000L));
                    }
                }
                if (records == 0 && System.nanoTime() - t0 >= (long) (durationMs * 1e6)) {
                    break;
                }
                int key = keyCount > 0 ? random.nextInt(keyCount) : -1;
                sent.keys[i] = key;
                byte[] value = new byte[valueBytes];
                ByteBuffer.wrap(value).putLong(i);
                byte[] keyBytes = key >= 0 ? ("key-" + key).getBytes(StandardCharsets.UTF_8) : null;
                final int id = i;
                final long sentAt = System.nanoTime();
                sent.sentAtMs[i] = (sentAt - t0) / 1e6;
                try {
                    var future = producer.send(new ProducerRecord<>(TOPIC, keyBytes, value), (RecordMetadata md, Exception e) -> {
                        double latency = (System.nanoTime() - sentAt) / 1e6;
                        int partition = md == null ? -1 : md.partition();
                        if (e == null) {
                            sent.outcomes.set(id, new Outcome(partition, md.offset(), null, latency));
                        } else {
                            sent.outcomes.set(id, new Outcome(partition, -1, e.getClass().getSimpleName(), latency));
                        }
                        done.countDown();
                    });
                    if (sync) {
                        try {
                            future.get();
                        } catch (ExecutionException e) {
                            // told through the callback
                        }
                    }
                } catch (org.apache.kafka.common.KafkaException e) {
                    sent.outcomes.set(id, new Outcome(-1, -1, e.getClass().getSimpleName(), 0));
                    done.countDown();
                }
            }
            sent.count = i;
            for (int j = i; j < capacity; j++) {
                done.countDown();
            }
            producer.flush();
            int deliveryTimeout = Integer.parseInt(props.getProperty("delivery.timeout.ms", "120000"));
            done.await(deliveryTimeout + 30_000L, TimeUnit.MILLISECONDS);
            sent.runMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            faulter.interrupt();
            faulter.join(5_000);
            Map<MetricName, ? extends Metric> all = producer.metrics();
            for (String name : METRICS) {
                for (Map.Entry<MetricName, ? extends Metric> m : all.entrySet()) {
                    if (m.getKey().group().equals("producer-metrics") && m.getKey().name().equals(name)) {
                        Object v = m.getValue().metricValue();
                        if (v instanceof Number number) {
                            sent.metrics.put(name, number.doubleValue());
                        }
                    }
                }
            }
        }
        return sent;
    }

    private static void applyFaults(List<Fault> schedule, long t0, Launcher cluster, List<FaultProxy> proxies) {
        try {
            for (Fault f : schedule) {
                long due = t0 + (long) (f.atMs * 1e6);
                long wait;
                while ((wait = due - System.nanoTime()) > 0) {
                    TimeUnit.NANOSECONDS.sleep(Math.min(wait, 10_000_000L));
                }
                apply(f, t0, cluster, proxies);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            System.err.println("a fault could not be applied: " + e);
        }
    }

    private static void apply(Fault f, long t0, Launcher cluster, List<FaultProxy> proxies)
            throws InterruptedException, IOException {
        int b = f.broker;
        switch (f.action) {
            case "drop_responses" -> proxies.get(b).dropProduceResponses(f.n);
            case "delay_responses" -> proxies.get(b).delayProduceResponses(f.n, (long) f.delayMs);
            case "blackhole" -> proxies.get(b).blackholeAll();
            case "reset" -> proxies.get(b).resetAll();
            case "cut" -> proxies.get(b).cut = true;
            case "heal" -> proxies.get(b).cut = false;
            case "crash" -> cluster.kill(b);
            case "power_off" -> cluster.signal(b, "STOP");
            case "shutdown" -> cluster.terminate(b);
            case "restart" -> {
                if (cluster.frozen(b)) {
                    cluster.kill(b); // a host that lost power comes back rebooted
                }
                cluster.start(b);
            }
            case "latency_spike" -> {
                FaultProxy p = proxies.get(b);
                p.extraDelayNanos = (long) (f.extraMs * 1e6);
                Thread end = new Thread(() -> {
                    try {
                        long wait;
                        while ((wait = t0 + (long) (f.untilMs * 1e6) - System.nanoTime()) > 0) {
                            TimeUnit.NANOSECONDS.sleep(Math.min(wait, 10_000_000L));
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    p.extraDelayNanos = 0;
                }, "spike-end");
                end.setDaemon(true);
                end.start();
            }
            default -> System.err.println("fault action " + f.action + " is not applied on a real cluster");
        }
    }

    private static Map<Integer, List<long[]>> readLogs(String bootstrap, int partitions, String isolation) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        Map<Integer, List<long[]>> logs = new TreeMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < partitions; i++) {
                tps.add(new TopicPartition(TOPIC, i));
                logs.put(i, new ArrayList<>());
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                boolean all = true;
                for (TopicPartition tp : tps) {
                    if (consumer.position(tp, Duration.ofSeconds(10)) < end.get(tp)) {
                        all = false;
                    }
                }
                if (all) {
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    long id = r.value() != null && r.value().length >= 8 ? ByteBuffer.wrap(r.value()).getLong() : -1;
                    logs.get(r.partition()).add(new long[] {id, r.offset()});
                }
            }
        }
        return logs;
    }
}
