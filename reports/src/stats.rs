//! Summary statistics over replicates: the mean with a 95% confidence interval (Student's t), and
//! the Pareto front of a throughput/latency trade-off.

/// A mean and the half-width of its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Estimate {
    /// The sample mean.
    pub mean: f64,
    /// Half-width of the 95% interval (0 with a single replicate).
    pub half_width: f64,
    /// How many replicates.
    pub count: usize,
}

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

fn t_quantile(degrees_of_freedom: usize) -> f64 {
    match degrees_of_freedom {
        0 => 0.0,
        d if d <= T_975.len() => T_975[d - 1],
        _ => 1.960,
    }
}

/// The mean and 95% interval of `values`; `None` when empty.
pub(crate) fn estimate(values: &[f64]) -> Option<Estimate> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() == 1 {
        return Some(Estimate {
            mean,
            half_width: 0.0,
            count: 1,
        });
    }
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    let half_width = t_quantile(values.len() - 1) * (variance / n).sqrt();
    Some(Estimate {
        mean,
        half_width,
        count: values.len(),
    })
}

/// Indexes of the Pareto-optimal entries of `(latency, throughput)` pairs: no other entry has
/// lower-or-equal latency and higher-or-equal throughput with one of them strictly better.
pub(crate) fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| {
            let (li, ti) = points[i];
            !points
                .iter()
                .any(|&(l, t)| l <= li && t >= ti && (l < li || t > ti))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_of_known_sample() {
        let e = estimate(&[1.0, 2.0, 3.0]).expect("non-empty");
        assert!((e.mean - 2.0).abs() < 1e-12);
        // s = 1, n = 3, t(2) = 4.303: half-width = 4.303 / sqrt(3).
        assert!((e.half_width - 4.303 / 3f64.sqrt()).abs() < 1e-9);
        assert_eq!(e.count, 3);
    }

    #[test]
    fn single_replicate_has_no_interval_and_empty_has_no_estimate() {
        assert_eq!(estimate(&[5.0]).map(|e| e.half_width), Some(0.0));
        assert_eq!(estimate(&[]), None);
    }

    #[test]
    fn pareto_front_drops_dominated_points() {
        // (latency, throughput): the second is dominated by the first.
        let pts = [
            (1.0, 10.0),
            (2.0, 9.0),
            (3.0, 20.0),
            (3.0, 20.0),
            (0.5, 1.0),
        ];
        assert_eq!(pareto_front(&pts), vec![0, 2, 3, 4]);
    }
}
