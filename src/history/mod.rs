//! Lag history store (in progress).
