//! Durable storage in SQLite: apps, attributes and triples, laid out like Instant's
//! own Postgres tables (`apps`, `attrs`, `triples` with `ea`/`av`/`vae` flags and
//! partial indexes). The query engine works on an in-memory index built from these
//! tables at start-up (see `engine::state`); every committed transaction is written
//! here first in one SQLite transaction.

pub mod apps;
pub mod sqlite;
