package org.apache.kafka.clients.producer.internals;

import org.apache.kafka.clients.ApiVersions;
import org.apache.kafka.clients.ClientRequest;
import org.apache.kafka.clients.ClientResponse;
import org.apache.kafka.clients.MockClient;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.internals.ClusterResourceListeners;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.requests.InitProducerIdResponse;
import org.apache.kafka.common.requests.MetadataResponse;
import org.apache.kafka.common.requests.ProduceResponse;
import org.apache.kafka.common.requests.RequestTestUtils;
import org.apache.kafka.common.utils.ExponentialBackoff;
import org.apache.kafka.common.utils.LogContext;
import org.apache.kafka.common.utils.MockTime;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs the real Kafka producer {@link Sender} (with the real {@link RecordAccumulator},
 * {@link BufferPool} and {@link TransactionManager} in idempotent mode) over Kafka's own test
 * client {@link MockClient}, from scripts read on stdin, and prints what the producer decided
 * during each operation as one JSON line on stdout: every produce request as it is sent (node,
 * batches, producer id, epoch, base sequence, the records in each batch) and every record's
 * completion (offset or error), each with the virtual time in milliseconds.
 *
 * <p>The sender runs the way its I/O thread does: {@code runOnce} again at once while it asks
 * for no wait (or a response waits to be read), otherwise it sleeps until the earliest of its
 * poll timeout, {@code request.timeout.ms} and the metadata refresh (the bound
 * {@code NetworkClient.poll} puts on the selector's wait); a response, a disconnect or a
 * {@code send()} that opens or fills a batch wakes it. At each wake-up the client first reads
 * what arrived (its {@code poll}), then the sender runs.
 *
 * <p>What the test client leaves out and the driver adds, each as {@code NetworkClient} does it:
 * a node at {@code max.in.flight.requests.per.connection} is not ready
 * ({@code InFlightRequests.canSendMore}); a request older than {@code request.timeout.ms}
 * (strictly) closes its connection and every request on it fails as timed out
 * ({@code handleTimedOutRequests}); a disconnect asks for a metadata update
 * ({@code handleServerDisconnect}); a wanted metadata update is answered with the cluster's
 * current leaders once {@code Metadata.timeToNextUpdate} allows it and some node can take one
 * more request ({@code DefaultMetadataUpdater.maybeUpdate}). Connections are ready as
 * soon as they are wanted and InitProducerId is answered at once (producer ids from 1000, epoch
 * 0), as linger's scripted brokers do. The retry backoff's jitter is zero.
 *
 * <p>Request timeouts by default follow linger's clock, which counts nanoseconds: a request
 * times out 1 ns after {@code request.timeout.ms}, after everything else due at that
 * millisecond, and the thread is woken then. A header with {@code "kafka_request_timeout_wake":
 * true} keeps Kafka's own timing instead (the thread notices the timeout at its next wake-up,
 * strictly after the timeout on its millisecond clock), for the test that pins the difference.
 *
 * <p>Each record's value carries its number in the script in its first eight bytes, so that
 * the requests name their records.
 */
