//! Health checking (placeholder until the checker lands): the shared health view.
pub mod view;
