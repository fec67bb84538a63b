//! Sweep axes, the points of a sweep, their seeds, and shards.
//!
//! Axis syntax: one table per section under `[sweep]`, keys written exactly as in the section
//! (Kafka keys keep their dots, so they are quoted):
//!
//! ```toml
//! [sweep.producer]
//! "linger.ms" = [0, 1, 5, 10, 20, 50, 100]               # a list
//! "batch.size" = { from = 16384, to = 1048576, times = 2 } # geometric: 16384, 32768, ... 1048576
//! [sweep.workload]
//! rate = { from = 10000, to = 50000, step = 10000 }       # arithmetic, `to` included when hit
//! ```
//!
//! A deeper table (`[sweep.faults.leader_crash]`) sweeps a key of a sub-table. The flat form
//! `[sweep] "producer.linger.ms" = [...]` (section, a dot, then the key) means the same axis.
//! An axis is named `section.key` in result columns, for example `producer.linger.ms`.
//!
//! Points are the cartesian product of the axes, the first axis varying slowest. A point's
//! seeds come from the master seed and the point's own coordinates (its canonical text), never
//! from its index, so a point's results do not depend on which other points exist or run.

use crate::error::{InputError, Result, suggestion_suffix};
use crate::spec::{Source, WORLD_SECTIONS};

/// The default ceiling on the number of points of one sweep (`--max-points` raises it).
pub const POINTS_MAX_DEFAULT: u64 = 100_000;

/// One sweep axis: a key and the values it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The section, then the key (and deeper keys for sub-tables).
    pub path: Vec<String>,
    /// The values, in sweep order.
    pub values: Vec<toml::Value>,
}

impl Axis {
    /// The axis name used in result columns: the path joined by dots.
    pub fn name(&self) -> String {
        self.path.join(".")
    }
}

/// Reads the `[sweep]` table into axes, ordered as they are written in the file.
///
/// In the flat form (`[sweep] "workload.arrivals.per_sec"`) the part after the section is one
/// key in `[producer]` (Kafka names) or when the section already holds that dotted key, and a
/// path into sub-tables otherwise.
pub fn parse_sweep(source: &Source, sweep: &toml::Value, base: &toml::Table) -> Result<Vec<Axis>> {
    let table = sweep.as_table().expect("sections are checked to be tables");
    let mut found = Vec::new();
    for (key, value) in table {
        let path = if WORLD_SECTIONS.contains(&key.as_str()) {
            vec![key.clone()]
        } else if let Some((section, rest)) = key.split_once('.') {
            check_section(source, key, section)?;
            flat_axis_path(section, rest, base)
        } else {
            check_section(source, key, key)?;
            vec![key.clone()]
        };
        collect_axes(source, path, value, &mut found)?;
    }
    found.sort_by_key(|(offset, _)| *offset);
    let axes: Vec<Axis> = found.into_iter().map(|(_, axis)| axis).collect();
    for (i, axis) in axes.iter().enumerate() {
        if axes[..i].iter().any(|other| other.name() == axis.name()) {
            let message = format!("sweep axis `{}` is given twice", axis.name());
            return Err(InputError::at(axis_location(source, axis), message).into());
        }
    }
    Ok(axes)
}

fn flat_axis_path(section: &str, rest: &str, base: &toml::Table) -> Vec<String> {
    let literal = section == "producer"
        || base
            .get(section)
            .and_then(toml::Value::as_table)
            .is_some_and(|table| table.contains_key(rest));
    let mut path = vec![section.to_string()];
    if literal {
        path.push(rest.to_string());
    } else {
        path.extend(rest.split('.').map(str::to_string));
    }
    path
}

fn check_section(source: &Source, key: &str, section: &str) -> Result<()> {
    if WORLD_SECTIONS.contains(&section) {
        return Ok(());
    }
    let message = format!(
        "sweep axis `{key}`: unknown section `{section}`{}; axes are written [sweep.SECTION] \
         with SECTION one of {}",
        suggestion_suffix(section, WORLD_SECTIONS),
        WORLD_SECTIONS.join(", ")
    );
    Err(source.error_at_key(&["sweep", key], message).into())
}

