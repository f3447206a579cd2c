//! Shared helpers for instant-local's integration tests: dataset files, temporary
//! folders, zipping a backup folder, and (in `server`) starting a `LocalServer` and
//! talking to it over HTTP.
#![allow(dead_code)]

pub mod data;
pub mod fixtures;
pub mod server;
