//! The reports: a line per run (with `--timeline` its events), the
//! distributions over all runs, and everything as JSON for `--json`.

mod json;
mod text;

pub use json::json;
pub use text::{print_run, print_summary};

/// (min, median, p90, max): median the mean of the middle two for an even
/// count, p90 by nearest rank.
fn distribution(values: &[f64]) -> Option<(f64, f64, f64, f64)> {
    let mut v: Vec<f64> = values.to_vec();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n.is_multiple_of(2) {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    } else {
        v[n / 2]
    };
    let p90 = v[(n * 90).div_ceil(100).max(1) - 1];
    Some((v[0], median, p90, v[n - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_of_an_even_and_an_odd_count() {
        assert_eq!(distribution(&[]), None);
        assert_eq!(distribution(&[3.0]), Some((3.0, 3.0, 3.0, 3.0)));
        assert_eq!(
            distribution(&[4.0, 1.0, 3.0, 2.0]),
            Some((1.0, 2.5, 4.0, 4.0))
        );
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(distribution(&ten), Some((1.0, 5.5, 9.0, 10.0)));
    }
}
