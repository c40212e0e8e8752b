//! A grid's parameters: mode, spacing, quantity per order, and the checks that need no
//! instrument (the instrument's filters are checked when the grid is built).

use crate::error::LedgerError;

/// Neutral, long or short grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridMode {
    /// No position at start; sells above open shorts, buys below open longs.
    Neutral,
    /// Buys at market what the sells above will close.
    Long,
    /// Sells at market what the buys below will close.
    Short,
}

impl crate::names::Named for GridMode {
    const FIELD: &'static str = "mode";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("neutral", Self::Neutral),
        ("long", Self::Long),
        ("short", Self::Short),
    ];
}

/// How the levels are spaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spacing {
    /// Equal price steps: L + iΔ, Δ = (U − L)/N.
    Arithmetic,
    /// Equal ratios: L·r^i, r = (U/L)^(1/N).
    Geometric,
}

impl crate::names::Named for Spacing {
    const FIELD: &'static str = "spacing";
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("arithmetic", Self::Arithmetic),
        ("geometric", Self::Geometric),
    ];
}

/// Quantity per order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GridQty {
    /// A fixed base quantity (contracts for inverse), rounded down to the step.
    Base(f64),
    /// A constant quote value per grid: quantity at level P = value / P (with a trigger, / trigger).
    Quote(f64),
}

impl GridQty {
    /// The quantity from the two ways of giving it: exactly one of a base quantity per order
    /// (`qty`) and a quote value per grid (`quote_per_grid`).
    pub fn from_options(
        qty: Option<f64>,
        quote_per_grid: Option<f64>,
    ) -> Result<Self, LedgerError> {
        match (qty, quote_per_grid) {
            (Some(q), None) => Ok(GridQty::Base(q)),
            (None, Some(v)) => Ok(GridQty::Quote(v)),
            _ => Err(LedgerError::invalid(
                "qty",
                "give exactly one of qty and quote_per_grid",
            )),
        }
    }
}

/// A grid's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridConfig {
    /// Symbol index.
    pub symbol: usize,
    /// Lowest level.
    pub lower: f64,
    /// Highest level.
    pub upper: f64,
    /// Number of intervals (N + 1 levels).
    pub n: usize,
    /// The most intervals accepted ([`DEFAULT_MAX_GRIDS`] unless raised for research).
    pub max_grids: usize,
    /// Geometric spacing (else arithmetic).
    pub geometric: bool,
    /// Neutral, long or short.
    pub mode: GridMode,
    /// Quantity per order.
    pub qty: GridQty,
    /// Start only once the price reaches this.
    pub trigger: Option<f64>,
    /// Stop (neutral: "stop top"; long: take-profit; short: stop-loss) when the price reaches it.
    pub stop_upper: Option<f64>,
    /// Stop (neutral: "stop bottom"; long: stop-loss; short: take-profit).
    pub stop_lower: Option<f64>,
    /// Close the position at the stop price when a stop fires.
    pub close_on_stop: bool,
    /// Trail up: when the price reaches U + Δ, the grid moves up one level (up to the limit).
    pub trailing_up: bool,
    /// Trail down: when the price reaches L − Δ, the grid moves down one level (down to the limit).
    pub trailing_down: bool,
    /// The highest upper level trailing up may reach.
    pub trailing_up_limit: Option<f64>,
    /// The lowest lower level trailing down may reach.
    pub trailing_down_limit: Option<f64>,
}

/// The most grid intervals accepted by default: exchanges' grid bots take a few hundred (docs/
/// strategies.md, "How many grids"); a denser grid is research, asked for with `max_grids`.
pub const DEFAULT_MAX_GRIDS: usize = 500;

impl GridConfig {
    /// A plain neutral arithmetic grid of symbol 0 with `n` intervals between `lower` and
    /// `upper`, `qty` per order: no trigger, stops or trailing (change the fields for more).
    pub fn neutral(lower: f64, upper: f64, n: usize, qty: GridQty) -> Self {
        Self {
            symbol: 0,
            lower,
            upper,
            n,
            max_grids: DEFAULT_MAX_GRIDS,
            geometric: false,
            mode: GridMode::Neutral,
            qty,
            trigger: None,
            stop_upper: None,
            stop_lower: None,
            close_on_stop: true,
            trailing_up: false,
            trailing_down: false,
            trailing_up_limit: None,
            trailing_down_limit: None,
        }
    }

