//! Durable storage in SQLite: apps, attributes and triples, laid out after
//! Instant's own Postgres tables (`apps`, `attrs`, `triples` keyed like the `ea`
//! index). The query engine works on in-memory indexes built from these tables at
//! start-up (see `engine::state`); with a database file every committed
//! transaction is written here in one SQLite transaction before it is answered,
//! with an in-memory database by the background [`writer`].

pub mod apps;
pub mod deleted_attrs;
pub mod keys;
pub mod migrate;
pub mod sqlite;
pub mod triples;
pub mod writer;

#[cfg(test)]
mod tests;
