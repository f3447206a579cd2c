//! The one helper module of instant-local's integration tests (`mod common;`):
//! dataset files (`data`), temporary folders and zipped backups (`fixtures`),
//! one shared `LocalServer` per test binary with an Admin-API client
//! (`server`), and a server of its own per test (`env`).
#![allow(dead_code, unused_imports)]

pub mod data;
pub mod env;
pub mod fixtures;
pub mod server;
