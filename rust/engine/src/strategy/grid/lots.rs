//! The grid's open inventory: per level, the fills not yet matched by their counter-fill, in the
//! order they happened. Levels are a dense window of integers (the grid's N + 1 levels and what
//! trailing moved it to), so the book is a vector indexed by level rather than a map: a fill looks
//! its level up in one step.

/// A grid fill not yet matched by its counter-fill.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Lot {
    pub side: f64,
    pub price: f64,
    pub qty: f64,
    pub fee: f64,
}

/// Lots by level, lowest level first.
#[derive(Clone, Debug, Default)]
pub(super) struct Lots {
    /// The level of `levels[0]`.
    base: i64,
    levels: Vec<Vec<Lot>>,
}

impl Lots {
    /// The lots of level `k`, made room for.
    pub fn entry(&mut self, k: i64) -> &mut Vec<Lot> {
        if self.levels.is_empty() {
            self.base = k;
        }
        if k < self.base {
            let more = (self.base - k) as usize;
            self.levels
                .splice(0..0, std::iter::repeat_with(Vec::new).take(more));
            self.base = k;
        }
        let i = (k - self.base) as usize;
        if i >= self.levels.len() {
            self.levels.resize_with(i + 1, Vec::new);
        }
        &mut self.levels[i]
    }

    /// The lots of level `k`, if it has a place.
    #[inline]
    pub fn get_mut(&mut self, k: i64) -> Option<&mut Vec<Lot>> {
        let i = usize::try_from(k - self.base).ok()?;
        self.levels.get_mut(i)
    }

    /// Every lot, by level (lowest first) and then in the order of its fill.
    pub fn iter(&self) -> impl Iterator<Item = &Lot> {
        self.levels.iter().flatten()
    }

    /// No lots left.
    pub fn clear(&mut self) {
        self.levels.clear();
    }

    /// Keeps the lots for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&Lot) -> bool) {
        for l in &mut self.levels {
            l.retain(&mut keep);
        }
    }
}
