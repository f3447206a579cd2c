//! Shared pieces of the three macros: error accumulation, attribute parsing
//! helpers, name conversions, and locating the runtime crate.

pub mod attr;
pub mod crate_path;
pub mod ctxt;
pub mod decode;
pub mod names;
