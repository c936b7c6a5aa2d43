//! hub-core: the router's native core. Decode → filter → transform → encode a batch of events
//! under the plans of the agreements on a topic, with the Python engine
//! (`hub.agreements`, `consumers.router.process`) as its executable specification.
//!
//! The engine is plain Rust (`cargo test` needs no Python); `python` is the one PyO3 module.

pub mod account;
pub mod bucket;
pub mod civil;
pub mod decode;
pub mod encode;
pub mod fail;
pub mod filter;
pub mod keys;
pub mod plan;
pub mod pyfmt;
pub mod records;
pub mod route;
pub mod schema;
pub mod seen;
pub mod sender;
pub mod transforms;
pub mod tz;
pub mod value;

#[cfg(feature = "python")]
mod pyintake;
#[cfg(feature = "python")]
mod pyseen;
#[cfg(feature = "python")]
mod pysend;
#[cfg(feature = "python")]
mod python;
