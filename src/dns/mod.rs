//! Answering DNS queries: wire parsing, zone lookup, and the pure query → response function.
pub mod answer;
pub mod codes;
pub mod compress;
pub mod cookie;
pub mod name;
pub mod rdata;
mod sign;
pub mod wire;
