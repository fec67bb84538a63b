//! `BufferPool`: the producer's `buffer.memory`, with pooled `batch.size` buffers and a FIFO
//! of appends blocked in (virtual) time.
//!
//! Fidelity: `BufferPool.allocate/deallocate/freeUp` (4.x). A request for exactly
//! `poolable_size` bytes takes a recycled buffer when one is free; otherwise free-list buffers
//! are released into non-pooled memory until the request fits. When it does not fit, the
//! request joins the back of the waiter FIFO; freed memory goes to the head waiter only, which
//! collects it in pieces (or takes a whole pooled buffer if it has nothing yet) until it has
//! all it asked for, and only then does the next waiter get anything. A waiter whose
//! `max.block.ms` deadline passes gives its partial memory back and fails with
//! `BufferExhaustedException`.
//!
//! Simplification: Kafka's waiters are threads woken by a condition variable, and the woken
//! thread takes memory when it runs. Here the head waiter takes memory at the moment it is
//! freed, and a fully served waiter becomes *ready*; the caller learns of it through
//! [`BufferPool::take_woken`] and resumes it. With one appending thread the outcomes are the
//! same.
//!
//! Waiter state machine:
//!
//! ```text
//!   allocate ──fits──► Allocated
//!      │ does not fit
//!      ▼
//!   Waiting(accumulated) ──memory freed, head, complete──► Ready (reported by take_woken)
//!      │  deadline passed (expire_waiter)        │ close()           │ claim()
//!      ▼                                         ▼                   ▼
//!   Exhausted (partial memory returned)        Closed             Allocated
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// A blocked allocation's handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WaitTicket(pub u64);

/// The result of [`BufferPool::allocate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allocation {
    /// The bytes are reserved for the caller.
    Allocated,
    /// Not enough memory: the caller waits in the FIFO until `deadline_ns`.
    MustWait {
        /// The waiter's handle.
        ticket: WaitTicket,
        /// When the wait fails with `BufferExhaustedException` (`now + max.block.ms`).
        deadline_ns: u64,
    },
}

/// Where a waiter stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaiterState {
    /// Still in the FIFO, holding `accumulated_bytes` of its request.
    Waiting {
        /// Bytes collected so far.
        accumulated_bytes: u64,
        /// The wait deadline.
        deadline_ns: u64,
    },
    /// Fully served: the memory is reserved and waits to be claimed.
    Ready,
    /// The pool was closed while waiting (`KafkaException`).
    Closed,
    /// Unknown ticket (already claimed, expired or never issued).
    Unknown,
}

/// Allocation errors that are the caller's mistake, not modelled failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// `size > buffer.memory` (`IllegalArgumentException`); the size check in `send()` should
    /// have rejected the record first.
    LargerThanTotalMemory {
        /// The requested size.
        size_bytes: u64,
        /// `buffer.memory`.
        total_memory_bytes: u64,
    },
    /// The pool is closed (`KafkaException("Producer closed while allocating memory")`).
    Closed,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::LargerThanTotalMemory {
                size_bytes,
                total_memory_bytes,
            } => write!(
                f,
                "attempt to allocate {size_bytes} bytes, but buffer.memory is only \
                 {total_memory_bytes} bytes"
            ),
            PoolError::Closed => f.write_str("producer closed while allocating memory"),
        }
    }
}

impl std::error::Error for PoolError {}

#[derive(Clone, Copy, Debug)]
struct Waiter {
    ticket: WaitTicket,
    size_bytes: u64,
    accumulated_bytes: u64,
    started_at_ns: u64,
    deadline_ns: u64,
}

/// Counters of the pool for the producer metrics (raw totals; the caller makes rates).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolMetrics {
    /// `buffer-exhausted-total`: waits that ran out of `max.block.ms`.
    pub buffer_exhausted_count: u64,
    /// `bufferpool-wait-time-ns-total`: time spent waiting, summed when a wait ends.
    pub wait_time_ns_total: u64,
    /// Waits that started.
    pub wait_count: u64,
}

