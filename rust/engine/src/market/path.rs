//! The intrabar path: the order in which a bar's open, high, low and close are visited.

use serde::{Deserialize, Serialize};

/// How a bar is replayed (docs/matching.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathModel {
    /// open → the extreme nearer the open → the other extreme → close (ties: low first).
    NearestFirst,
    /// open → high → low → close.
    OpenHighLowClose,
    /// open → low → high → close.
    OpenLowHighClose,
    /// The extreme adverse to the symbol's net position first (long: low first; short: high
    /// first; flat: as `NearestFirst`).
    WorstCase,
}

impl crate::names::Named for PathModel {
    const FIELD: &'static str = "path";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("nearest_first", Self::NearestFirst),
        ("open_high_low_close", Self::OpenHighLowClose),
        ("open_low_high_close", Self::OpenLowHighClose),
        ("worst_case", Self::WorstCase),
    ];
}

impl PathModel {
    /// Whether the high comes before the low for a bar, given the symbol's signed position.
    #[inline]
    pub fn high_first(self, open: f64, high: f64, low: f64, position: f64) -> bool {
        match self {
            Self::OpenHighLowClose => true,
            Self::OpenLowHighClose => false,
            Self::WorstCase if position > 0.0 => false,
            Self::WorstCase if position < 0.0 => true,
            _ => (high - open) < (open - low),
        }
    }

    /// The path's points after the open: `[first extreme, second extreme, close]`.
    #[inline]
    pub fn points(self, open: f64, high: f64, low: f64, close: f64, position: f64) -> [f64; 3] {
        if self.high_first(open, high, low, position) {
            [high, low, close]
        } else {
            [low, high, close]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_first_visits_the_nearer_extreme_first() {
        let m = PathModel::NearestFirst;
        assert_eq!(m.points(100.0, 101.0, 95.0, 99.0, 0.0), [101.0, 95.0, 99.0]);
        assert_eq!(
            m.points(100.0, 105.0, 99.0, 101.0, 0.0),
            [99.0, 105.0, 101.0]
        );
        assert_eq!(
            m.points(100.0, 102.0, 98.0, 101.0, 0.0),
            [98.0, 102.0, 101.0]
        ); // tie: low first
    }

    #[test]
    fn worst_case_is_adverse_to_the_position() {
        let m = PathModel::WorstCase;
        assert_eq!(m.points(100.0, 101.0, 95.0, 99.0, 1.0), [95.0, 101.0, 99.0]);
        assert_eq!(
            m.points(100.0, 105.0, 99.0, 101.0, -1.0),
            [105.0, 99.0, 101.0]
        );
    }
}
