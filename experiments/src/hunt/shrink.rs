//! Shrinking a counterexample: passes that each try smaller candidates in a fixed order (run
//! together on every core, the first that still breaks the property wins), repeated until no
//! pass makes the candidate smaller.
//!
//! The passes, smallest change of the story first: drop a fault; fewer records (with the fault
//! times kept, or scaled with the send phase); a fault earlier, shorter or with a smaller
//! count; a fault aimed at a lower broker id; fewer partitions; fewer brokers (never below the
//! replication factor, nor below a broker a fault names). Deterministic: the same candidate
//! shrinks to the same result whatever the thread count.

use super::candidate::Candidate;
use super::{Eval, Hunter};

/// Rounds of all passes at most (each round that changes nothing ends the shrink).
const ROUNDS_MAX: usize = 20;

/// What the passes know of the experiment.
struct World {
    replication_factor: u32,
    send_gap_ms: Option<f64>,
}

/// Shrinks `found`; returns the result and the runs it took.
pub(super) fn shrink(
    hunter: &Hunter,
    found: Candidate,
    replication_factor: u32,
    send_gap_ms: Option<f64>,
) -> (Candidate, u64) {
    let world = World {
        replication_factor,
        send_gap_ms,
    };
    let mut current = found;
    let mut runs = 0u64;
    for _ in 0..ROUNDS_MAX {
        let before = current.clone();
        // Each pass: alternatives in order; take the first that still breaks the property, and
        // run the pass again from it until none does.
        type Pass = fn(&Candidate, &World) -> Vec<Candidate>;
        let passes: [Pass; 7] = [
            drop_one_fault,
            fewer_records,
            earlier_faults,
            shorter_faults,
            lower_targets,
            fewer_partitions,
            fewer_brokers,
        ];
        for pass in passes {
            loop {
                let alternatives: Vec<Candidate> = pass(&current, &world)
                    .into_iter()
                    .filter(|c| *c != current)
                    .collect();
                if alternatives.is_empty() {
                    break;
                }
                runs += alternatives.len() as u64;
                let evals = hunter.evaluate_all(&alternatives);
                let first = alternatives
                    .into_iter()
                    .zip(evals)
                    .find(|(_, e)| matches!(e, Eval::Ran(summary) if !summary.broken.is_empty()));
                match first {
                    Some((smaller, _)) => current = smaller,
                    None => break,
                }
            }
        }
        if current == before {
            break;
        }
    }
    (current, runs)
}

fn drop_one_fault(c: &Candidate, _: &World) -> Vec<Candidate> {
    (0..c.faults.len())
        .map(|i| {
            let mut smaller = c.clone();
            smaller.faults.remove(i);
            smaller
        })
        .collect()
}