/// The source path of an axis inside `[sweep]`, nested form first, then the flat form.
fn axis_location(source: &Source, axis: &Axis) -> Option<crate::error::Location> {
    let mut nested: Vec<&str> = vec!["sweep"];
    nested.extend(axis.path.iter().map(String::as_str));
    let flat_key = axis.name();
    source
        .location_of_key(&nested)
        .or_else(|| source.location_of_key(&["sweep", &flat_key]))
}

fn collect_axes(
    source: &Source,
    path: Vec<String>,
    value: &toml::Value,
    found: &mut Vec<(usize, Axis)>,
) -> Result<()> {
    let is_range = value
        .as_table()
        .is_some_and(|table| table.contains_key("from"));
    match value {
        toml::Value::Table(table) if !is_range => {
            if table.is_empty() {
                let axis = Axis {
                    path: path.clone(),
                    values: Vec::new(),
                };
                let message = format!("sweep table `{}` has no axes", axis.name());
                return Err(InputError::at(axis_location(source, &axis), message).into());
            }
            for (key, inner) in table {
                let mut deeper = path.clone();
                deeper.push(key.clone());
                collect_axes(source, deeper, inner, found)?;
            }
            Ok(())
        }
        _ => {
            let mut axis = Axis {
                path,
                values: Vec::new(),
            };
            if axis.path.len() < 2 {
                let message = format!(
                    "sweep entry `{}` must be a table of axes: [sweep.{}] KEY = [values]",
                    axis.name(),
                    axis.name()
                );
                return Err(InputError::at(axis_location(source, &axis), message).into());
            }
            let location = axis_location(source, &axis);
            axis.values = axis_values(value).map_err(|message| {
                InputError::at(location, format!("sweep axis `{}`: {message}", axis.name()))
            })?;
            let offset = sweep_offset(source, &axis);
            found.push((offset, axis));
            Ok(())
        }
    }
}

fn sweep_offset(source: &Source, axis: &Axis) -> usize {
    let mut nested: Vec<&str> = vec!["sweep"];
    nested.extend(axis.path.iter().map(String::as_str));
    source
        .offset_of_key(&nested)
        .or_else(|| source.offset_of_key(&["sweep", &axis.name()]))
        .unwrap_or(usize::MAX)
}

/// The values of one axis: a non-empty list of scalars, or a range table.
fn axis_values(value: &toml::Value) -> Result<Vec<toml::Value>, String> {
    let values = match value {
        toml::Value::Array(items) => items.clone(),
        toml::Value::Table(range) => expand_range(range)?,
        other => {
            return Err(format!(
                "expected a list [a, b, ...] or a range {{ from, to, step }} / {{ from, to, times }}, \
                 found a {}",
                other.type_str()
            ));
        }
    };
    if values.is_empty() {
        return Err("the axis is empty; give at least one value".to_string());
    }
    if let Some(bad) = values
        .iter()
        .find(|v| v.is_table() || v.is_array() || v.is_datetime())
    {
        return Err(format!(
            "axis values must be numbers, strings or booleans, found a {}",
            bad.type_str()
        ));
    }
    Ok(values)
}

/// Most values one range may produce (the point limit applies on top).
const RANGE_VALUES_MAX: usize = 1_000_000;

fn expand_range(range: &toml::Table) -> Result<Vec<toml::Value>, String> {
    for key in range.keys() {
        if !["from", "to", "step", "times"].contains(&key.as_str()) {
            return Err(format!(
                "unknown range key `{key}`{}; a range has from, to, and step or times",
                suggestion_suffix(key, ["from", "to", "step", "times"])
            ));
        }
    }
    let get = |key: &str| range.get(key);
    let (Some(from), Some(to)) = (get("from"), get("to")) else {
        return Err("a range needs both `from` and `to`".to_string());
    };
    match (get("step"), get("times")) {
        (Some(step), None) => arithmetic_range(from, to, step),
        (None, Some(times)) => geometric_range(from, to, times),
        _ => Err("a range needs exactly one of `step` (arithmetic) or `times` (geometric)".into()),
    }
}

