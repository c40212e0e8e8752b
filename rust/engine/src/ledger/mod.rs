//! The ledger: positions, the account (wallet, equity, margin, funding) and liquidation prices.

pub mod account;
pub mod fee_tiers;
pub mod margin;
pub mod position;

pub use account::{Account, Fill, Liquidity, MarginMode};
pub use fee_tiers::FeeTiers;
pub use margin::{liquidation_price, LiquidationInput};
pub use position::{FillEffect, Position, DUST};