/// The producer's buffer memory.
#[derive(Clone, Debug)]
pub struct BufferPool {
    total_memory_bytes: u64,
    poolable_size_bytes: u64,
    free_buffer_count: u64,
    non_pooled_available_bytes: u64,
    waiters: VecDeque<Waiter>,
    ready: BTreeMap<WaitTicket, u64>,
    woken: Vec<WaitTicket>,
    next_ticket: u64,
    closed: bool,
    metrics: PoolMetrics,
}

impl BufferPool {
    /// A pool of `total_memory_bytes` (`buffer.memory`) recycling buffers of
    /// `poolable_size_bytes` (`batch.size`).
    pub fn new(total_memory_bytes: u64, poolable_size_bytes: u64) -> Self {
        BufferPool {
            total_memory_bytes,
            poolable_size_bytes,
            free_buffer_count: 0,
            non_pooled_available_bytes: total_memory_bytes,
            waiters: VecDeque::new(),
            ready: BTreeMap::new(),
            woken: Vec::new(),
            next_ticket: 0,
            closed: false,
            metrics: PoolMetrics::default(),
        }
    }

    /// Reserves `size_bytes`, or queues the request until `now_ns + max_block_ns`.
    pub fn allocate(
        &mut self,
        size_bytes: u64,
        now_ns: u64,
        max_block_ns: u64,
    ) -> Result<Allocation, PoolError> {
        if size_bytes > self.total_memory_bytes {
            return Err(PoolError::LargerThanTotalMemory {
                size_bytes,
                total_memory_bytes: self.total_memory_bytes,
            });
        }
        if self.closed {
            return Err(PoolError::Closed);
        }
        if size_bytes == self.poolable_size_bytes && self.free_buffer_count > 0 {
            self.free_buffer_count -= 1;
            return Ok(Allocation::Allocated);
        }
        if self.non_pooled_available_bytes + self.free_list_bytes() >= size_bytes {
            self.free_up(size_bytes);
            self.non_pooled_available_bytes -= size_bytes;
            self.serve_waiters(now_ns);
            return Ok(Allocation::Allocated);
        }
        let ticket = WaitTicket(self.next_ticket);
        self.next_ticket += 1;
        let deadline_ns = now_ns.saturating_add(max_block_ns);
        self.waiters.push_back(Waiter {
            ticket,
            size_bytes,
            accumulated_bytes: 0,
            started_at_ns: now_ns,
            deadline_ns,
        });
        self.metrics.wait_count += 1;
        Ok(Allocation::MustWait {
            ticket,
            deadline_ns,
        })
    }

    /// Returns a buffer of `size_bytes`: to the free list when it is exactly `batch.size`,
    /// otherwise to non-pooled memory. The head waiter is then served.
    pub fn deallocate(&mut self, size_bytes: u64, now_ns: u64) {
        if size_bytes == self.poolable_size_bytes {
            self.free_buffer_count += 1;
        } else {
            self.non_pooled_available_bytes += size_bytes;
        }
        self.serve_waiters(now_ns);
    }

    fn free_list_bytes(&self) -> u64 {
        self.free_buffer_count * self.poolable_size_bytes
    }

    /// `freeUp`: release free-list buffers into non-pooled memory until `size` fits.
    fn free_up(&mut self, size_bytes: u64) {
        while self.free_buffer_count > 0 && self.non_pooled_available_bytes < size_bytes {
            self.free_buffer_count -= 1;
            self.non_pooled_available_bytes += self.poolable_size_bytes;
        }
    }

    /// Gives memory to the head waiter until it is served, then to the next, in FIFO order.
    fn serve_waiters(&mut self, now_ns: u64) {
        while let Some(head) = self.waiters.front().copied() {
            let mut accumulated = head.accumulated_bytes;
            if accumulated == 0
                && head.size_bytes == self.poolable_size_bytes
                && self.free_buffer_count > 0
            {
                self.free_buffer_count -= 1;
                accumulated = head.size_bytes;
            } else {
                self.free_up(head.size_bytes - accumulated);
                let got = (head.size_bytes - accumulated).min(self.non_pooled_available_bytes);
                self.non_pooled_available_bytes -= got;
                accumulated += got;
            }
            if accumulated < head.size_bytes {
                self.waiters
                    .front_mut()
                    .expect("head exists: peeked above")
                    .accumulated_bytes = accumulated;
                return;
            }
            self.waiters.pop_front();
            self.metrics.wait_time_ns_total = self
                .metrics
                .wait_time_ns_total
                .saturating_add(now_ns.saturating_sub(head.started_at_ns));
            self.ready.insert(head.ticket, head.size_bytes);
            self.woken.push(head.ticket);
        }
    }