fn arithmetic_range(
    from: &toml::Value,
    to: &toml::Value,
    step: &toml::Value,
) -> Result<Vec<toml::Value>, String> {
    if let (Some(from), Some(to), Some(step)) =
        (from.as_integer(), to.as_integer(), step.as_integer())
    {
        if step <= 0 || from > to {
            return Err(format!(
                "need step > 0 and from <= to, got from {from}, to {to}, step {step}"
            ));
        }
        let count =
            usize::try_from((to - from) / step + 1).map_err(|_| "range too long".to_string())?;
        check_range_length(count)?;
        return Ok((0..count)
            .map(|i| toml::Value::Integer(from + step * i as i64))
            .collect());
    }
    let (from, to, step) = (
        number(from, "from")?,
        number(to, "to")?,
        number(step, "step")?,
    );
    if step <= 0.0 || from > to {
        return Err(format!(
            "need step > 0 and from <= to, got from {from}, to {to}, step {step}"
        ));
    }
    // Count by index from `from`, not by repeated addition, so rounding cannot accumulate.
    let count = ((to - from) / step + 1e-9).floor() as usize + 1;
    check_range_length(count)?;
    Ok((0..count)
        .map(|i| toml::Value::Float(from + step * i as f64))
        .collect())
}

fn geometric_range(
    from: &toml::Value,
    to: &toml::Value,
    times: &toml::Value,
) -> Result<Vec<toml::Value>, String> {
    if let (Some(from), Some(to), Some(times)) =
        (from.as_integer(), to.as_integer(), times.as_integer())
    {
        if from <= 0 || times < 2 || from > to {
            return Err(format!(
                "need from > 0, times >= 2 and from <= to, got from {from}, to {to}, times {times}"
            ));
        }
        let mut values = vec![toml::Value::Integer(from)];
        let mut current = from;
        while let Some(next) = current.checked_mul(times).filter(|next| *next <= to) {
            values.push(toml::Value::Integer(next));
            current = next;
        }
        return Ok(values);
    }
    let (from, to, times) = (
        number(from, "from")?,
        number(to, "to")?,
        number(times, "times")?,
    );
    if from <= 0.0 || times <= 1.0 || from > to {
        return Err(format!(
            "need from > 0, times > 1 and from <= to, got from {from}, to {to}, times {times}"
        ));
    }
    let mut values = Vec::new();
    let mut i = 0;
    loop {
        let value = from * times.powi(i);
        if value > to * (1.0 + 1e-9) {
            break;
        }
        values.push(toml::Value::Float(value));
        check_range_length(values.len())?;
        i += 1;
    }
    Ok(values)
}

fn number(value: &toml::Value, key: &str) -> Result<f64, String> {
    match value {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Ok(*f),
        other => Err(format!(
            "range `{key}` must be a number, found a {}",
            other.type_str()
        )),
    }
}

fn check_range_length(count: usize) -> Result<(), String> {
    if count > RANGE_VALUES_MAX {
        return Err(format!("the range has more than {RANGE_VALUES_MAX} values"));
    }
    Ok(())
}

/// The points of a sweep: the cartesian product of its axes.
#[derive(Clone, Debug)]
pub struct Points<'a> {
    axes: &'a [Axis],
    count: usize,
}

impl<'a> Points<'a> {
    /// The points of `axes`, refusing more than `points_max`.
    pub fn new(axes: &'a [Axis], points_max: u64) -> Result<Points<'a>> {
        let mut count: u64 = 1;
        for axis in axes {
            count = count.saturating_mul(axis.values.len() as u64);
        }
        if count > points_max {
            let sizes: Vec<String> = axes
                .iter()
                .map(|a| format!("{} ({})", a.name(), a.values.len()))
                .collect();
            let message = format!(
                "the sweep has {count} points, more than the limit of {points_max} \
                 (axes: {}); shrink an axis or pass --max-points {count}",
                sizes.join(" x ")
            );
            return Err(InputError::new(message).into());
        }
        let count = usize::try_from(count).map_err(|_| InputError::new("sweep too large"))?;
        Ok(Points { axes, count })
    }

    /// How many points there are.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The coordinates of point `index`: one value per axis, the last axis varying fastest.
    pub fn values(&self, index: usize) -> Vec<toml::Value> {
        assert!(index < self.count, "point {index} out of {}", self.count);
        let mut rest = index;
        let mut values = vec![toml::Value::Boolean(false); self.axes.len()];
        for (slot, axis) in values.iter_mut().zip(self.axes).rev() {
            let len = axis.values.len();
            *slot = axis.values[rest % len].clone();
            rest /= len;
        }
        values
    }
}

/// The canonical text of a point: `name=value` pairs sorted by axis name, joined by `;`.
/// Values are written as TOML, so `5`, `5.0` and `"5"` stay distinct.
pub fn canonical_point(axes: &[Axis], values: &[toml::Value]) -> String {
    canonical_point_of(axes.iter().map(Axis::name).zip(values))
}

/// [`canonical_point`] from axis names and values, for readers that have a manifest's axes
/// rather than parsed ones.
pub fn canonical_point_of<'v>(pairs: impl Iterator<Item = (String, &'v toml::Value)>) -> String {
    let mut pairs: Vec<String> = pairs
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    pairs.sort();
    pairs.join(";")
}

