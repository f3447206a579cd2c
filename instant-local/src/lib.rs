//! placeholder
pub mod backup;
