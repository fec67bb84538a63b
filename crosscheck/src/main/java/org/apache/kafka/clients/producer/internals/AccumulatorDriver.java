package org.apache.kafka.clients.producer.internals;

import org.apache.kafka.clients.ApiVersions;
import org.apache.kafka.clients.KafkaClient;
import org.apache.kafka.clients.MetadataSnapshot;
import org.apache.kafka.clients.producer.BufferExhaustedException;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.internals.ClusterResourceListeners;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.requests.InitProducerIdResponse;
import org.apache.kafka.common.requests.MetadataResponse.PartitionMetadata;
import org.apache.kafka.common.requests.ProduceResponse;
import org.apache.kafka.common.utils.ExponentialBackoff;
import org.apache.kafka.common.utils.LogContext;
import org.apache.kafka.common.utils.Time;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Runs the real Kafka producer's {@link RecordAccumulator} (with its real {@link BufferPool},
 * {@link BuiltInPartitioner}, {@link TransactionManager} in idempotent mode and the
 * batch-completion logic of {@link Sender}) from scripts read on stdin, one JSON object per
 * line, and prints one JSON decision line per operation on stdout.
 *
 * <p>A script is a header line (the producer settings, the topic's leaders and a seed for the
 * partitioner's random draws) followed by operations, each at a virtual time {@code t} in
 * milliseconds, and ends with {@code {"op":"end"}}. One JVM runs any number of scripts; each
 * starts from a fresh accumulator.
 *
 * <p>The class sits in Kafka's {@code producer.internals} package, as Kafka's own tests do, to
 * reach the package-private hooks those tests use ({@code createBuiltInPartitioner},
 * {@code randomPartition}, the idempotent {@code TransactionManager} calls). Private steps of
 * {@code Sender} (batch completion, the expiry pass) are called through reflection so that the
 * real code decides, not a copy of it.
 *
 * <p>Nothing ever blocks: every append passes {@code maxTimeToBlock = 0}, so an allocation
 * that cannot be served at once fails at once with {@code BufferExhaustedException} (the
 * pool's condition wait of zero nanoseconds returns immediately), which is what a blocked
 * {@code send()} ends in when {@code max.block.ms} passes with no memory freed. The retry
 * backoff's jitter is set to zero (the accumulator's {@code ExponentialBackoff} is replaced by
 * one with the same settings and no jitter), because Kafka draws it from
 * {@code ThreadLocalRandom} on every check and no script could predict it.
 */
public final class AccumulatorDriver {
    static final String TOPIC = "crosscheck";
    /** Set LINGER_CROSSCHECK_TRACE to print each ready pass's partition heads on stderr. */
    static final boolean TRACE = System.getenv("LINGER_CROSSCHECK_TRACE") != null;

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
        long lineNumber = 0;
        ScriptRun run = null;
        String line;
        while ((line = in.readLine()) != null) {
            lineNumber++;
            if (line.isBlank()) {
                continue;
            }
            String result;
            try {
                Map<String, Object> object = Json.parseObject(line);
                if (run == null) {
                    run = new ScriptRun(new ScriptHeader(object));
                    result = run.headerLine();
                } else {
                    String op = Fields.string(object, "op");
                    if (op.equals("end")) {
                        result = run.endLine();
                        run = null;
                    } else {
                        result = run.apply(op, object);
                    }
                }
            } catch (Fields.FieldException e) {
                if (run == null) {
                    // A bad header: the script's operations cannot run. Skip to its end line.
                    skipScript(in, out, lineNumber, e.getMessage());
                    lineNumber = skippedTo;
                    continue;
                }
                // A readable operation that does not fit the script's state: report it and go on.
                StringBuilder error = new StringBuilder("{\"error\":");
                Json.quote(error, "line " + lineNumber + ": " + e.getMessage());
                error.append(",\"line\":").append(lineNumber).append('}');
                result = error.toString();
            } catch (Json.JsonException e) {
                StringBuilder error = new StringBuilder("{\"error\":");
                Json.quote(error, "line " + lineNumber + ": " + e.getMessage());
                error.append(",\"line\":").append(lineNumber).append(",\"skipped\":true}");
                result = error.toString();
                // The rest of this script cannot be trusted: skip to its end line.
                run = null;
                out.write(result);
                out.newLine();
                out.flush();
                while ((line = in.readLine()) != null) {
                    lineNumber++;
                    if (line.contains("\"op\":\"end\"")) {
                        break;
                    }
                }
                continue;
            } catch (RuntimeException e) {
                StringBuilder error = new StringBuilder("{\"error\":");
                Json.quote(error, "line " + lineNumber + ": the Kafka client threw " + e);
                error.append(",\"line\":").append(lineNumber).append('}');
                result = error.toString();
            }
            out.write(result);
            out.newLine();
            if (run == null) {
                // The end of a script: the caller waits for it before sending the next one
                // only if it wants to; flushing here keeps it from waiting on a full buffer.
                out.flush();
            }
        }
        out.flush();
    }

    private static long skippedTo;

    /** Prints an error for a script that cannot run and reads up to its end line. */
    private static void skipScript(BufferedReader in, BufferedWriter out, long lineNumber, String message)
            throws IOException {
        StringBuilder error = new StringBuilder("{\"error\":");
        Json.quote(error, "line " + lineNumber + ": " + message);
        error.append(",\"line\":").append(lineNumber).append(",\"skipped\":true}");
        out.write(error.toString());
        out.newLine();
        out.flush();
        String line;
        long number = lineNumber;
        while ((line = in.readLine()) != null) {
            number++;
            if (line.contains("\"op\":\"end\"")) {
                break;
            }
        }
        skippedTo = number;
    }

    /** Typed access to a parsed object's fields, with errors that name the field. */
    static final class Fields {
        static final class FieldException extends RuntimeException {
            private static final long serialVersionUID = 1L;

            FieldException(String message) {
                super(message);
            }
        }

        static long integer(Map<String, Object> object, String key) {
            Object value = object.get(key);
            if (!(value instanceof Long)) {
                throw new FieldException("expected an integer field \"" + key + "\"");
            }
            return (Long) value;
        }

        static int int32(Map<String, Object> object, String key) {
            long value = integer(object, key);
            if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
                throw new FieldException("expected \"" + key + "\" to fit 32 bits");
            }
            return (int) value;
        }

        static Long optionalInteger(Map<String, Object> object, String key) {
            Object value = object.get(key);
            if (value == null) {
                return null;
            }
            if (!(value instanceof Long)) {
                throw new FieldException("expected an integer or null field \"" + key + "\"");
            }
            return (Long) value;
        }

        static boolean bool(Map<String, Object> object, String key) {
            Object value = object.get(key);
            if (!(value instanceof Boolean)) {
                throw new FieldException("expected a true/false field \"" + key + "\"");
            }
            return (Boolean) value;
        }

        static String string(Map<String, Object> object, String key) {
            Object value = object.get(key);
            if (!(value instanceof String)) {
                throw new FieldException("expected a string field \"" + key + "\"");
            }
            return (String) value;
        }

        static List<Long> integers(Map<String, Object> object, String key) {
            Object value = object.get(key);
            if (!(value instanceof List)) {
                throw new FieldException("expected an array of integers \"" + key + "\"");
            }
            List<Long> list = new ArrayList<>();
            for (Object item : (List<?>) value) {
                if (!(item instanceof Long)) {
                    throw new FieldException("expected only integers in \"" + key + "\"");
                }
                list.add((Long) item);
            }
            return list;
        }

        static List<List<Long>> pairs(Map<String, Object> object, String key) {
            Object value = object.get(key);
            if (!(value instanceof List)) {
                throw new FieldException("expected an array of [key length, value length] pairs \"" + key + "\"");
            }
            List<List<Long>> list = new ArrayList<>();
            for (Object item : (List<?>) value) {
                if (!(item instanceof List) || ((List<?>) item).size() != 2) {
                    throw new FieldException("expected [key length, value length] pairs in \"" + key + "\"");
                }
                List<Long> pair = new ArrayList<>();
                for (Object n : (List<?>) item) {
                    if (!(n instanceof Long)) {
                        throw new FieldException("expected integers in the pairs of \"" + key + "\"");
                    }
                    pair.add((Long) n);
                }
                list.add(pair);
            }
            return list;
        }
    }

    /** The script's header: the producer settings and the topic. */
    static final class ScriptHeader {
        final long script;
        final int batchSize;
        final int lingerMs;
        final long bufferMemory;
        final int maxRequestSize;
        final int deliveryTimeoutMs;
        final int requestTimeoutMs;
        final long retryBackoffMs;
        final long retryBackoffMaxMs;
        final int retries;
        final int maxInFlight;
        final boolean idempotence;
        final boolean adaptive;
        final long availabilityTimeoutMs;
        final boolean ignoreKeys;
        final List<Long> leaders;
        final long randomSeed;
        final boolean kafkaPartitionOrder;
        /** "none", or "lz4": Kafka's lz4 stream on values that do not compress (see IncompressibleLz4). */
        final String compression;

        ScriptHeader(Map<String, Object> object) {
            script = Fields.integer(object, "script");
            batchSize = Fields.int32(object, "batch_size");
            lingerMs = Fields.int32(object, "linger_ms");
            bufferMemory = Fields.integer(object, "buffer_memory");
            maxRequestSize = Fields.int32(object, "max_request_size");
            long maxBlockMs = Fields.integer(object, "max_block_ms");
            if (maxBlockMs != 0) {
                throw new Fields.FieldException("expected \"max_block_ms\" to be 0: the driver never blocks");
            }
            deliveryTimeoutMs = Fields.int32(object, "delivery_timeout_ms");
            requestTimeoutMs = Fields.int32(object, "request_timeout_ms");
            retryBackoffMs = Fields.integer(object, "retry_backoff_ms");
            retryBackoffMaxMs = Fields.integer(object, "retry_backoff_max_ms");
            retries = Fields.int32(object, "retries");
            maxInFlight = Fields.int32(object, "max_in_flight");
            idempotence = Fields.bool(object, "idempotence");
            adaptive = Fields.bool(object, "adaptive_partitioning");
            availabilityTimeoutMs = Fields.integer(object, "availability_timeout_ms");
            ignoreKeys = Fields.bool(object, "ignore_keys");
            leaders = Fields.integers(object, "leaders");
            if (leaders.isEmpty()) {
                throw new Fields.FieldException("expected at least one partition in \"leaders\"");
            }
            randomSeed = Fields.integer(object, "random_seed");
            // "kafka" keeps Kafka's own hash-ordered partition maps; the default, "partition",
            // lists partitions in partition order as linger does (see visitPartitionsInOrder).
            Object order = object.get("partition_order");
            if (order != null && !order.equals("kafka") && !order.equals("partition")) {
                throw new Fields.FieldException("expected \"partition_order\" to be \"partition\" or \"kafka\"");
            }
            kafkaPartitionOrder = "kafka".equals(order);
            compression = Fields.string(object, "compression");
            if (!compression.equals("none") && !compression.equals("lz4")) {
                throw new Fields.FieldException("expected \"compression\" to be \"none\" or \"lz4\"");
            }
        }
    }

    /** SplitMix64, the same sequence the Rust side draws, for the partitioner's random ints. */
    static final class SplitMix64 {
        private long state;

        SplitMix64(long seed) {
            state = seed;
        }

        int nextInt() {
            state += 0x9e3779b97f4a7c15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            return (int) ((z ^ (z >>> 31)) >>> 32);
        }
    }

    /** A clock that moves only when a script says so. */
    static final class ScriptTime implements Time {
        long nowMs;

        @Override
        public long milliseconds() {
            return nowMs;
        }

        @Override
        public long nanoseconds() {
            return TimeUnit.MILLISECONDS.toNanos(nowMs);
        }

        @Override
        public void sleep(long ms) {
            nowMs += ms;
        }

        @Override
        public void waitObject(Object obj, Supplier<Boolean> condition, long deadlineMs) {
            throw new IllegalStateException("the driver never waits");
        }
    }

    /** One script's accumulator and the Sender pieces around it. */
    static final class ScriptRun {
        private final ScriptHeader header;
        private final ScriptTime time = new ScriptTime();
        private final SplitMix64 random;
        private final BufferPool pool;
        private final RecordAccumulator accumulator;
        private final TransactionManager transactionManager;
        private final Sender sender;
        private final MetadataSnapshot metadata;
        private final Map<Integer, Node> nodes = new TreeMap<>();
        private final Map<ProducerBatch, Integer> ids = new IdentityHashMap<>();
        private final Map<Integer, ProducerBatch> batches = new HashMap<>();
        private final AtomicInteger flushesInProgress;
        private boolean closed;
        private long opIndex;

        ScriptRun(ScriptHeader header) {
            this.header = header;
            this.random = new SplitMix64(header.randomSeed);
            LogContext logContext = new LogContext();
            Metrics metrics = new Metrics(time);
            pool = new BufferPool(header.bufferMemory, header.batchSize, metrics, time, "producer-metrics");
            transactionManager = header.idempotence
                ? new TransactionManager(logContext, null, 0, header.retryBackoffMs, new ApiVersions())
                : null;
            RecordAccumulator.PartitionerConfig partitionerConfig =
                new RecordAccumulator.PartitionerConfig(header.adaptive, header.availabilityTimeoutMs);
            SplitMix64 draws = random;
            // The ratio estimate is a static per topic and codec: every script starts from 1.0.
            org.apache.kafka.common.record.CompressionRatioEstimator.resetEstimation(TOPIC);
            Compression compression = header.compression.equals("lz4")
                ? new IncompressibleLz4() : Compression.NONE;
            accumulator = new RecordAccumulator(logContext, header.batchSize, compression, header.lingerMs,
                header.retryBackoffMs, header.retryBackoffMaxMs, header.deliveryTimeoutMs, partitionerConfig,
                metrics, "producer-metrics", time, new ApiVersions(), transactionManager, pool) {
                @Override
                BuiltInPartitioner createBuiltInPartitioner(LogContext context, String topic, int stickyBatchSize) {
                    return new BuiltInPartitioner(context, topic, stickyBatchSize) {
                        @Override
                        int randomPartition() {
                            return draws.nextInt() & 0x7fffffff;
                        }
                    };
                }
            };
            Reflect.setField(accumulator, "retryBackoff",
                new ExponentialBackoff(header.retryBackoffMs, 2, header.retryBackoffMaxMs, 0.0));
            flushesInProgress = (AtomicInteger) Reflect.getField(accumulator, "flushesInProgress");
            if (!header.kafkaPartitionOrder) {
                visitPartitionsInOrder(logContext);
            }
            ProducerMetadata producerMetadata = new ProducerMetadata(100, 1000, 300_000, 300_000, logContext,
                new ClusterResourceListeners(), time);
            KafkaClient client = (KafkaClient) Proxy.newProxyInstance(KafkaClient.class.getClassLoader(),
                new Class<?>[] {KafkaClient.class}, (proxy, method, args) -> defaultValue(method.getReturnType()));
            sender = new Sender(logContext, client, producerMetadata, accumulator, header.maxInFlight == 1,
                header.maxRequestSize, (short) -1, header.retries, new SenderMetricsRegistry(metrics), time,
                header.requestTimeoutMs, header.retryBackoffMs, transactionManager, new ApiVersions());
            metadata = buildMetadata();
        }

        /**
         * Creates the topic's entry with its partition deques in a sorted map. Kafka keeps them in
         * a copy-on-write HashMap, so ready() visits partitions in an order that depends on the
         * order the deques were created and the table's size; linger visits them in partition
         * order, a simplification listed in ARCHITECTURE.md (it can change the next ready-check
         * delay and the order of the adaptive partitioner's frequency table, not which nodes are
         * ready or the partitions' weights).
         */
        @SuppressWarnings("unchecked")
        private void visitPartitionsInOrder(LogContext logContext) {
            try {
                Class<?> topicInfoClass = Class.forName(RecordAccumulator.class.getName() + "$TopicInfo");
                java.lang.reflect.Constructor<?> constructor = topicInfoClass.getDeclaredConstructor(BuiltInPartitioner.class);
                constructor.setAccessible(true);
                Object topicInfo = constructor.newInstance(
                    accumulator.createBuiltInPartitioner(logContext, TOPIC, Math.max(1, header.batchSize)));
                Reflect.setField(topicInfo, "batches", new java.util.concurrent.ConcurrentSkipListMap<Integer, Deque<ProducerBatch>>());
                ((Map<String, Object>) Reflect.getField(accumulator, "topicInfoMap")).put(TOPIC, topicInfo);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot set up the topic's partition map: " + e, e);
            }
        }

        private static Object defaultValue(Class<?> type) {
            if (type == boolean.class) {
                return false;
            } else if (type == int.class) {
                return 0;
            } else if (type == long.class) {
                return 0L;
            }
            return null;
        }

        private MetadataSnapshot buildMetadata() {
            List<PartitionMetadata> partitions = new ArrayList<>();
            for (int p = 0; p < header.leaders.size(); p++) {
                long leader = header.leaders.get(p);
                Optional<Integer> leaderId = leader < 0 ? Optional.empty() : Optional.of((int) leader);
                Optional<Integer> epoch = leader < 0 ? Optional.empty() : Optional.of(0);
                List<Integer> replicas = leader < 0 ? Collections.emptyList() : List.of((int) leader);
                if (leader >= 0) {
                    nodes.computeIfAbsent((int) leader, id -> new Node(id, "broker-" + id, 9092));
                }
                partitions.add(new PartitionMetadata(leader < 0 ? Errors.LEADER_NOT_AVAILABLE : Errors.NONE,
                    new TopicPartition(TOPIC, p), leaderId, epoch, replicas, replicas, Collections.emptyList()));
            }
            // The Cluster view lists partitions in partition order. Kafka's own view lists them in
            // the iteration order of its metadata map (a hash order of TopicPartition); linger uses
            // partition order, a simplification listed in ARCHITECTURE.md: it permutes which
            // partition a random draw names and where a node's drain rotation starts.
            List<PartitionInfo> infos = new ArrayList<>();
            for (int p = 0; p < header.leaders.size(); p++) {
                long leader = header.leaders.get(p);
                Node node = leader < 0 ? null : nodes.get((int) leader);
                Node[] replicas = node == null ? new Node[0] : new Node[] {node};
                infos.add(new PartitionInfo(TOPIC, p, node, replicas, replicas));
            }
            Cluster cluster = new Cluster(null, nodes.values(), infos, Collections.emptySet(), Collections.emptySet());
            return new MetadataSnapshot(null, nodes, partitions, Collections.emptySet(), Collections.emptySet(),
                Collections.emptySet(), null, Collections.emptyMap(), header.kafkaPartitionOrder ? null : cluster);
        }

        String headerLine() {
            StringBuilder line = new StringBuilder("{\"script\":").append(header.script).append(",\"kafka_clients\":");
            Json.quote(line, org.apache.kafka.common.utils.AppInfoParser.getVersion());
            line.append(",\"java\":");
            Json.quote(line, System.getProperty("java.version"));
            return line.append('}').toString();
        }

        String endLine() {
            return "{\"end\":" + header.script + ",\"ops\":" + opIndex + "}";
        }

        String apply(String op, Map<String, Object> object) {
            opIndex++;
            Long t = Fields.optionalInteger(object, "t");
            if (t != null) {
                if (t < time.nowMs) {
                    throw new Fields.FieldException("expected \"t\" not to go back in time (" + t + " < " + time.nowMs + ")");
                }
                time.nowMs = t;
            }
            Out out = new Out(op);
            switch (op) {
                case "append": append(object, out); break;
                case "ready": ready(out); break;
                case "drain": drain(object, out); break;
                case "complete": complete(object, out); break;
                case "expire": expire(out); break;
                case "sender_loop": senderLoop(out); break;
                case "init_pid": initProducerId(object, out); break;
                case "flush_begin": accumulator.beginFlush(); break;
                case "flush_end": flushesInProgress.decrementAndGet(); break;
                case "close":
                    closed = true;
                    accumulator.close();
                    break;
                default:
                    throw new Fields.FieldException("expected \"op\" to be one of append, ready, drain, complete,"
                        + " expire, sender_loop, init_pid, flush_begin, flush_end, close, end; got \"" + op + "\"");
            }
            out.field("memory", pool.availableMemory());
            return out.finish();
        }

        private int idOf(ProducerBatch batch) {
            Integer id = ids.get(batch);
            if (id == null) {
                id = ids.size();
                ids.put(batch, id);
                batches.put(id, batch);
            }
            return id;
        }

        private void append(Map<String, Object> object, Out out) {
            Long explicit = Fields.optionalInteger(object, "partition");
            Object keyField = object.get("key");
            byte[] key = null;
            if (keyField != null) {
                if (!(keyField instanceof String)) {
                    throw new Fields.FieldException("expected \"key\" to be a hex string or null");
                }
                key = hex((String) keyField);
            }
            Long valueLength = Fields.optionalInteger(object, "value");
            byte[] value = valueLength == null ? null : new byte[(int) (long) valueLength];
            List<List<Long>> headerSizes = Fields.pairs(object, "headers");
            org.apache.kafka.common.header.Header[] recordHeaders =
                new org.apache.kafka.common.header.Header[headerSizes.size()];
            for (int i = 0; i < headerSizes.size(); i++) {
                String headerKey = "k".repeat((int) (long) headerSizes.get(i).get(0));
                long headerValueLength = headerSizes.get(i).get(1);
                byte[] headerValue = headerValueLength < 0 ? null : new byte[(int) headerValueLength];
                recordHeaders[i] = new RecordHeader(headerKey, headerValue);
            }
            if (closed) {
                // KafkaProducer.doSend refuses a send on a closed producer before the accumulator.
                out.field("result", "closed");
                return;
            }
            int upperBound = AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE,
                CompressionType.NONE, key, value, recordHeaders);
            if (upperBound > header.maxRequestSize || upperBound > header.bufferMemory) {
                // KafkaProducer.ensureValidRecordSize.
                out.field("result", "record_too_large");
                return;
            }
            int partition;
            if (explicit != null) {
                partition = (int) (long) explicit;
            } else if (key != null && !header.ignoreKeys) {
                // KafkaProducer.partition for a keyed record with the built-in partitioner.
                partition = BuiltInPartitioner.partitionForKey(key, header.leaders.size());
            } else {
                partition = RecordMetadata.UNKNOWN_PARTITION;
            }
            RecordAccumulator.RecordAppendResult result;
            int[] chosen = {-1};
            RecordAccumulator.AppendCallbacks callbacks = new RecordAccumulator.AppendCallbacks() {
                @Override
                public void setPartition(int effectivePartition) {
                    chosen[0] = effectivePartition;
                }

                @Override
                public void onCompletion(RecordMetadata metadata, Exception exception) {
                }
            };
            try {
                result = accumulator.append(TOPIC, partition, time.nowMs, key, value, recordHeaders, callbacks, 0,
                    time.nowMs, metadata.cluster());
            } catch (BufferExhaustedException e) {
                out.field("result", "buffer_exhausted");
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } catch (KafkaException e) {
                out.field("result", "closed");
                return;
            }
            TopicPartition tp = new TopicPartition(TOPIC, chosen[0]);
            Deque<ProducerBatch> deque = accumulator.getDeque(tp);
            ProducerBatch batch = deque.peekLast();
            out.field("result", "appended");
            out.field("partition", tp.partition());
            out.field("batch", idOf(batch));
            out.field("new_batch", result.newBatchCreated);
            out.field("batch_is_full", result.batchIsFull);
            out.field("batch_records", batch.recordCount);
            out.field("batch_bytes", batch.estimatedSizeInBytes());
        }

        private void ready(Out out) {
            RecordAccumulator.ReadyCheckResult result = accumulator.ready(metadata, time.nowMs);
            if (TRACE) {
                Map<?, ?> topics = (Map<?, ?>) Reflect.getField(accumulator, "topicInfoMap");
                Object info = topics.get(TOPIC);
                System.err.println("t=" + time.nowMs + " deque order "
                    + (info == null ? "none" : ((Map<?, ?>) Reflect.getField(info, "batches")).keySet())
                    + " muted " + Reflect.getField(accumulator, "muted"));
                for (int p = 0; p < header.leaders.size(); p++) {
                    Deque<ProducerBatch> deque = accumulator.getDeque(new TopicPartition(TOPIC, p));
                    ProducerBatch head = deque == null ? null : deque.peekFirst();
                    if (head != null) {
                        System.err.println("t=" + time.nowMs + " p" + p + " batch " + idOf(head) + " attempts "
                            + head.attempts() + " waited " + head.waitedTimeMs(time.nowMs) + " deque " + deque.size()
                            + " leaderChanged " + head.hasLeaderChangedForTheOngoingRetry());
                    }
                }
            }
            List<Integer> ready = new ArrayList<>();
            for (Node node : result.readyNodes) {
                ready.add(node.id());
            }
            Collections.sort(ready);
            out.ints("ready_nodes", ready);
            out.field("next_check_delay_ms",
                result.nextReadyCheckDelayMs == Long.MAX_VALUE ? null : result.nextReadyCheckDelayMs);
            out.field("unknown_leader", !result.unknownLeaderTopics.isEmpty());
        }

        private void drain(Map<String, Object> object, Out out) {
            Set<Node> drainable = new LinkedHashSet<>();
            for (long id : Fields.integers(object, "not_ready")) {
                accumulator.updateNodeLatencyStats((int) id, time.nowMs, false);
            }
            for (long id : Fields.integers(object, "nodes")) {
                Node node = nodes.get((int) id);
                if (node == null) {
                    throw new Fields.FieldException("expected \"nodes\" to name leaders; " + id + " leads nothing");
                }
                accumulator.updateNodeLatencyStats((int) id, time.nowMs, true);
                drainable.add(node);
            }
            Map<Integer, List<ProducerBatch>> drained =
                accumulator.drain(metadata, drainable, header.maxRequestSize, time.nowMs);
            sender.addToInflightBatches(drained);
            if (header.maxInFlight == 1) {
                for (List<ProducerBatch> list : drained.values()) {
                    for (ProducerBatch batch : list) {
                        accumulator.mutePartition(batch.topicPartition);
                    }
                }
            }
            StringBuilder requests = new StringBuilder("[");
            boolean firstNode = true;
            for (Map.Entry<Integer, List<ProducerBatch>> entry : new TreeMap<>(drained).entrySet()) {
                if (entry.getValue().isEmpty()) {
                    continue;
                }
                if (!firstNode) {
                    requests.append(',');
                }
                firstNode = false;
                requests.append("{\"node\":").append(entry.getKey()).append(",\"batches\":[");
                boolean firstBatch = true;
                for (ProducerBatch batch : entry.getValue()) {
                    if (!firstBatch) {
                        requests.append(',');
                    }
                    firstBatch = false;
                    requests.append("{\"batch\":").append(idOf(batch))
                        .append(",\"partition\":").append(batch.topicPartition.partition())
                        .append(",\"records\":").append(batch.recordCount)
                        .append(",\"bytes\":").append(batch.estimatedSizeInBytes())
                        .append(",\"attempts\":").append(batch.attempts());
                    if (transactionManager != null) {
                        requests.append(",\"base_sequence\":").append(batch.baseSequence())
                            .append(",\"producer_id\":").append(batch.producerId())
                            .append(",\"epoch\":").append(batch.producerEpoch());
                    }
                    requests.append('}');
                }
                requests.append("]}");
            }
            requests.append(']');
            out.raw("requests", requests.toString());
        }

        private void complete(Map<String, Object> object, Out out) {
            int id = Fields.int32(object, "batch");
            ProducerBatch batch = batches.get(id);
            if (batch == null) {
                throw new Fields.FieldException("expected \"batch\" to name a drained batch; " + id + " is unknown");
            }
            String errorName = Fields.string(object, "error");
            Errors error;
            try {
                error = Errors.valueOf(errorName);
            } catch (IllegalArgumentException e) {
                throw new Fields.FieldException("expected \"error\" to be a Kafka error name such as NONE or"
                    + " NOT_LEADER_OR_FOLLOWER; got \"" + errorName + "\"");
            }
            long baseOffset = Fields.integer(object, "base_offset");
            boolean wasDone = batch.isDone();
            ProduceResponse.PartitionResponse response = error == Errors.NONE
                ? new ProduceResponse.PartitionResponse(Errors.NONE, baseOffset, RecordBatch.NO_TIMESTAMP, -1)
                : new ProduceResponse.PartitionResponse(error);
            Reflect.call(sender, "completeBatch",
                new Class<?>[] {ProducerBatch.class, ProduceResponse.PartitionResponse.class, long.class, long.class,
                    Map.class},
                batch, response, 0L, time.nowMs, new HashMap<>());
            TopicPartition tp = batch.topicPartition;
            String outcome;
            List<Integer> children = new ArrayList<>();
            if (wasDone) {
                outcome = "late";
            } else if (error == Errors.MESSAGE_TOO_LARGE && batch.recordCount > 1) {
                // Sender.completeBatch's split branch: the records move to new batches.
                outcome = "split";
                for (ProducerBatch child : accumulator.getDeque(tp)) {
                    if (!ids.containsKey(child)) {
                        children.add(idOf(child));
                    }
                }
            } else if ("SUCCEEDED".equals(String.valueOf(batch.finalState()))) {
                outcome = "succeeded";
            } else if ("FAILED".equals(String.valueOf(batch.finalState()))) {
                outcome = "failed";
            } else if (batch.finalState() == null) {
                outcome = "retried";
            } else {
                outcome = "final_state_" + batch.finalState();
            }
            out.field("outcome", outcome);
            if (!children.isEmpty()) {
                out.ints("children", children);
            }
            if (transactionManager != null) {
                sequenceState(tp, out);
            }
        }

        private void sequenceState(TopicPartition tp, Out out) {
            out.field("next_sequence", transactionManager.sequenceNumber(tp));
            OptionalInt acked = transactionManager.lastAckedSequence(tp);
            out.field("last_acked_sequence", acked.isPresent() ? acked.getAsInt() : -1);
            out.field("unresolved", transactionManager.hasUnresolvedSequence(tp));
        }

        @SuppressWarnings("unchecked")
        private void expire(Out out) {
            accumulator.resetNextBatchExpiryTime();
            List<ProducerBatch> inFlight = (List<ProducerBatch>) Reflect.call(sender, "getExpiredInflightBatches",
                new Class<?>[] {long.class}, time.nowMs);
            List<ProducerBatch> queued = accumulator.expiredBatches(time.nowMs);
            Class<?>[] failTypes = {List.class, long.class, boolean.class};
            Reflect.call(sender, "failExpiredBatches", failTypes, queued, time.nowMs, true);
            Reflect.call(sender, "failExpiredBatches", failTypes, inFlight, time.nowMs, false);
            List<Integer> expired = new ArrayList<>();
            for (ProducerBatch batch : queued) {
                expired.add(idOf(batch));
            }
            for (ProducerBatch batch : inFlight) {
                expired.add(idOf(batch));
            }
            Collections.sort(expired);
            out.ints("expired", expired);
            long next = accumulator.nextExpiryTimeMs();
            out.field("next_expiry_ms", next == Long.MAX_VALUE ? null : next);
        }

        private void senderLoop(Out out) {
            if (transactionManager == null) {
                out.field("action", "none");
                return;
            }
            // Sender.runOnce, for the idempotent producer.
            transactionManager.maybeResolveSequences();
            ProducerIdAndEpochView before = ProducerIdAndEpochView.of(transactionManager);
            transactionManager.bumpIdempotentEpochAndResetIdIfNeeded();
            ProducerIdAndEpochView after = ProducerIdAndEpochView.of(transactionManager);
            String action;
            if (!transactionManager.hasProducerId()) {
                action = "init_producer_id_needed";
            } else if (!before.equals(after)) {
                action = "epoch_bumped";
            } else {
                action = "none";
            }
            out.field("action", action);
            out.field("producer_id", after.producerId);
            out.field("epoch", after.epoch);
        }

        private void initProducerId(Map<String, Object> object, Out out) {
            if (transactionManager == null) {
                throw new Fields.FieldException("expected \"init_pid\" only in an idempotent script");
            }
            long producerId = Fields.integer(object, "producer_id");
            short epoch = (short) Fields.int32(object, "epoch");
            TransactionManager.TxnRequestHandler handler = transactionManager.nextRequest(accumulator.hasIncomplete());
            if (handler == null) {
                throw new Fields.FieldException("expected an InitProducerId request to be pending");
            }
            handler.handleResponse(new InitProducerIdResponse(
                new InitProducerIdResponseData().setProducerId(producerId).setProducerEpoch(epoch)));
            ProducerIdAndEpochView now = ProducerIdAndEpochView.of(transactionManager);
            out.field("producer_id", now.producerId);
            out.field("epoch", now.epoch);
        }

        private static byte[] hex(String text) {
            if (text.length() % 2 != 0) {
                throw new Fields.FieldException("expected \"key\" to have an even number of hex digits");
            }
            byte[] bytes = new byte[text.length() / 2];
            for (int i = 0; i < bytes.length; i++) {
                int high = Character.digit(text.charAt(2 * i), 16);
                int low = Character.digit(text.charAt(2 * i + 1), 16);
                if (high < 0 || low < 0) {
                    throw new Fields.FieldException("expected \"key\" to be hex digits");
                }
                bytes[i] = (byte) (high * 16 + low);
            }
            return bytes;
        }
    }

    /** The producer id and epoch as plain values. */
    static final class ProducerIdAndEpochView {
        final long producerId;
        final short epoch;

        private ProducerIdAndEpochView(long producerId, short epoch) {
            this.producerId = producerId;
            this.epoch = epoch;
        }

        static ProducerIdAndEpochView of(TransactionManager manager) {
            org.apache.kafka.common.utils.ProducerIdAndEpoch state = manager.producerIdAndEpoch();
            return new ProducerIdAndEpochView(state.producerId, state.epoch);
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof ProducerIdAndEpochView
                && ((ProducerIdAndEpochView) other).producerId == producerId
                && ((ProducerIdAndEpochView) other).epoch == epoch;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(producerId) * 31 + epoch;
        }
    }

    /** One decision line under construction. */
    static final class Out {
        private final StringBuilder text = new StringBuilder(128);

        Out(String op) {
            text.append("{\"op\":");
            Json.quote(text, op);
        }

        void field(String key, Object value) {
            text.append(",\"").append(key).append("\":");
            if (value == null) {
                text.append("null");
            } else if (value instanceof String) {
                Json.quote(text, (String) value);
            } else {
                text.append(value);
            }
        }

        void ints(String key, List<Integer> values) {
            text.append(",\"").append(key).append("\":[");
            for (int i = 0; i < values.size(); i++) {
                if (i > 0) {
                    text.append(',');
                }
                text.append(values.get(i));
            }
            text.append(']');
        }

        void raw(String key, String json) {
            text.append(",\"").append(key).append("\":").append(json);
        }

        String finish() {
            return text.append('}').toString();
        }
    }

    /** Reflection on Kafka's private members, so that Kafka's own code makes each decision. */
    /**
     * Kafka's own lz4 stream ({@code Lz4BlockOutputStream}, frame header, 64 KiB blocks, end mark)
     * whose block compressor never shrinks a block, so every block is stored raw, as Kafka
     * stores the blocks of values that do not compress. The bytes a batch takes are then
     * exactly known on both sides ({@code 7 + sum(4 + block) + 4}), where a real compressor's
     * output differs between lz4-java and linger's codec by a few bytes, which would move the
     * estimate and every later room test. The batch still reads back through Kafka's real lz4
     * input stream, so a split works as it does on a real batch.
     */
    static final class IncompressibleLz4 implements Compression {
        private final Compression lz4 = Compression.lz4().build();

        @Override
        public CompressionType type() {
            return CompressionType.LZ4;
        }

        @Override
        public java.io.OutputStream wrapForOutput(org.apache.kafka.common.utils.ByteBufferOutputStream buffer,
                                                  byte messageVersion) {
            java.io.OutputStream out = lz4.wrapForOutput(buffer, messageVersion);
            Reflect.setField(out, "compressor", new net.jpountz.lz4.LZ4Compressor() {
                @Override
                public int compress(byte[] src, int srcOff, int srcLen, byte[] dest, int destOff, int maxDestLen) {
                    return srcLen;
                }

                @Override
                public int compress(java.nio.ByteBuffer src, int srcOff, int srcLen, java.nio.ByteBuffer dest,
                                    int destOff, int maxDestLen) {
                    return srcLen;
                }
            });
            return out;
        }

        @Override
        public java.io.InputStream wrapForInput(java.nio.ByteBuffer buffer, byte messageVersion,
                                                org.apache.kafka.common.utils.BufferSupplier supplier) {
            return lz4.wrapForInput(buffer, messageVersion, supplier);
        }

        @Override
        public int decompressionOutputSize() {
            return lz4.decompressionOutputSize();
        }
    }

    static final class Reflect {
        static void setField(Object target, String name, Object value) {
            try {
                Field field = findField(target.getClass(), name);
                field.setAccessible(true);
                field.set(target, value);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot set " + name + ": " + e, e);
            }
        }

        static Object getField(Object target, String name) {
            try {
                Field field = findField(target.getClass(), name);
                field.setAccessible(true);
                return field.get(target);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read " + name + ": " + e, e);
            }
        }

        private static Field findField(Class<?> type, String name) throws NoSuchFieldException {
            for (Class<?> c = type; c != null; c = c.getSuperclass()) {
                try {
                    return c.getDeclaredField(name);
                } catch (NoSuchFieldException e) {
                    // try the superclass
                }
            }
            throw new NoSuchFieldException(name);
        }

        private static final Map<String, Method> METHODS = new HashMap<>();

        static Object call(Object target, String name, Class<?>[] types, Object... args) {
            try {
                Method method = METHODS.get(name);
                if (method == null) {
                    method = target.getClass().getDeclaredMethod(name, types);
                    method.setAccessible(true);
                    METHODS.put(name, method);
                }
                return method.invoke(target, args);
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause();
                if (cause instanceof RuntimeException) {
                    throw (RuntimeException) cause;
                }
                throw new IllegalStateException(name + " threw " + cause, cause);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot call " + name + ": " + e, e);
            }
        }
    }
}
