//! geo (stub)
