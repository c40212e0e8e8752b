//! The ledger: positions, the account (wallet, equity, margin, funding) and liquidation prices.

pub mod account;
pub mod fee_tiers;
pub mod margin;
pub mod position;

pub use account::{
    Account, Fill, LegFigures, Liquidity, MarginMode, Marker, PositionMode, PositionSide,
};
pub use fee_tiers::FeeTiers;
pub use margin::{hedge_liquidation_price, liquidation_price, HedgeInput, LiquidationInput};
pub use position::{FillEffect, Position, DUST};