    /// Tickets that became ready (or were closed) since the last call, in wake order.
    pub fn take_woken(&mut self) -> Vec<WaitTicket> {
        std::mem::take(&mut self.woken)
    }

    /// Where `ticket` stands.
    pub fn waiter_state(&self, ticket: WaitTicket) -> WaiterState {
        if self.ready.contains_key(&ticket) {
            return WaiterState::Ready;
        }
        if let Some(waiter) = self.waiters.iter().find(|w| w.ticket == ticket) {
            return WaiterState::Waiting {
                accumulated_bytes: waiter.accumulated_bytes,
                deadline_ns: waiter.deadline_ns,
            };
        }
        if self.closed {
            return WaiterState::Closed;
        }
        WaiterState::Unknown
    }

    /// Hands a ready waiter's memory to the caller; returns the reserved size.
    pub fn claim(&mut self, ticket: WaitTicket) -> Option<u64> {
        self.ready.remove(&ticket)
    }

    /// Fails a waiter whose deadline has passed: its partial memory goes back and the next
    /// waiter is served. Returns false (and changes nothing) if the ticket is not waiting or
    /// its deadline is still ahead.
    pub fn expire_waiter(&mut self, ticket: WaitTicket, now_ns: u64) -> bool {
        let Some(index) = self.waiters.iter().position(|w| w.ticket == ticket) else {
            return false;
        };
        if now_ns < self.waiters[index].deadline_ns {
            return false;
        }
        let waiter = self.waiters.remove(index).expect("index found above");
        self.non_pooled_available_bytes += waiter.accumulated_bytes;
        self.metrics.buffer_exhausted_count += 1;
        self.metrics.wait_time_ns_total = self
            .metrics
            .wait_time_ns_total
            .saturating_add(now_ns.saturating_sub(waiter.started_at_ns));
        self.serve_waiters(now_ns);
        true
    }

    /// Closes the pool: every waiter is woken to fail (`KafkaException`), its partial memory
    /// returned; later allocations fail.
    pub fn close(&mut self) {
        self.closed = true;
        while let Some(waiter) = self.waiters.pop_front() {
            self.non_pooled_available_bytes += waiter.accumulated_bytes;
            self.woken.push(waiter.ticket);
        }
    }

    /// Whether anyone is waiting for memory (`queued() > 0`; makes every partition ready).
    pub fn has_waiters(&self) -> bool {
        !self.waiters.is_empty()
    }

    /// Number of waiters (`waiting-threads`).
    pub fn waiter_count(&self) -> usize {
        self.waiters.len()
    }

    /// `buffer-available-bytes`: non-pooled plus free-list memory.
    pub fn available_memory_bytes(&self) -> u64 {
        self.non_pooled_available_bytes + self.free_list_bytes()
    }

    /// Memory held by waiters (partial) and ready-but-unclaimed tickets.
    pub fn reserved_by_waiters_bytes(&self) -> u64 {
        self.waiters
            .iter()
            .map(|w| w.accumulated_bytes)
            .sum::<u64>()
            + self.ready.values().sum::<u64>()
    }

    /// `buffer-total-bytes`.
    pub fn total_memory_bytes(&self) -> u64 {
        self.total_memory_bytes
    }

