//! One-way flow-export records paired into two-way flows.
//!
//! An exporter reports each direction of a connection as its own record. Records pair by
//! reversed 5-tuple within one exporter, first with first (a connection re-exported every
//! active timeout pairs record by record). Which end is the client is decided, in order,
//! by: an ephemeral port (>= 32768) against a lower one; a port of 1024 or more against a
//! system port; the earlier start; the higher port. RFC 5103 biflow records (reverse
//! counts present) already carry both directions, the initiator as source.
//!
//! Records arrive over time (the collector), so a record left alone in one batch is held
//! for the next, where its other half may come; held once, it goes on alone. At most
//! `max_held` records wait.
//!
//! `records` holds records and flows and decides the client; `shared` pairs; `text` reads and writes Arrow batches of text addresses (Python's
//! `Pairer`); `numeric` pairs the store-first collector's numeric records.

mod numeric;
mod records;
mod shared;
mod text;

pub use numeric::NumericPairer;
pub use shared::{Address, Flow, FlowSink, Rec};
pub use text::{paired_schema, records_from_batch, OneWay, Pairer};
