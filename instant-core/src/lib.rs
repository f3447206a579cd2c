//! # instant-core: the Instant wire model
//!
//! Rust types for everything the Instant (InstantDB) Admin and Platform HTTP APIs
//! exchange, with no I/O: entity [`Id`]s and [`Lookup`]s, transaction [`Step`]s
//! (InstaML), the InstaQL [`Query`] tree with its [`Where`] filters, the [`Schema`]
//! and permission [`Rules`] JSON, attribute values, and the server's error envelope
//! ([`ApiError`]).
//!
//! Every type serialises to exactly the JSON that the official `@instantdb/admin`
//! client sends (see the captured requests pinned in this crate's tests), and decodes
//! from that JSON with typed [`Error`]s instead of panics, so the same types serve a
//! client (`instant-client`) and a server (`instant-local`).
//!
//! ```
//! use instant_core::{tx, Id, Query, Where, Order};
//! use serde_json::json;
//!
//! let goal = Id::new();
//! let todo = Id::new();
//! let steps = tx::entity("goals", goal)
//!     .update(json!({"title": "Get fit"}))
//!     .link("todos", todo)
//!     .into_steps()
//!     .unwrap();
//! assert_eq!(steps.len(), 2);
//!
//! let q = Query::new().ns(
//!     "goals",
//!     instant_core::QueryNode::new()
//!         .filter(Where::eq("title", "Get fit"))
//!         .order(Order::desc("serverCreatedAt"))
//!         .limit(10)
//!         .child("todos", instant_core::QueryNode::new()),
//! );
//! assert_eq!(
//!     q.to_json()["goals"]["$"]["where"],
//!     json!({"title": "Get fit"})
//! );
//! ```

pub mod error;
pub mod id;
pub mod lookup;
pub mod perms;
pub mod query;
pub mod schema;
pub mod steps;
pub mod tx;
pub mod typed;
pub mod value;
pub mod where_clause;

pub use error::{ApiError, Error, ErrorKind};
pub use id::Id;
pub use lookup::{EntityRef, LinkTargets, Lookup};
pub use perms::{NamespaceRules, Rules};
pub use query::{
    Cursor, Order, OrderDirection, PageInfo, Query, QueryNode, QueryOptions, QueryRequest,
};
pub use schema::{AttrDef, EntityDef, Has, LinkDef, LinkSide, OnDelete, Schema, ValueType};
pub use steps::{Step, TransactRequest, TransactResponse, UpdateOpts};
pub use typed::{Filter, IntoSteps, Json, Multi, OrderBy, Rows, SchemaDef, Selection, TypedQuery};
pub use value::{AttrValue, Date};
pub use where_clause::{Cond, Op, Where};

/// Re-export of `serde_json`, whose `Value` is the attribute value type on the wire.
pub use serde_json;
/// A JSON object (`serde_json::Map<String, Value>`), the shape of attribute maps.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;
