//! Projection lag math (in progress).
