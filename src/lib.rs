//! instantdb facade
pub use instant_core as core;
