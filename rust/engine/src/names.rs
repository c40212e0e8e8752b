//! The names of the engine's enumerated options, each listed once: the binding parses Python
//! strings with them, records print them, and errors list them.

use crate::error::LedgerError;

/// An enum whose values have names (the strings users pass and read).
pub trait Named: Copy + PartialEq + Sized + 'static {
    /// The option this enum is the value of (named in errors).
    const FIELD: &'static str;
    /// Every value with its name.
    const CHOICES: &'static [(&'static str, Self)];

    /// The value named `s`.
    fn parse(s: &str) -> Option<Self> {
        Self::CHOICES.iter().find(|(n, _)| *n == s).map(|&(_, v)| v)
    }

    /// The value named `s`, or an error naming the option and listing the names.
    fn parse_field(s: &str) -> Result<Self, LedgerError> {
        Self::parse(s).ok_or_else(|| {
            LedgerError::invalid(
                Self::FIELD,
                format!("must be one of {}, got {s:?}", Self::names()),
            )
        })
    }

    /// This value's name.
    fn name(self) -> &'static str {
        Self::CHOICES
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("?", |&(n, _)| n)
    }

    /// Every name, comma-separated.
    fn names() -> String {
        let v: Vec<&str> = Self::CHOICES.iter().map(|(n, _)| *n).collect();
        v.join(", ")
    }
}