public final class SenderDriver {
    static final String TOPIC = "crosscheck";
    static final long FIRST_PRODUCER_ID = 1000;
    /** Sender passes in a row at one instant before the driver calls it a spin. */
    static final int PASSES_PER_INSTANT = 64;
    /**
     * The clock's reading at script time 0: the test client counts a connection as throttled
     * until a time after 0, so the scripts' times are shifted by this much inside the driver
     * (and back in what it prints).
     */
    static final long EPOCH_MS = 1_000_000;

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
        long lineNumber = 0;
        Run run = null;
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
                    run = new Run(object);
                    result = run.headerLine();
                } else {
                    String op = AccumulatorDriver.Fields.string(object, "op");
                    if (op.equals("end")) {
                        result = "{\"end\":" + run.script + ",\"unfinished\":" + run.unfinished() + "}";
                        run = null;
                    } else {
                        result = run.apply(op, object);
                    }
                }
            } catch (AccumulatorDriver.Fields.FieldException | Json.JsonException e) {
                StringBuilder error = new StringBuilder("{\"error\":");
                Json.quote(error, "line " + lineNumber + ": " + e.getMessage());
                error.append(",\"line\":").append(lineNumber).append(",\"skipped\":true}");
                result = error.toString();
                // The rest of this script cannot be trusted: skip to its end line.
                boolean inScript = run != null;
                run = null;
                out.write(result);
                out.newLine();
                out.flush();
                if (inScript || !line.contains("\"op\":\"end\"")) {
                    while ((line = in.readLine()) != null) {
                        lineNumber++;
                        if (line.contains("\"op\":\"end\"")) {
                            break;
                        }
                    }
                }
                continue;
            }
            out.write(result);
            out.newLine();
            out.flush();
        }
        out.flush();
    }

    /** The test client with the parts of {@code NetworkClient} the sender's decisions need. */
    static final class DriverClient extends MockClient {
        private final MockTime time;
        private final ProducerMetadata metadata;
        private final int maxInFlight;
        private final long requestTimeoutMs;
        private final boolean kafkaRequestTimeoutWake;
        private final Run run;
        MetadataResponse current;
        long lastPollTimeoutMs;
        long lastPollAtMs;

        DriverClient(MockTime time, ProducerMetadata metadata, int maxInFlight, long requestTimeoutMs,
                     boolean kafkaRequestTimeoutWake, Run run) {
            super(time, new MockMetadataUpdater() {
                @Override
                public List<Node> fetchNodes() {
                    return metadata.fetch().nodes();
                }

                // The driver answers wanted updates itself (see poll), after the refresh backoff.
                @Override
                public boolean isUpdateNeeded() {
                    return false;
                }

                @Override
                public void update(org.apache.kafka.common.utils.Time time, MetadataUpdate update) {
                }
            });
            this.time = time;
            this.metadata = metadata;
            this.maxInFlight = maxInFlight;
            this.requestTimeoutMs = requestTimeoutMs;
            this.kafkaRequestTimeoutWake = kafkaRequestTimeoutWake;
            this.run = run;
        }

        @Override
        public boolean ready(Node node, long now) {
            if (isConnected(node.idString()) && inFlightRequestCount(node.idString()) >= maxInFlight) {
                return false;
            }
            return super.ready(node, now);
        }

        @Override
        public boolean isReady(Node node, long now) {
            return super.isReady(node, now) && inFlightRequestCount(node.idString()) < maxInFlight;
        }

        @Override
        public void send(ClientRequest request, long now) {
            super.send(request, now);
            run.onSend(request, now);
        }

        @Override
        public List<ClientResponse> poll(long timeoutMs, long now) {
            lastPollTimeoutMs = timeoutMs;
            lastPollAtMs = now;
            timeOutRequests(now);
            // DefaultMetadataUpdater.maybeUpdate: a metadata request needs a node that can take
            // one more request; the broker answers it at once.
            if (metadata.updateRequested() && metadata.timeToNextUpdate(now) == 0 && anyNodeCanTakeRequest()) {
                applyCurrentMetadata(now);
            }
            return super.poll(timeoutMs, now);
        }

        private boolean anyNodeCanTakeRequest() {
            for (Node node : metadata.fetch().nodes()) {
                if (inFlightRequestCount(node.idString()) < maxInFlight) {
                    return true;
                }
            }
            return false;
        }

        void applyCurrentMetadata(long now) {
            metadata.updateWithCurrentRequestVersion(current, false, now);
        }

        /**
         * When the I/O thread wakes from the last poll: the sender's poll timeout bounded as
         * {@code NetworkClient.poll} bounds the selector's wait; at least a millisecond after
         * that poll (a sender that asks for no wait yet makes no progress spins; it is woken
         * once a millisecond). {@code Long.MAX_VALUE} for never.
         */
        long nextWakeMs() {
            long delay = Math.min(lastPollTimeoutMs, requestTimeoutMs);
            if (metadata.updateRequested()) {
                delay = Math.min(delay, metadata.timeToNextUpdate(lastPollAtMs));
            }
            return lastPollAtMs + Math.max(1, delay);
        }

        /**
         * linger's way (unless {@code kafka_request_timeout_wake}): the earliest request
         * deadline, {@code Long.MAX_VALUE} for none. linger's clock counts nanoseconds: its
         * request times out 1 ns after {@code request.timeout.ms}, which this millisecond clock
         * reads as the deadline itself, after everything else due at that millisecond. The
         * driver plays that instant as a wake-up of its own ({@link #deadlinePhase}).
         */
        long nextDeadlineMs() {
            if (kafkaRequestTimeoutWake) {
                return Long.MAX_VALUE;
            }
            long deadline = Long.MAX_VALUE;
            for (ClientRequest request : requests()) {
                deadline = Math.min(deadline, request.createdTimeMs() + requestTimeoutMs);
            }
            return deadline;
        }

        /** Whether the thread is in the wake-up 1 ns after a request deadline (linger's way). */
        boolean deadlinePhase;

        /**
         * Whether a request sent at {@code createdMs} has timed out at {@code now}: Kafka's test
         * is strictly after {@code request.timeout.ms} on its millisecond clock; in the
         * deadline wake-up, at the deadline.
         */
        private boolean timedOut(long createdMs, long now) {
            return now - createdMs > requestTimeoutMs || (deadlinePhase && now - createdMs >= requestTimeoutMs);
        }

        /** {@code NetworkClient.handleTimedOutRequests}. */
        private void timeOutRequests(long now) {
            List<String> expired = new ArrayList<>();
            Map<String, Boolean> seen = new LinkedHashMap<>();
            for (ClientRequest request : requests()) {
                String node = request.destination();
                if (seen.putIfAbsent(node, Boolean.TRUE) == null && timedOut(request.createdTimeMs(), now)) {
                    expired.add(node);
                }
            }
            for (String node : expired) {
                failAll(node, now, true);
            }
        }

        /** Closes the connection to {@code node}: every request on it fails (timed out or not). */
        void failAll(String node, long now, boolean timedOut) {
            Iterator<ClientRequest> iterator = requests().iterator();
            while (iterator.hasNext()) {
                ClientRequest request = iterator.next();
                if (request.destination().equals(node)) {
                    short version = request.requestBuilder().latestAllowedVersion();
                    responses().add(new ClientResponse(request.makeHeader(version), request.callback(), node,
                        request.createdTimeMs(), now, true, timedOut, null, null, null));
                    iterator.remove();
                }
            }
            disconnect(node);
            metadata.requestUpdate(false);
        }

        ClientRequest oldest(String node, ApiKeys api) {
            for (ClientRequest request : requests()) {
                if (request.destination().equals(node) && request.apiKey() == api) {
                    return request;
                }
            }
            return null;
        }
    }

    static final class Run {
        final long script;
        private final MockTime time = new MockTime(0, EPOCH_MS, 0);
        private final int brokers;
        private final List<Integer> leaders = new ArrayList<>();
        private final List<Integer> leaderEpochs = new ArrayList<>();
        private final ProducerMetadata metadata;
        private final DriverClient client;
        private final RecordAccumulator accumulator;
        private final TransactionManager transactionManager;
        private final Sender sender;
        private final List<String> events = new ArrayList<>();
        private long nextRecord;
        private long unfinished;
        private long nextProducerId = FIRST_PRODUCER_ID;

        Run(Map<String, Object> header) {
            script = AccumulatorDriver.Fields.integer(header, "script");
            int batchSize = AccumulatorDriver.Fields.int32(header, "batch_size");
            long lingerMs = AccumulatorDriver.Fields.integer(header, "linger_ms");
            long bufferMemory = AccumulatorDriver.Fields.integer(header, "buffer_memory");
            int maxRequestSize = AccumulatorDriver.Fields.int32(header, "max_request_size");
            int deliveryTimeoutMs = AccumulatorDriver.Fields.int32(header, "delivery_timeout_ms");
            int requestTimeoutMs = AccumulatorDriver.Fields.int32(header, "request_timeout_ms");
            long retryBackoffMs = AccumulatorDriver.Fields.integer(header, "retry_backoff_ms");
            int retries = AccumulatorDriver.Fields.int32(header, "retries");
            int maxInFlight = AccumulatorDriver.Fields.int32(header, "max_in_flight");
            boolean idempotence = AccumulatorDriver.Fields.bool(header, "idempotence");
            boolean acksAll = AccumulatorDriver.Fields.bool(header, "acks_all");
            brokers = AccumulatorDriver.Fields.int32(header, "brokers");
            for (long leader : AccumulatorDriver.Fields.integers(header, "leaders")) {
                if (leader < 0 || leader >= brokers) {
                    throw new AccumulatorDriver.Fields.FieldException("expected every leader to be a broker below " + brokers);
                }
                leaders.add((int) leader);
                leaderEpochs.add(0);
            }
            if (leaders.isEmpty()) {
                throw new AccumulatorDriver.Fields.FieldException("expected at least one partition in \"leaders\"");
            }
            LogContext logContext = new LogContext();
            Metrics metrics = new Metrics(time);
            BufferPool pool = new BufferPool(bufferMemory, batchSize, metrics, time, "producer-metrics");
            ApiVersions apiVersions = new ApiVersions();
            transactionManager = idempotence
                ? new TransactionManager(logContext, null, 0, retryBackoffMs, apiVersions)
                : null;
            accumulator = new RecordAccumulator(logContext, batchSize, Compression.NONE, (int) lingerMs,
                retryBackoffMs, retryBackoffMs, deliveryTimeoutMs, new RecordAccumulator.PartitionerConfig(),
                metrics, "producer-metrics", time, apiVersions, transactionManager, pool);
            AccumulatorDriver.Reflect.setField(accumulator, "retryBackoff",
                new ExponentialBackoff(retryBackoffMs, 2, retryBackoffMs, 0.0));
            metadata = new ProducerMetadata(retryBackoffMs, retryBackoffMs, 3_600_000, 3_600_000, logContext,
                new ClusterResourceListeners(), time);
            metadata.add(TOPIC, time.milliseconds());
            Object kafkaWake = header.get("kafka_request_timeout_wake");
            client = new DriverClient(time, metadata, maxInFlight, requestTimeoutMs,
                Boolean.TRUE.equals(kafkaWake), this);
            client.current = clusterResponse();
            client.applyCurrentMetadata(time.milliseconds());
            // The sender's own request timeout is never reached: the driver times requests out
            // as NetworkClient does (strictly after request.timeout.ms), the test client would
            // at exactly request.timeout.ms.
            sender = new Sender(logContext, client, metadata, accumulator, maxInFlight == 1, maxRequestSize,
                acksAll ? (short) -1 : (short) 1, retries, new SenderMetricsRegistry(metrics), time,
                Integer.MAX_VALUE, retryBackoffMs, transactionManager, apiVersions);
            settle();
            events.clear();
        }

        String headerLine() {
            StringBuilder line = new StringBuilder("{\"script\":").append(script).append(",\"kafka_clients\":");
            Json.quote(line, org.apache.kafka.common.utils.AppInfoParser.getVersion());
            line.append(",\"java\":");
            Json.quote(line, System.getProperty("java.version"));
            return line.append('}').toString();
        }

        long unfinished() {
            return unfinished;
        }

        private MetadataResponse clusterResponse() {
            List<Node> nodes = new ArrayList<>();
            for (int b = 0; b < brokers; b++) {
                nodes.add(new Node(b, "broker-" + b, 9092));
            }
            List<MetadataResponse.PartitionMetadata> partitions = new ArrayList<>();
            for (int p = 0; p < leaders.size(); p++) {
                List<Integer> replicas = List.of(leaders.get(p));
                partitions.add(new MetadataResponse.PartitionMetadata(Errors.NONE, new TopicPartition(TOPIC, p),
                    Optional.of(leaders.get(p)), Optional.of(leaderEpochs.get(p)), replicas, replicas,
                    Collections.emptyList()));
            }
            MetadataResponse.TopicMetadata topic = new MetadataResponse.TopicMetadata(Errors.NONE, TOPIC,
                new Uuid(1, 1), false, partitions, MetadataResponse.AUTHORIZED_OPERATIONS_OMITTED);
            return RequestTestUtils.metadataResponse(nodes, "crosscheck", 0, List.of(topic));
        }

        /** Runs the sender while it has work at this instant, answering InitProducerId at once. */
        private void settle() {
            for (int pass = 0; pass < PASSES_PER_INSTANT; pass++) {
                sender.runOnce();
                boolean answered = answerInitProducerId();
                if (!answered && client.lastPollTimeoutMs > 0 && client.responses().isEmpty()) {
                    return;
                }
            }
        }

        private boolean answerInitProducerId() {
            ClientRequest request = null;
            for (ClientRequest r : client.requests()) {
                if (r.apiKey() == ApiKeys.INIT_PRODUCER_ID) {
                    request = r;
                    break;
                }
            }
            if (request == null) {
                return false;
            }
            client.respondToRequest(request, new InitProducerIdResponse(new InitProducerIdResponseData()
                .setProducerId(nextProducerId++).setProducerEpoch((short) 0)));
            return true;
        }

        /** The I/O thread's poll ends at {@code now}: read what arrived, then run the sender. */
        private void wake() {
            client.poll(0, time.milliseconds());
            settle();
        }

        /** Lets the thread sleep and wake as it would until {@code t}; the clock then reads {@code t}. */
        private void advance(long t) {
            if (t < time.milliseconds()) {
                throw new AccumulatorDriver.Fields.FieldException(
                    "operation at " + (t - EPOCH_MS) + " ms is before the current time "
                        + (time.milliseconds() - EPOCH_MS) + " ms");
            }
            for (int wakes = 0; wakes < 1_000_000; wakes++) {
                long now = time.milliseconds();
                long next = Math.max(client.nextWakeMs(), now);
                long deadline = Math.max(client.nextDeadlineMs(), now);
                if (next <= deadline) {
                    if (next > t) {
                        break;
                    }
                    time.setCurrentTimeMs(next);
                    wake();
                } else {
                    // The deadline wake-up comes after the operations at its millisecond.
                    if (deadline >= t) {
                        break;
                    }
                    time.setCurrentTimeMs(deadline);
                    client.deadlinePhase = true;
                    wake();
                    client.deadlinePhase = false;
                }
            }
            time.setCurrentTimeMs(t);
        }

        void onSend(ClientRequest request, long now) {
            if (request.apiKey() != ApiKeys.PRODUCE) {
                return;
            }
            ProduceRequestData data = (ProduceRequestData) AccumulatorDriver.Reflect.getField(
                request.requestBuilder(), "data");
            StringBuilder event = new StringBuilder("{\"t\":").append(now - EPOCH_MS).append(",\"sent\":")
                .append(request.destination()).append(",\"batches\":[");
            boolean first = true;
            for (ProduceRequestData.TopicProduceData topic : data.topicData()) {
                for (ProduceRequestData.PartitionProduceData partition : topic.partitionData()) {
                    MemoryRecords records = (MemoryRecords) partition.records();
                    for (RecordBatch batch : records.batches()) {
                        if (!first) {
                            event.append(',');
                        }
                        first = false;
                        event.append("{\"p\":").append(partition.index())
                            .append(",\"pid\":").append(batch.producerId())
                            .append(",\"epoch\":").append(batch.producerEpoch())
                            .append(",\"seq\":").append(batch.baseSequence())
                            .append(",\"records\":[");
                        boolean firstRecord = true;
                        for (Record record : batch) {
                            if (!firstRecord) {
                                event.append(',');
                            }
                            firstRecord = false;
                            event.append(record.value().getLong(0));
                        }
                        event.append("]}");
                    }
                }
            }
            events.add(event.append("]}").toString());
        }

        String apply(String op, Map<String, Object> object) {
            long t = AccumulatorDriver.Fields.integer(object, "t");
            advance(EPOCH_MS + t);
            StringBuilder line = new StringBuilder("{\"op\":");
            Json.quote(line, op);
            switch (op) {
                case "advance":
                    break;
                case "append":
                    line.append(",\"result\":");
                    Json.quote(line, append(object));
                    break;
                case "respond":
                    line.append(",\"answered\":").append(respond(object));
                    break;
                case "disconnect": {
                    int node = node(object);
                    client.failAll(Integer.toString(node), time.milliseconds(), false);
                    wake();
                    break;
                }
                case "leader": {
                    int partition = partition(object);
                    int node = node(object);
                    leaders.set(partition, node);
                    leaderEpochs.set(partition, leaderEpochs.get(partition) + 1);
                    client.current = clusterResponse();
                    break;
                }
                default:
                    throw new AccumulatorDriver.Fields.FieldException("unknown operation \"" + op
                        + "\"; allowed: append, advance, respond, disconnect, leader, end");
            }
            line.append(",\"events\":[");
            for (int i = 0; i < events.size(); i++) {
                if (i > 0) {
                    line.append(',');
                }
                line.append(events.get(i));
            }
            events.clear();
            return line.append("]}").toString();
        }

        private int node(Map<String, Object> object) {
            int node = AccumulatorDriver.Fields.int32(object, "node");
            if (node < 0 || node >= brokers) {
                throw new AccumulatorDriver.Fields.FieldException("expected \"node\" below " + brokers);
            }
            return node;
        }

        private int partition(Map<String, Object> object) {
            int partition = AccumulatorDriver.Fields.int32(object, "partition");
            if (partition < 0 || partition >= leaders.size()) {
                throw new AccumulatorDriver.Fields.FieldException("expected \"partition\" below " + leaders.size());
            }
            return partition;
        }

        private String append(Map<String, Object> object) {
            int partition = partition(object);
            int valueLength = AccumulatorDriver.Fields.int32(object, "value");
            if (valueLength < 8) {
                throw new AccumulatorDriver.Fields.FieldException("expected \"value\" of at least 8 bytes");
            }
            long number = nextRecord++;
            byte[] value = new byte[valueLength];
            ByteBuffer.wrap(value).putLong(0, number);
            RecordAccumulator.AppendCallbacks callbacks = new RecordAccumulator.AppendCallbacks() {
                @Override
                public void setPartition(int effectivePartition) {
                }

                @Override
                public void onCompletion(RecordMetadata metadata, Exception exception) {
                    unfinished--;
                    StringBuilder event = new StringBuilder("{\"t\":").append(time.milliseconds() - EPOCH_MS)
                        .append(",\"done\":").append(number);
                    if (exception == null) {
                        event.append(",\"offset\":").append(metadata.offset());
                    } else {
                        event.append(",\"error\":");
                        Json.quote(event, errorName(exception));
                    }
                    events.add(event.append('}').toString());
                }
            };
            long now = time.milliseconds();
            RecordAccumulator.RecordAppendResult result;
            try {
                result = accumulator.append(TOPIC, partition, now, null, value, new Header[0], callbacks, 0, now,
                    metadata.fetch());
            } catch (org.apache.kafka.clients.producer.BufferExhaustedException e) {
                return "BufferExhaustedException";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            unfinished++;
            // KafkaProducer.doSend wakes the sender for a new or a full batch.
            if (result.batchIsFull || result.newBatchCreated) {
                settle();
            }
            return "appended";
        }

        private boolean respond(Map<String, Object> object) {
            int node = node(object);
            Object list = object.get("partitions");
            if (!(list instanceof List)) {
                throw new AccumulatorDriver.Fields.FieldException("expected an array \"partitions\"");
            }
            ClientRequest request = client.oldest(Integer.toString(node), ApiKeys.PRODUCE);
            if (request == null) {
                return false;
            }
            Map<TopicPartition, ProduceResponse.PartitionResponse> answers = new HashMap<>();
            for (Object item : (List<?>) list) {
                if (!(item instanceof Map)) {
                    throw new AccumulatorDriver.Fields.FieldException("expected objects in \"partitions\"");
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> entry = (Map<String, Object>) item;
                int partition = partition(entry);
                String errorName = AccumulatorDriver.Fields.string(entry, "error");
                Errors error;
                try {
                    error = Errors.valueOf(errorName);
                } catch (IllegalArgumentException e) {
                    throw new AccumulatorDriver.Fields.FieldException("unknown error \"" + errorName + "\"");
                }
                long baseOffset = AccumulatorDriver.Fields.integer(entry, "base_offset");
                answers.put(new TopicPartition(TOPIC, partition), error == Errors.NONE
                    ? new ProduceResponse.PartitionResponse(Errors.NONE, baseOffset, RecordBatch.NO_TIMESTAMP, -1)
                    : new ProduceResponse.PartitionResponse(error));
            }
            // Exactly the request's partitions are answered (a broker answers what it was
            // sent): the script's answer where it gives one, success at offset -1 otherwise.
            Map<TopicPartition, ProduceResponse.PartitionResponse> responses = new HashMap<>();
            ProduceRequestData data = (ProduceRequestData) AccumulatorDriver.Reflect.getField(
                request.requestBuilder(), "data");
            for (ProduceRequestData.TopicProduceData topic : data.topicData()) {
                for (ProduceRequestData.PartitionProduceData partition : topic.partitionData()) {
                    TopicPartition tp = new TopicPartition(topic.name(), partition.index());
                    responses.put(tp, answers.getOrDefault(tp,
                        new ProduceResponse.PartitionResponse(Errors.NONE, -1, RecordBatch.NO_TIMESTAMP, -1)));
                }
            }
            client.respondToRequest(request, new ProduceResponse(responses));
            wake();
            return true;
        }

        /** linger's name for the error a record's future failed with. */
        private static String errorName(Exception exception) {
            if (exception instanceof org.apache.kafka.common.errors.RecordTooLargeException) {
                return "RecordTooLargeException";
            }
            if (exception instanceof TimeoutException && String.valueOf(exception.getMessage()).startsWith("Expiring")) {
                return "TimeoutException";
            }
            Errors error = Errors.forException(exception);
            return error == Errors.UNKNOWN_SERVER_ERROR ? exception.getClass().getSimpleName() : error.name();
        }
    }
}