    /// Checks the parameters on their own (the instrument's filters are checked by
    /// [`Grid::new`]); the error names the parameter.
    pub fn validate(&self) -> Result<(), LedgerError> {
        let (l, u, n) = (self.lower, self.upper, self.n);
        if !(l.is_finite() && l > 0.0) {
            return Err(LedgerError::invalid(
                "lower",
                format!("must be a finite price > 0, got {l}"),
            ));
        }
        if !(u.is_finite() && u > l) {
            return Err(LedgerError::invalid(
                "upper",
                format!("must be above lower ({l}), got {u}"),
            ));
        }
        if n < 2 {
            return Err(LedgerError::invalid(
                "grid_count",
                format!("must be at least 2, got {n}"),
            ));
        }
        if self.max_grids < 2 {
            return Err(LedgerError::invalid(
                "max_grids",
                format!("must be at least 2, got {}", self.max_grids),
            ));
        }
        if n > self.max_grids {
            return Err(LedgerError::invalid(
                "grid_count",
                format!(
                    "{n} grids is more than {} (exchanges' grid bots take a few hundred); set \
                     max_grids to go beyond for research",
                    self.max_grids
                ),
            ));
        }
        if let Some(t) = self.trigger {
            if !(t.is_finite() && t > 0.0) {
                return Err(LedgerError::invalid(
                    "trigger",
                    format!("must be a finite price > 0, got {t}"),
                ));
            }
        }
        if let Some(s) = self.stop_upper {
            if !(s.is_finite() && s > u) {
                return Err(LedgerError::invalid(
                    "stop_upper",
                    format!("must be above upper ({u}), got {s}"),
                ));
            }
        }
        if let Some(s) = self.stop_lower {
            if !(s.is_finite() && s > 0.0 && s < l) {
                return Err(LedgerError::invalid(
                    "stop_lower",
                    format!("must be in (0, lower = {l}), got {s}"),
                ));
            }
        }
        if (self.trailing_up || self.trailing_down) && !matches!(self.qty, GridQty::Quote(_)) {
            return Err(LedgerError::invalid(
                "quote_per_grid",
                "trailing needs a constant quote value per grid",
            ));
        }
        if let Some(t) = self.trailing_up_limit {
            let cap = self.stop_upper.unwrap_or(f64::INFINITY);
            if !(t.is_finite() && t > u && t < cap) {
                return Err(LedgerError::invalid(
                    "trailing_up_limit",
                    format!("must be above upper ({u}) and below stop_upper, got {t}"),
                ));
            }
        }
        if let Some(t) = self.trailing_down_limit {
            let floor = self.stop_lower.unwrap_or(0.0);
            if !(t.is_finite() && t < l && t > floor) {
                return Err(LedgerError::invalid(
                    "trailing_down_limit",
                    format!("must be below lower ({l}) and above stop_lower, got {t}"),
                ));
            }
        }
        if let GridQty::Base(q) = self.qty {
            if !(q.is_finite() && q > 0.0) {
                return Err(LedgerError::invalid(
                    "qty",
                    format!("must be a finite number > 0, got {q}"),
                ));
            }
        }
        if let GridQty::Quote(v) = self.qty {
            if !(v.is_finite() && v > 0.0) {
                return Err(LedgerError::invalid(
                    "quote_per_grid",
                    format!("must be > 0, got {v}"),
                ));
            }
        }
        Ok(())
    }

    /// Level `k` of the grid before rounding to a tick (0 is `lower`, `n` is `upper`).
    #[inline]
    pub fn raw_level(&self, k: i64) -> f64 {
        let (l, u, n) = (self.lower, self.upper, self.n as f64);
        if self.geometric {
            l * (u / l).powf(k as f64 / n)
        } else {
            l + k as f64 * (u - l) / n
        }
    }
}