/// Counts below `n`, smallest first: 1, n/8, n/4, n/2, 3n/4, n-1 (distinct, ascending).
fn smaller_counts(n: u64, floor: u64) -> Vec<u64> {
    let mut out: Vec<u64> = [floor, n / 8, n / 4, n / 2, n * 3 / 4, n.saturating_sub(1)]
        .into_iter()
        .filter(|&k| k >= floor && k < n)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Fewer records, each count up to three times: with the faults where they are, with the fault
/// times scaled by the same ratio, and with the faults moved back by the send time of the
/// records removed (the fault then meets the same record, counted from the end).
fn fewer_records(c: &Candidate, world: &World) -> Vec<Candidate> {
    let mut out = Vec::new();
    let moved = |records: u64, at: &dyn Fn(f64) -> f64| {
        let mut alt = Candidate {
            records,
            ..c.clone()
        };
        for f in &mut alt.faults {
            f.at_ms = (at(f.at_ms).max(0.0) * 1000.0).round() / 1000.0;
        }
        alt.normalize();
        alt
    };
    for records in smaller_counts(c.records, 1) {
        out.push(moved(records, &|t| t));
        let ratio = records as f64 / c.records as f64;
        out.push(moved(records, &|t| t * ratio));
        if let Some(gap) = world.send_gap_ms {
            let removed = (c.records - records) as f64 * gap;
            out.push(moved(records, &|t| t - removed));
        }
    }
    out
}

/// A fault aimed at a lower broker id (and a broker link at the client's link), so that the
/// partitions and brokers passes can go further.
fn lower_targets(c: &Candidate, _: &World) -> Vec<Candidate> {
    use super::candidate::Target;
    let mut out = Vec::new();
    for i in 0..c.faults.len() {
        let lower: Vec<Target> = match c.faults[i].target {
            Target::Broker(b) => (0..b).map(Target::Broker).collect(),
            Target::ClientLink(b) => (0..b).map(Target::ClientLink).collect(),
            Target::BrokerLink(a, b) => {
                let mut t = vec![Target::ClientLink(a), Target::ClientLink(b)];
                t.extend((0..a).map(|x| Target::BrokerLink(x, b)));
                t
            }
        };
        for target in lower {
            let mut alt = c.clone();
            alt.faults[i].target = target;
            alt.normalize();
            out.push(alt);
        }
    }
    out
}

fn earlier_faults(c: &Candidate, _: &World) -> Vec<Candidate> {
    let mut out = Vec::new();
    for i in 0..c.faults.len() {
        let at = c.faults[i].at_ms;
        for earlier in [0.0, at / 4.0, at / 2.0, at * 3.0 / 4.0] {
            let earlier = (earlier * 1000.0).round() / 1000.0;
            if earlier < at {
                let mut alt = c.clone();
                alt.faults[i].at_ms = earlier;
                alt.normalize();
                out.push(alt);
            }
        }
    }
    out
}

fn shorter_faults(c: &Candidate, _: &World) -> Vec<Candidate> {
    let mut out = Vec::new();
    for i in 0..c.faults.len() {
        let f = &c.faults[i];
        for n in smaller_counts(f.n, 1) {
            let mut alt = c.clone();
            alt.faults[i].n = n;
            out.push(alt);
        }
        let length = f.length_ms;
        for shorter in [1.0, length / 4.0, length / 2.0, length * 3.0 / 4.0] {
            let shorter = (shorter * 1000.0).round() / 1000.0;
            if shorter < length && shorter > 0.0 {
                let mut alt = c.clone();
                alt.faults[i].length_ms = shorter;
                alt.normalize();
                out.push(alt);
            }
        }
    }
    out
}

/// Fewer partitions, each count twice: as it is, and with every broker a fault names renumbered
/// to the leader of the partition that takes its place (partition `i` starts led by broker
/// `i % brokers`, so broker `b` becomes `b % partitions` while partitions ≤ brokers).
fn fewer_partitions(c: &Candidate, _: &World) -> Vec<Candidate> {
    use super::candidate::Target;
    let mut out = Vec::new();
    for p in smaller_counts(u64::from(c.partitions), 1) {
        let p = p as u32;
        out.push(Candidate {
            partitions: p,
            ..c.clone()
        });
        let mut renumbered = Candidate {
            partitions: p,
            ..c.clone()
        };
        for f in &mut renumbered.faults {
            f.target = match f.target {
                Target::Broker(b) => Target::Broker(b % p),
                Target::ClientLink(b) => Target::ClientLink(b % p),
                other => other,
            };
        }
        renumbered.normalize();
        out.push(renumbered);
    }
    out
}

fn fewer_brokers(c: &Candidate, world: &World) -> Vec<Candidate> {
    let floor = world
        .replication_factor
        .max(c.highest_broker().map_or(1, |b| b + 1))
        .max(1);
    (floor..c.brokers)
        .map(|brokers| Candidate {
            brokers,
            ..c.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaller_counts_are_distinct_ascending_and_below_n() {
        assert_eq!(smaller_counts(200, 1), vec![1, 25, 50, 100, 150, 199]);
        assert_eq!(smaller_counts(2, 1), vec![1]);
        assert!(smaller_counts(1, 1).is_empty());
    }
}