/// The seed of one run: derived from the master seed, the point's canonical text and the
/// replicate number, with the engine's stream derivation.
pub fn run_seed(master_seed: u64, canonical_point: &str, replicate: u32) -> u64 {
    sim::rng::derive_seed(
        master_seed,
        &format!("point[{canonical_point}]/replicate[{replicate}]"),
    )
}

/// A deterministic slice of the points: shard `index` of `count` (1-based) takes the points
/// whose index is congruent to `index - 1` modulo `count`, so every shard gets a similar mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// This shard, from 1 to `count`.
    pub index: u32,
    /// How many shards there are.
    pub count: u32,
}

impl Shard {
    /// The whole sweep.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let parsed = text
            .split_once('/')
            .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(format!(
                "`{text}` is not a shard: expected K/N with 1 <= K <= N, e.g. 2/3"
            )),
        }
    }

    /// Whether point `index` belongs to this shard.
    pub fn contains(&self, point_index: usize) -> bool {
        point_index % self.count as usize == (self.index - 1) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Experiment, Source};

    fn axes_of(text: &str) -> Result<Vec<Axis>> {
        Experiment::parse(Source::built_in("t.toml", text), &[]).map(|e| e.axes)
    }

    #[test]
    fn nested_and_flat_axes_keep_file_order() {
        let axes = axes_of(
            "[sweep.producer]\n\"linger.ms\" = [0, 5]\n[sweep]\n\"workload.arrivals.per_sec\" = [1, 2, 3]\n",
        );
        // The flat key sits in [sweep], written after [sweep.producer]'s key in the file.
        let axes = axes.expect("valid");
        let names: Vec<String> = axes.iter().map(Axis::name).collect();
        assert_eq!(names, ["producer.linger.ms", "workload.arrivals.per_sec"]);
        assert_eq!(axes[1].path, ["workload", "arrivals", "per_sec"]);
        assert_eq!(axes[1].values.len(), 3);
    }

    #[test]
    fn geometric_and_arithmetic_ranges_expand() {
        let axes = axes_of(
            "[sweep.producer]\n\"batch.size\" = { from = 16384, to = 1048576, times = 2 }\n\
             \"linger.ms\" = { from = 0, to = 10, step = 5 }\n",
        )
        .expect("valid");
        let batch: Vec<i64> = axes[0]
            .values
            .iter()
            .filter_map(toml::Value::as_integer)
            .collect();
        assert_eq!(
            batch,
            [16384, 32768, 65536, 131072, 262144, 524288, 1048576]
        );
        let linger: Vec<i64> = axes[1]
            .values
            .iter()
            .filter_map(toml::Value::as_integer)
            .collect();
        assert_eq!(linger, [0, 5, 10]);
    }

    #[test]
    fn float_ranges_do_not_drift() {
        let axes = axes_of("[sweep.network]\nloss = { from = 0.0, to = 0.3, step = 0.1 }\n")
            .expect("valid");
        assert_eq!(axes[0].values.len(), 4);
    }

    #[test]
    fn empty_axis_is_an_error_with_a_line() {
        let error = axes_of("[run]\n[sweep.producer]\n\"linger.ms\" = []\n").expect_err("empty");
        let text = error.to_string();
        assert!(text.contains(":3:"), "{text}");
        assert!(text.contains("producer.linger.ms"), "{text}");
        assert!(text.contains("empty"), "{text}");
    }

    #[test]
    fn axis_in_an_unknown_section_is_an_error() {
        let error = axes_of("[sweep.prodcer]\n\"linger.ms\" = [1]\n").expect_err("unknown");
        assert!(
            error.to_string().contains("did you mean `producer`?"),
            "{error}"
        );
    }

    #[test]
    fn points_enumerate_last_axis_fastest_and_respect_the_limit() {
        let axes = axes_of("[sweep.producer]\na = [1, 2]\nb = [10, 20, 30]\n").expect("valid");
        let points = Points::new(&axes, 100).expect("small");
        assert_eq!(points.count(), 6);
        assert_eq!(
            points.values(1),
            [toml::Value::Integer(1), toml::Value::Integer(20)]
        );
        assert_eq!(
            points.values(3),
            [toml::Value::Integer(2), toml::Value::Integer(10)]
        );
        let error = Points::new(&axes, 5).expect_err("over the limit");
        assert!(error.to_string().contains("--max-points"), "{error}");
    }

    #[test]
    fn seeds_depend_on_coordinates_not_on_axis_order() {
        let ab = axes_of("[sweep.producer]\na = [1, 2]\nb = [3]\n").expect("valid");
        let ba = axes_of("[sweep.producer]\nb = [3]\na = [1, 2]\n").expect("valid");
        let p_ab = canonical_point(&ab, &[toml::Value::Integer(2), toml::Value::Integer(3)]);
        let p_ba = canonical_point(&ba, &[toml::Value::Integer(3), toml::Value::Integer(2)]);
        assert_eq!(p_ab, p_ba);
        assert_eq!(run_seed(1, &p_ab, 0), run_seed(1, &p_ba, 0));
        assert_ne!(run_seed(1, &p_ab, 0), run_seed(1, &p_ab, 1));
        assert_ne!(run_seed(1, &p_ab, 0), run_seed(2, &p_ab, 0));
    }

    #[test]
    fn shards_partition_the_points() {
        let shards: Vec<Shard> = (1..=3).map(|k| Shard { index: k, count: 3 }).collect();
        for point in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.contains(point)).count(), 1);
        }
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert!(Shard::parse("x").is_err());
    }

    proptest::proptest! {
        #[test]
        fn points_are_distinct_and_shards_partition_them(
            sizes in proptest::collection::vec(1usize..5, 0..4),
            shard_count in 1u32..6,
        ) {
            let axes: Vec<Axis> = sizes
                .iter()
                .enumerate()
                .map(|(a, &n)| Axis {
                    path: vec!["producer".into(), format!("k{a}")],
                    values: (0..n as i64).map(toml::Value::Integer).collect(),
                })
                .collect();
            let points = Points::new(&axes, u64::MAX).expect("small");
            proptest::prop_assert_eq!(points.count(), sizes.iter().product::<usize>());
            let mut seen = std::collections::BTreeSet::new();
            for index in 0..points.count() {
                let canonical = canonical_point(&axes, &points.values(index));
                proptest::prop_assert!(seen.insert(canonical), "point {} repeats", index);
                let owners = (1..=shard_count)
                    .filter(|&k| Shard { index: k, count: shard_count }.contains(index))
                    .count();
                proptest::prop_assert_eq!(owners, 1);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn integer_ranges_stay_inside_and_increase(
            from in 0i64..1000,
            span in 0i64..5000,
            step in 1i64..700,
            times in 2i64..5,
        ) {
            let to = from + span;
            let mut range = toml::Table::new();
            range.insert("from".into(), toml::Value::Integer(from));
            range.insert("to".into(), toml::Value::Integer(to));
            range.insert("step".into(), toml::Value::Integer(step));
            let values: Vec<i64> = expand_range(&range).expect("valid").iter().filter_map(toml::Value::as_integer).collect();
            proptest::prop_assert_eq!(values[0], from);
            proptest::prop_assert!(values.windows(2).all(|w| w[1] - w[0] == step));
            proptest::prop_assert!(*values.last().expect("non-empty") <= to);
            proptest::prop_assert!(values.last().expect("non-empty") + step > to);
            range.remove("step");
            let (from_g, to_g) = (from + 1, to + 1);
            range.insert("from".into(), toml::Value::Integer(from_g));
            range.insert("to".into(), toml::Value::Integer(to_g));
            range.insert("times".into(), toml::Value::Integer(times));
            let values: Vec<i64> = expand_range(&range)
                .expect("valid")
                .iter()
                .filter_map(toml::Value::as_integer)
                .collect();
            proptest::prop_assert!(values.windows(2).all(|w| w[1] == w[0] * times));
            proptest::prop_assert!(values.iter().all(|v| (from_g..=to_g).contains(v)));
            proptest::prop_assert!(values.last().expect("non-empty") * times > to_g);
        }
    }
}
