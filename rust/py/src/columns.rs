//! Columns across the boundary: a symbol's input arrays (the `perpsim._protocol.SymbolColumns`
//! named tuple, read by field name and borrowed without a copy) and the dicts of record columns
//! handed back (numbers as numpy arrays, labels dictionary-encoded).

use numpy::{IntoPyArray, PyReadonlyArray1};
use perpsim_engine::engine::{RebateSchedule, SymbolInput};
use perpsim_engine::market::{BarSeries, Series, Times};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::{invalid, IntoPyResult};

/// One symbol's input columns: `perpsim._protocol.SymbolColumns` (the one declaration of this
/// protocol on the Python side; the field names here mirror it, a test checks they agree).
#[derive(FromPyObject)]
pub struct SymbolColumns<'py> {
    /// Bar open times (int64, in units of `ts_per` ns: borrowed as the index holds them).
    pub ts: PyReadonlyArray1<'py, i64>,
    /// Opens.
    pub open: PyReadonlyArray1<'py, f64>,
    /// Highs.
    pub high: PyReadonlyArray1<'py, f64>,
    /// Lows.
    pub low: PyReadonlyArray1<'py, f64>,
    /// Closes.
    pub close: PyReadonlyArray1<'py, f64>,
    /// Volumes (optional).
    pub volume: Option<PyReadonlyArray1<'py, f64>>,
    /// Marks at the close (optional).
    pub mark: Option<PyReadonlyArray1<'py, f64>>,
    /// The mark's opens (optional; with its highs and lows: the mark's own path).
    pub mark_open: Option<PyReadonlyArray1<'py, f64>>,
    /// The mark's highs.
    pub mark_high: Option<PyReadonlyArray1<'py, f64>>,
    /// The mark's lows.
    pub mark_low: Option<PyReadonlyArray1<'py, f64>>,
    /// Index prices at the bars' closes (optional).
    pub index_close: Option<PyReadonlyArray1<'py, f64>>,
    /// Funding times (optional, with `funding_rate`).
    pub funding_ts: Option<PyReadonlyArray1<'py, i64>>,
    /// Funding rates.
    pub funding_rate: Option<PyReadonlyArray1<'py, f64>>,
    /// Delivery settlement price (optional).
    pub settlement_price: Option<f64>,
    /// Rebate period starts (optional, with the three columns after it).
    pub rebate_start: Option<PyReadonlyArray1<'py, i64>>,
    /// Rebate period ends.
    pub rebate_end: Option<PyReadonlyArray1<'py, i64>>,
    /// The others' volume per rebate period.
    pub rebate_market_volume: Option<PyReadonlyArray1<'py, f64>>,
    /// The reward per rebate period.
    pub rebate_reward: Option<PyReadonlyArray1<'py, f64>>,
    /// Nanoseconds per unit of `ts` (1 for a nanosecond index, 1,000 for microseconds).
    pub ts_per: i64,
}

/// The names of [`SymbolColumns`]' fields, in order (checked against the Python declaration).
pub const SYMBOL_COLUMNS: [&str; 19] = [
    "ts",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "mark",
    "mark_open",
    "mark_high",
    "mark_low",
    "index_close",
    "funding_ts",
    "funding_rate",
    "settlement_price",
    "rebate_start",
    "rebate_end",
    "rebate_market_volume",
    "rebate_reward",
    "ts_per",
];

