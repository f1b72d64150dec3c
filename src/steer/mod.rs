//! steer (stub)
