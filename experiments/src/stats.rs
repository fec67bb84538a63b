//! Summary statistics over the replicates of one point: mean and a 95% confidence interval from
//! Student's t distribution.

/// Two-sided 95% quantiles of Student's t, `t(0.975, df)` for df = 1..=30.
const T_975: [f64; 30] = [
    12.706_204_7,
    4.302_652_7,
    3.182_446_3,
    2.776_445_1,
    2.570_581_8,
    2.446_911_9,
    2.364_624_3,
    2.306_004_1,
    2.262_157_2,
    2.228_138_9,
    2.200_985_2,
    2.178_812_8,
    2.160_368_7,
    2.144_786_7,
    2.131_449_5,
    2.119_905_3,
    2.109_815_6,
    2.100_922_0,
    2.093_024_1,
    2.085_963_4,
    2.079_613_8,
    2.073_873_1,
    2.068_657_6,
    2.063_898_6,
    2.059_538_6,
    2.055_529_4,
    2.051_830_5,
    2.048_407_1,
    2.045_229_6,
    2.042_272_5,
];

/// `t(0.975, df)`: the table up to 30 degrees of freedom, then the Cornish-Fisher expansion
/// around the normal quantile (accurate to better than 1e-5 there).
pub fn t_975(degrees_of_freedom: u64) -> f64 {
    assert!(
        degrees_of_freedom > 0,
        "Student's t needs at least one degree of freedom"
    );
    if let Some(&t) = T_975.get((degrees_of_freedom - 1) as usize) {
        return t;
    }
    let z = 1.959_963_984_540_054_f64;
    let n = degrees_of_freedom as f64;
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * n)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * n * n)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * n * n * n)
}

/// Mean and 95% confidence interval of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Sample size.
    pub count: usize,
    /// Arithmetic mean (NaN for an empty sample).
    pub mean: f64,
    /// Sample standard deviation (NaN below two values).
    pub stddev: f64,
    /// Half-width of the 95% interval (NaN below two values).
    pub ci95_half_width: f64,
}

impl Summary {
    /// Summarises `values` in the order given (the order fixes the floating-point sums).
    /// Empty values (NaN: a replicate that had nothing to measure, such as a latency when
    /// nothing was acknowledged) are left out, and `count` says how many values remained.
    pub fn of(values: &[f64]) -> Summary {
        let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        let values = present.as_slice();
        let count = values.len();
        if count == 0 {
            return Summary {
                count,
                mean: f64::NAN,
                stddev: f64::NAN,
                ci95_half_width: f64::NAN,
            };
        }
        let mean = values.iter().sum::<f64>() / count as f64;
        if count < 2 {
            return Summary {
                count,
                mean,
                stddev: f64::NAN,
                ci95_half_width: f64::NAN,
            };
        }
        let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        let stddev = (squares / (count - 1) as f64).sqrt();
        let ci95_half_width = t_975(count as u64 - 1) * stddev / (count as f64).sqrt();
        Summary {
            count,
            mean,
            stddev,
            ci95_half_width,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables_and_tend_to_normal() {
        assert!((t_975(1) - 12.7062).abs() < 1e-3);
        assert!((t_975(10) - 2.2281).abs() < 1e-3);
        // Published values: t(0.975, 40) = 2.0211, t(0.975, 120) = 1.9799.
        assert!((t_975(40) - 2.0211).abs() < 1e-3, "{}", t_975(40));
        assert!((t_975(120) - 1.9799).abs() < 1e-3, "{}", t_975(120));
        assert!(t_975(31) < t_975(30));
    }

    #[test]
    fn summary_of_a_known_sample() {
        let summary = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(summary.mean, 5.0);
        assert!((summary.stddev - 2.138_089_935).abs() < 1e-6);
        let expected = 2.364_624_3 * summary.stddev / 8f64.sqrt();
        assert!((summary.ci95_half_width - expected).abs() < 1e-12);
    }

    #[test]
    fn one_value_has_no_interval() {
        let summary = Summary::of(&[3.5]);
        assert_eq!(summary.mean, 3.5);
        assert!(summary.ci95_half_width.is_nan());
        assert!(Summary::of(&[]).mean.is_nan());
    }

    #[test]
    fn empty_values_are_left_out_not_counted_as_zero() {
        let summary = Summary::of(&[f64::NAN, 2.0, 4.0]);
        assert_eq!(summary.count, 2);
        assert_eq!(summary.mean, 3.0);
        let none = Summary::of(&[f64::NAN, f64::NAN]);
        assert_eq!(none.count, 0);
        assert!(none.mean.is_nan());
    }
}