/// Borrows the columns of `data` as engine inputs (no copy); `n`: the account's symbols.
pub fn inputs_of<'a>(
    py: Python<'_>,
    n: usize,
    data: &'a [SymbolColumns<'_>],
) -> PyResult<Vec<SymbolInput<'a>>> {
    if data.len() != n {
        return Err(invalid(
            py,
            "data",
            format!("{} symbols of data for {n} contracts", data.len()),
        ));
    }
    let err = |_| invalid(py, "data", "arrays must be contiguous");
    let mut inputs = Vec::with_capacity(n);
    for d in data {
        let funding = match (&d.funding_ts, &d.funding_rate) {
            (Some(t), Some(r)) => Some(Series {
                ts: t.as_slice().map_err(err)?,
                values: r.as_slice().map_err(err)?,
            }),
            _ => None,
        };
        let opt = |a: &'a Option<PyReadonlyArray1<'_, f64>>| {
            a.as_ref().map(|a| a.as_slice()).transpose().map_err(err)
        };
        inputs.push(SymbolInput {
            bars: BarSeries {
                ts: Times::in_units(d.ts.as_slice().map_err(err)?, d.ts_per, "timestamp").py(py)?,
                open: d.open.as_slice().map_err(err)?,
                high: d.high.as_slice().map_err(err)?,
                low: d.low.as_slice().map_err(err)?,
                close: d.close.as_slice().map_err(err)?,
                volume: opt(&d.volume)?,
                mark: opt(&d.mark)?,
                mark_ohl: match (opt(&d.mark_open)?, opt(&d.mark_high)?, opt(&d.mark_low)?) {
                    (Some(o), Some(h), Some(l)) => Some([o, h, l]),
                    (None, None, None) => None,
                    _ => {
                        return Err(invalid(
                            py,
                            "mark_open",
                            "the mark's open, high and low come together",
                        ))
                    }
                },
                index: opt(&d.index_close)?,
            },
            funding,
            settlement_price: d.settlement_price,
            rebates: match (
                &d.rebate_start,
                &d.rebate_end,
                &d.rebate_market_volume,
                &d.rebate_reward,
            ) {
                (Some(s), Some(e), Some(v), Some(r)) => Some(RebateSchedule {
                    start: s.as_slice().map_err(err)?,
                    end: e.as_slice().map_err(err)?,
                    market_volume: v.as_slice().map_err(err)?,
                    reward: r.as_slice().map_err(err)?,
                }),
                (None, None, None, None) => None,
                _ => {
                    return Err(invalid(
                        py,
                        "rebates",
                        "a schedule needs its starts, ends, market volumes and rewards",
                    ))
                }
            },
        });
    }
    Ok(inputs)
}

/// A dict of record columns: numbers as numpy arrays, anything else as lists.
pub struct Columns<'py> {
    py: Python<'py>,
    dict: Bound<'py, PyDict>,
}

impl<'py> Columns<'py> {
    /// An empty dict.
    pub fn new(py: Python<'py>) -> Self {
        Self {
            py,
            dict: PyDict::new(py),
        }
    }

    /// The columns as a dict.
    pub fn into_dict(self) -> Bound<'py, PyDict> {
        self.dict
    }

    /// A numeric column (a numpy array built from `it`).
    pub fn num<T: numpy::Element>(
        &mut self,
        name: &str,
        it: impl Iterator<Item = T>,
    ) -> PyResult<()> {
        self.dict
            .set_item(name, it.collect::<Vec<T>>().into_pyarray(self.py))
    }

    /// A column of labels, dictionary-encoded: `(codes, categories)` (int32 codes into the list
    /// of distinct labels in order of first appearance), which the Python side makes a pandas
    /// `Categorical` without a string per row.
    pub fn cat<S: AsRef<str>>(&mut self, name: &str, it: impl Iterator<Item = S>) -> PyResult<()> {
        let mut cats: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<String, i32> = std::collections::HashMap::new();
        let mut codes: Vec<i32> = Vec::new();
        // The addresses already seen with their codes: labels are mostly a few static names (a
        // grid's fills alternate buy and sell), so comparing an address with a handful settles
        // most rows without hashing or comparing bytes.
        let mut seen: Vec<(*const u8, usize, i32)> = Vec::new();
        for label in it {
            let label = label.as_ref();
            let key = (label.as_ptr(), label.len());
            let code = match seen.iter().find(|s| (s.0, s.1) == key) {
                Some(s) => s.2,
                None => {
                    let c = match index.get(label) {
                        Some(&c) => c,
                        None => {
                            let c = cats.len() as i32;
                            cats.push(label.to_string());
                            index.insert(label.to_string(), c);
                            c
                        }
                    };
                    if seen.len() < 8 {
                        seen.push((key.0, key.1, c));
                    }
                    c
                }
            };
            codes.push(code);
        }
        let codes = codes.into_pyarray(self.py);
        self.dict
            .set_item(name, (codes, PyList::new(self.py, cats)?))
    }
}
