//! minewatch's packet engine: packets in, flows and candidate mining messages out, as
//! Arrow. No Python runs per packet; Python gets record batches.

pub mod apps;
#[cfg(test)]
mod bench_parquet;
#[cfg(test)]
mod bench_stages;
pub mod bursts;
pub mod collector;
pub mod decode;
mod direct;
pub mod dns;
pub mod flow;
#[cfg(feature = "live")]
pub mod live;
pub mod netflow;
pub mod out;
pub mod p2p;
pub mod pairing;
pub mod parquet_file;
pub mod reader;
pub mod recv_many;
pub mod same_chunks;
pub mod sampling;
pub mod store;
mod store_columns;
pub mod storefirst;
pub mod stream;
pub mod tls;

#[cfg(feature = "python")]
mod python;
