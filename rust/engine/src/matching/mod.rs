//! The pure matching core: orders, each symbol's book of resting orders, the account's open
//! orders with their margin sums, and the chooser of the next event along a path segment. It
//! knows nothing of steps, strategies or records (those are the engine's).

pub mod book;
pub mod next_event;
pub mod open_orders;
pub mod order;

pub use book::Book;
pub use next_event::{next_event, Event, Reach};
pub use open_orders::OpenOrders;
pub use order::{Order, OrderKind, OrderRequest, ReasonId, Side, Status, WorkingType};
