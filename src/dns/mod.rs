//! dns (stub)
