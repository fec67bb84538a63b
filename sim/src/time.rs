//! Virtual time: `Instant` and `Duration` as integer nanoseconds.
//!
//! Time in a run never touches the wall clock and never uses floats, so two runs with the same
//! seed agree to the nanosecond on every machine.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub};

/// A point in virtual time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

/// A span of virtual time in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

impl Instant {
    /// The start of every run.
    pub const ZERO: Instant = Instant(0);
    /// The largest representable instant; used as "never".
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `ns` nanoseconds after the start of the run.
    pub const fn from_nanos(ns: u64) -> Instant {
        Instant(ns)
    }
    /// An instant `ms` milliseconds after the start of the run (saturating).
    pub const fn from_millis(ms: u64) -> Instant {
        Instant(ms.saturating_mul(1_000_000))
    }
    /// Nanoseconds since the start of the run.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Whole milliseconds since the start of the run (rounded down).
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }
    /// `self - earlier`, or zero when `earlier` is later than `self`.
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
    /// `self + d`, or `None` past [`Instant::MAX`].
    pub const fn checked_add(self, d: Duration) -> Option<Instant> {
        match self.0.checked_add(d.0) {
            Some(ns) => Some(Instant(ns)),
            None => None,
        }
    }
    /// `self + d`, saturating at [`Instant::MAX`].
    pub const fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);
    /// The largest representable duration.
    pub const MAX: Duration = Duration(u64::MAX);

    /// A duration of `ns` nanoseconds.
    pub const fn from_nanos(ns: u64) -> Duration {
        Duration(ns)
    }
    /// A duration of `us` microseconds (saturating).
    pub const fn from_micros(us: u64) -> Duration {
        Duration(us.saturating_mul(1_000))
    }
    /// A duration of `ms` milliseconds (saturating).
    pub const fn from_millis(ms: u64) -> Duration {
        Duration(ms.saturating_mul(1_000_000))
    }
    /// A duration of `s` seconds (saturating).
    pub const fn from_secs(s: u64) -> Duration {
        Duration(s.saturating_mul(1_000_000_000))
    }
    /// The duration in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Whole milliseconds (rounded down).
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }
    /// Whole microseconds (rounded down).
    pub const fn as_micros(self) -> u64 {
        self.0 / 1_000
    }
    /// The duration in seconds as a float, for reporting only (never for decisions).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// `self + other`, saturating.
    pub const fn saturating_add(self, other: Duration) -> Duration {
        Duration(self.0.saturating_add(other.0))
    }
    /// `self - other`, or zero.
    pub const fn saturating_sub(self, other: Duration) -> Duration {
        Duration(self.0.saturating_sub(other.0))
    }
}

/// Saturates at [`Instant::MAX`] (about 584 years), which lies after every run's time limit:
/// an event scheduled that far ahead never runs, instead of overflowing the clock.
impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        Duration(
            self.0
                .checked_sub(earlier.0)
                .expect("subtracted a later instant from an earlier one"),
        )
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(
            self.0
                .checked_sub(d.0)
                .expect("subtracted a duration reaching before the start of the run"),
        )
    }
}

impl Sub for Duration {
    type Output = Duration;
    fn sub(self, other: Duration) -> Duration {
        Duration(
            self.0
                .checked_sub(other.0)
                .expect("subtracted a longer duration from a shorter one"),
        )
    }
}

/// Saturates at `u64::MAX` ns, like `Instant + Duration`.
impl Mul<u64> for Duration {
    type Output = Duration;
    fn mul(self, factor: u64) -> Duration {
        Duration(self.0.saturating_mul(factor))
    }
}

impl AddAssign for Duration {
    fn add_assign(&mut self, other: Duration) {
        *self = *self + other;
    }
}

/// Saturates at `u64::MAX` ns, like `Instant + Duration`.
impl Add for Duration {
    type Output = Duration;
    fn add(self, other: Duration) -> Duration {
        self.saturating_add(other)
    }
}

/// Formats as seconds with nanosecond precision, e.g. `1.000250000s`.
impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}s",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// Formats with the largest unit that keeps the value exact, e.g. `5ms`, `250us`, `17ns`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns != 0 && ns.is_multiple_of(1_000_000_000) {
            write!(f, "{}s", ns / 1_000_000_000)
        } else if ns != 0 && ns.is_multiple_of(1_000_000) {
            write!(f, "{}ms", ns / 1_000_000)
        } else if ns != 0 && ns.is_multiple_of(1_000) {
            write!(f, "{}us", ns / 1_000)
        } else {
            write!(f, "{ns}ns")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_agree_on_units() {
        assert_eq!(Duration::from_secs(2), Duration::from_millis(2_000));
        assert_eq!(Duration::from_millis(3), Duration::from_micros(3_000));
        assert_eq!(Duration::from_micros(4), Duration::from_nanos(4_000));
        assert_eq!(Instant::from_millis(5).as_nanos(), 5_000_000);
        assert_eq!(Duration::from_nanos(1_999_999).as_millis(), 1);
        assert_eq!(Duration::from_nanos(1_999).as_micros(), 1);
        assert_eq!(Duration::from_secs(u64::MAX), Duration::MAX, "saturates");
    }

    #[test]
    fn arithmetic_is_exact_and_saturating_forms_saturate() {
        let t = Instant::from_millis(10);
        let d = Duration::from_millis(4);
        assert_eq!(t + d - d, t);
        assert_eq!((t + d) - t, d);
        assert_eq!(d * 3 - d, Duration::from_millis(8));
        let mut total = Duration::ZERO;
        total += d;
        total += d;
        assert_eq!(total, Duration::from_millis(8));
        assert_eq!(t.saturating_since(t + d), Duration::ZERO);
        assert_eq!(Instant::MAX.saturating_add(d), Instant::MAX);
        assert_eq!(Instant::MAX.checked_add(d), None);
        assert_eq!(t.checked_add(d), Some(Instant::from_millis(14)));
        assert_eq!(d.saturating_sub(total), Duration::ZERO);
    }

    #[test]
    fn operator_forms_saturate_instead_of_overflowing() {
        let d = Duration::from_secs(1);
        assert_eq!(Instant::MAX + d, Instant::MAX, "never stays never");
        assert_eq!(Instant::from_nanos(u64::MAX - 1) + d, Instant::MAX);
        assert_eq!(Duration::MAX + d, Duration::MAX);
        assert_eq!(Duration::MAX * 2, Duration::MAX);
        let mut t = Instant::from_nanos(u64::MAX - 5);
        t += d;
        assert_eq!(t, Instant::MAX);
    }

    #[test]
    fn display_is_exact() {
        assert_eq!(
            Instant::from_nanos(1_000_250_000).to_string(),
            "1.000250000s"
        );
        assert_eq!(Instant::ZERO.to_string(), "0.000000000s");
        assert_eq!(Duration::from_secs(3).to_string(), "3s");
        assert_eq!(Duration::from_millis(5).to_string(), "5ms");
        assert_eq!(Duration::from_micros(250).to_string(), "250us");
        assert_eq!(Duration::from_nanos(1_500).to_string(), "1500ns");
        assert_eq!(Duration::ZERO.to_string(), "0ns");
    }
}
