//! A broker's CPU as Kafka spends it on requests: one shared request queue of at most
//! `queued.max.requests` requests, drained in order by `num.io.threads` request handler
//! threads, each of which works on one request at a time for that request's cost.
//!
//! ```text
//!   network (a processor reads a request; its connection is muted)
//!        │ admit(now, cost)
//!        ▼
//!   request queue (FIFO, ≤ queued.max.requests) ─► the handler thread free first
//!        │ full? the processor blocks: the request (and every later one) is queued
//!        │       only once a handler takes the oldest waiting request
//!        ▼
//!   handler t: start = max(queued at, t free at); done = start + cost ─► RequestProcessed(t)
//!   (the request's effects happen at `done`; t's work list keeps them in order)
//!
//!   follower side: the fetcher thread of each (follower, leader) pair appends what it
//!   fetched and sends its next fetch once the append cost has passed (not on this pool)
//! ```
//!
//! Units: virtual ns (`Instant`, `Duration`); costs come from the cluster config
//! (`append_cost_per_batch_ns`, `append_cost_per_byte_ns`, `fetch_cost_per_request_ns`).
//!
//! Serving a FIFO queue with k identical servers is list scheduling: each request, in arrival
//! order, goes to the server free first and starts when both it and the server are ready. So
//! the pool fixes a request's thread and finish time when the request is queued, and one event
//! per request (at its finish time) does the work. Start times come out in arrival order,
//! which keeps the queue's length at any instant a count over a deque of start times.
//!
//! Fidelity:
//! - `RequestChannel` holds the requests in one `ArrayBlockingQueue` of `queued.max.requests`
//!   (`RequestChannel.sendRequest` is `requestQueue.put`, which blocks a full queue's
//!   processor); `KafkaRequestHandler.run` takes them with `receiveRequest` and runs
//!   `KafkaApis.handle` on the thread that took them; `KafkaRequestHandlerPool` starts
//!   `num.io.threads` of them (`ServerConfigs.NUM_IO_THREADS_DEFAULT` = 8,
//!   `SocketServerConfigs.QUEUED_MAX_REQUESTS_DEFAULT` = 500, both `atLeast(1)`).
//! - `SocketServer`'s `Processor.processCompletedReceives` mutes a connection as it hands its
//!   request to the queue and `processCompletedSends`/`tryUnmuteChannel` unmute it once the
//!   response is written (for acks=0, `NoOpResponse`, once the handler is done). A handler
//!   that parks an acks=all produce in the purgatory returns at once: the thread is free, the
//!   connection stays muted until the purgatory answers (see `broker`). So one connection
//!   never has two requests in the pool, and a single producer connection gains nothing from
//!   more threads.
//! - The leader's handling of a follower's fetch (`KafkaApis.handleFetchRequest` →
//!   `ReplicaManager.fetchMessages`) runs on a handler thread for `fetch_cost_per_request_ns`.
//! - The follower appends on its `ReplicaFetcherThread`
//!   (`AbstractFetcherThread.processFetchRequest` → `ReplicaFetcherThread.processPartitionData`
//!   → `Partition.appendRecordsToFollowerOrFutureReplica`), not on the handler pool: the
//!   append delays that fetcher's next fetch and nothing else.
//! - Simplified: network threads (`num.network.threads`, 3) take no time and are not
//!   modelled one by one; a full queue blocks every connection's next request rather than
//!   only those of the processor whose `put` blocked (all of them block at their next request
//!   anyway, but a blocked processor also stops writing responses, which is not modelled).
//!   A follower fetches from each leader on one fetcher thread, as with Kafka's default
//!   `num.replica.fetchers` = 1; more fetcher threads per source broker are not modelled.
//!   Delayed operations completed by another thread (a parked fetch or produce answered by
//!   an append) cost nothing extra.

use std::collections::VecDeque;

use sim::{Duration, Instant};

use super::replica::FetchRequest;
use crate::protocol::{Message, Node};

/// What a handler thread works on.
#[derive(Clone, Debug)]
pub(crate) enum Work {
    /// A client request that came on client connection `connection`.
    Request {
        from: Node,
        msg: Message,
        connection: u32,
    },
    /// A follower's fetch request.
    Fetch(Box<FetchRequest>),
}

