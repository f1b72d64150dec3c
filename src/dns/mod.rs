//! Answering DNS queries: wire parsing, zone lookup, and the pure query → response function.
pub mod answer;
pub mod name;
pub mod wire;
