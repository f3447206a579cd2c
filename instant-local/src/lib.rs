//! placeholder
pub mod files;
pub mod perms;