/// One broker's CPU over a run, for tests and reports: what its handler pool did and how long
/// requests waited for it (Kafka's `RequestQueueTimeMs` and `RequestHandlerAvgIdlePercent`
/// measure the same), and what its fetcher threads spent appending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandlerStats {
    /// Requests a handler thread finished (client requests and follower fetches).
    pub requests_handled: u64,
    /// Of those, follower fetch requests.
    pub fetches_handled: u64,
    /// Handler thread time those requests took, summed over threads, ns.
    pub handler_busy_ns: u64,
    /// Time from a request being read to a thread starting on it (in the queue, or for room
    /// in it), summed, ns.
    pub queue_wait_ns_total: u64,
    /// The longest such wait, ns.
    pub queue_wait_ns_max: u64,
    /// Requests that found the request queue full (`queued.max.requests`).
    pub queue_full_count: u64,
    /// Time those requests waited for room in the queue, summed, ns.
    pub queue_full_wait_ns_total: u64,
    /// Fetcher thread time spent appending fetched batches (the follower side), ns.
    pub fetcher_busy_ns: u64,
}

/// Where the pool put a request: its thread and when that thread finishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Admitted {
    pub(crate) thread: u32,
    pub(crate) done: Instant,
}

/// The request queue and handler threads of one broker.
#[derive(Clone, Debug)]
pub(crate) struct HandlerPool {
    /// When each handler thread finishes the work already given to it.
    free_at: Vec<Instant>,
    /// Each thread's work, in the order it does it, with each item's cost.
    work: Vec<VecDeque<(Work, Duration)>>,
    /// The start times of requests still waiting in the queue (those starting after the
    /// latest queueing instant), in order.
    waiting_starts: VecDeque<Instant>,
    /// `queued.max.requests`.
    queued_max: usize,
    /// When the last request was queued (a blocked processor queues in order).
    last_queued: Instant,
    pub(crate) stats: HandlerStats,
}

impl HandlerPool {
    /// `threads` handler threads (at least 1) over a queue of `queued_max` (at least 1).
    pub(crate) fn new(threads: u32, queued_max: u32) -> HandlerPool {
        assert!(threads >= 1 && queued_max >= 1, "validated by the config");
        HandlerPool {
            free_at: vec![Instant::ZERO; threads as usize],
            work: (0..threads).map(|_| VecDeque::new()).collect(),
            waiting_starts: VecDeque::new(),
            queued_max: queued_max as usize,
            last_queued: Instant::ZERO,
            stats: HandlerStats::default(),
        }
    }

    /// Whether a thread is idle at `now` with nothing queued ahead (a zero-cost request would
    /// be done at once).
    pub(crate) fn idle_at(&self, now: Instant) -> bool {
        self.last_queued <= now && self.free_at.iter().any(|&f| f <= now)
    }

    /// Queues `work`, read by a processor at `now`, costing `cost` of one thread's time.
    pub(crate) fn admit(&mut self, now: Instant, cost: Duration, work: Work) -> Admitted {
        let mut queued = now.max(self.last_queued);
        self.drop_started(queued);
        if self.waiting_starts.len() >= self.queued_max {
            // The queue is full: `put` blocks until a handler takes the oldest request.
            queued = self.waiting_starts[self.waiting_starts.len() - self.queued_max];
            self.drop_started(queued);
        }
        if queued > now {
            // Blocked: by a full queue, or behind an earlier request of a blocked processor.
            self.stats.queue_full_count += 1;
            self.stats.queue_full_wait_ns_total += (queued - now).as_nanos();
        }
        self.last_queued = queued;
        let thread = self.first_free_thread();
        let start = queued.max(self.free_at[thread]);
        let done = start + cost;
        self.free_at[thread] = done;
        if start > queued {
            self.waiting_starts.push_back(start);
        }
        let wait_ns = (start - now).as_nanos();
        self.stats.queue_wait_ns_total += wait_ns;
        self.stats.queue_wait_ns_max = self.stats.queue_wait_ns_max.max(wait_ns);
        self.work[thread].push_back((work, cost));
        Admitted {
            thread: thread as u32,
            done,
        }
    }

    /// Thread `thread` finished its oldest work item: hands it over for its effects.
    pub(crate) fn take_done(&mut self, thread: u32) -> Option<Work> {
        let (work, cost) = self.work.get_mut(thread as usize)?.pop_front()?;
        self.count_handled(&work, cost);
        Some(work)
    }