    /// The pool's counters.
    pub fn metrics(&self) -> PoolMetrics {
        self.metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_pool_recycles_batch_size_buffers_on_the_free_list() {
        let mut pool = BufferPool::new(1000, 100);
        assert_eq!(pool.allocate(100, 0, 10), Ok(Allocation::Allocated));
        pool.deallocate(100, 0);
        assert_eq!(pool.free_buffer_count, 1);
        assert_eq!(pool.available_memory_bytes(), 1000);
        assert_eq!(pool.allocate(100, 0, 10), Ok(Allocation::Allocated));
        assert_eq!(pool.free_buffer_count, 0);
        assert_eq!(pool.non_pooled_available_bytes, 900);
    }

    #[test]
    fn buffer_pool_frees_up_pooled_buffers_for_other_sizes() {
        let mut pool = BufferPool::new(300, 100);
        for _ in 0..3 {
            assert_eq!(pool.allocate(100, 0, 0), Ok(Allocation::Allocated));
        }
        for _ in 0..3 {
            pool.deallocate(100, 0);
        }
        assert_eq!(pool.allocate(250, 0, 0), Ok(Allocation::Allocated));
        assert_eq!(pool.available_memory_bytes(), 50);
    }

    #[test]
    fn buffer_pool_waiters_are_served_in_fifo_order_and_collect_memory_in_pieces() {
        let mut pool = BufferPool::new(200, 100);
        assert_eq!(pool.allocate(150, 0, 0), Ok(Allocation::Allocated));
        let Ok(Allocation::MustWait { ticket: first, .. }) = pool.allocate(120, 1, 1000) else {
            panic!("120 bytes cannot fit in 50")
        };
        // Like BufferPool.allocate, a request that fits the free memory does not queue behind
        // waiters: the waiter only collects memory when memory is freed.
        assert_eq!(pool.allocate(30, 2, 1000), Ok(Allocation::Allocated));
        let Ok(Allocation::MustWait { ticket: second, .. }) = pool.allocate(40, 3, 1000) else {
            panic!("40 bytes cannot fit in 20")
        };
        pool.deallocate(60, 5);
        // The head took 20 + 60 = 80 < 120: still waiting; the second gets nothing.
        assert_eq!(
            pool.waiter_state(first),
            WaiterState::Waiting {
                accumulated_bytes: 80,
                deadline_ns: 1001
            }
        );
        assert!(pool.take_woken().is_empty());
        pool.deallocate(90, 7);
        assert_eq!(pool.take_woken(), vec![first, second]);
        assert_eq!(pool.claim(first), Some(120));
        assert_eq!(pool.claim(second), Some(40));
        assert_eq!(pool.available_memory_bytes(), 200 - 30 - 120 - 40);
        assert_eq!(pool.metrics().wait_time_ns_total, 6 + 4);
    }

    #[test]
    fn buffer_pool_waiter_times_out_with_buffer_exhausted_and_returns_partial_memory() {
        let mut pool = BufferPool::new(100, 100);
        assert_eq!(pool.allocate(80, 0, 0), Ok(Allocation::Allocated));
        let Ok(Allocation::MustWait { ticket, .. }) = pool.allocate(50, 0, 10) else {
            panic!("must wait")
        };
        pool.deallocate(10, 1);
        assert_eq!(pool.available_memory_bytes(), 0, "the waiter holds 30");
        assert!(!pool.expire_waiter(ticket, 9), "deadline not reached");
        assert!(pool.expire_waiter(ticket, 10));
        assert_eq!(pool.available_memory_bytes(), 30);
        assert_eq!(pool.metrics().buffer_exhausted_count, 1);
        assert_eq!(pool.waiter_state(ticket), WaiterState::Unknown);
    }

    #[test]
    fn buffer_pool_rejects_requests_above_total_memory_and_after_close() {
        let mut pool = BufferPool::new(100, 50);
        assert!(matches!(
            pool.allocate(101, 0, 0),
            Err(PoolError::LargerThanTotalMemory { .. })
        ));
        assert_eq!(pool.allocate(100, 0, 0), Ok(Allocation::Allocated));
        let Ok(Allocation::MustWait { ticket, .. }) = pool.allocate(10, 0, 10) else {
            panic!("must wait")
        };
        pool.close();
        assert_eq!(pool.take_woken(), vec![ticket]);
        assert_eq!(pool.waiter_state(ticket), WaiterState::Closed);
        assert_eq!(pool.allocate(1, 0, 0), Err(PoolError::Closed));
    }
}