    /// A zero-cost fetch handled at once on an idle thread (see [`HandlerPool::idle_at`]).
    pub(crate) fn note_fetch_handled_at_once(&mut self) {
        self.stats.requests_handled += 1;
        self.stats.fetches_handled += 1;
    }

    /// The process stopped: queued and running work is gone; threads are free from `now`.
    pub(crate) fn clear(&mut self, now: Instant) {
        self.free_at.iter_mut().for_each(|f| *f = now);
        self.work.iter_mut().for_each(VecDeque::clear);
        self.waiting_starts.clear();
        self.last_queued = now;
    }

    fn count_handled(&mut self, work: &Work, cost: Duration) {
        self.stats.requests_handled += 1;
        self.stats.handler_busy_ns += cost.as_nanos();
        if matches!(work, Work::Fetch(_)) {
            self.stats.fetches_handled += 1;
        }
    }

    /// Forgets the start times at or before `at`: those requests have left the queue.
    fn drop_started(&mut self, at: Instant) {
        while self.waiting_starts.front().is_some_and(|&s| s <= at) {
            self.waiting_starts.pop_front();
        }
    }

    /// The thread free first (the lowest index on ties, so runs are deterministic).
    fn first_free_thread(&self) -> usize {
        let mut best = 0;
        for (i, &f) in self.free_at.iter().enumerate().skip(1) {
            if f < self.free_at[best] {
                best = i;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Work {
        Work::Request {
            from: Node::Client,
            msg: Message::MetadataRequest { correlation_id: 0 },
            connection: 0,
        }
    }

    fn at_ms(ms: u64) -> Instant {
        Instant::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn requests_go_to_the_thread_free_first_and_wait_in_order_when_all_are_busy() {
        let mut pool = HandlerPool::new(2, 500);
        let cost = Duration::from_millis(10);
        let done: Vec<Admitted> = (0..4)
            .map(|_| pool.admit(at_ms(0), cost, request()))
            .collect();
        let threads: Vec<u32> = done.iter().map(|a| a.thread).collect();
        let finish: Vec<Instant> = done.iter().map(|a| a.done).collect();
        assert_eq!(threads, [0, 1, 0, 1]);
        assert_eq!(finish, [at_ms(10), at_ms(10), at_ms(20), at_ms(20)]);
        assert_eq!(pool.stats.queue_wait_ns_total, 2 * 10_000_000);
        assert!(!pool.idle_at(at_ms(15)) && pool.idle_at(at_ms(20)));
    }

    #[test]
    fn a_full_queue_holds_the_next_request_until_a_handler_takes_the_oldest() {
        let mut pool = HandlerPool::new(1, 2);
        let cost = Duration::from_millis(10);
        // One running, two waiting (starting at 10 and 20): the queue is full.
        for _ in 0..3 {
            pool.admit(at_ms(0), cost, request());
        }
        let fourth = pool.admit(at_ms(1), cost, request());
        assert_eq!(fourth.done, at_ms(40));
        assert_eq!(pool.stats.queue_full_count, 1);
        assert_eq!(
            pool.stats.queue_full_wait_ns_total, 9_000_000,
            "queued at 10 ms"
        );
        // The blocked processor queues in order: a request read at 5 ms is queued after 10 ms.
        pool.admit(at_ms(5), cost, request());
        assert_eq!(pool.stats.queue_full_count, 2);
        assert_eq!(pool.stats.queue_full_wait_ns_total, 9_000_000 + 15_000_000);
    }

    #[test]
    fn finished_work_comes_back_per_thread_in_order_and_a_crash_forgets_it() {
        let mut pool = HandlerPool::new(2, 500);
        let cost = Duration::from_millis(1);
        pool.admit(at_ms(0), cost, request());
        pool.admit(at_ms(0), cost, request());
        assert!(pool.take_done(1).is_some());
        assert!(pool.take_done(1).is_none());
        assert_eq!(pool.stats.requests_handled, 1);
        assert_eq!(pool.stats.handler_busy_ns, 1_000_000);
        pool.clear(at_ms(3));
        assert!(pool.take_done(0).is_none(), "gone with the process");
        assert_eq!(pool.admit(at_ms(3), cost, request()).done, at_ms(4));
    }
}
