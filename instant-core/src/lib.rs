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
//! ## Modules and the spec they follow
//!
//! | module | what | spec (`/work/shared/spec`) / upstream source |
//! |---|---|---|
//! | [`id`] | [`Id`]: UUID entity ids | `instaml-steps.md` §3.1; `server/src/instant/util/uuid.clj` |
//! | [`value`] | [`AttrValue`] | `instaml-steps.md` §2, `semantics.md` §5 (typed attributes) |
//! | [`date`] | [`Date`]: epoch ms, arithmetic, `chrono` and (feature `time`) `time` conversions | `instaml-steps.md` §2; `server/src/instant/db/model/triple.clj` |
//! | [`lookup`] | [`Lookup`], [`EntityRef`], [`LinkTargets`] | `instaml-steps.md` §3; `server/src/instant/admin/model.clj` |
//! | [`steps`] | [`Step`], [`TransactRequest`] | `instaml-steps.md` §1–§5; `captured-requests.md` 1.2 |
//! | [`tx`] | the untyped builder `tx::entity(..).update(..)` | `client/packages/core/src/instatx.ts` |
//! | [`query`] | [`Query`], [`QueryNode`], [`QueryOptions`], [`QueryRequest`] | `instaql.md` §1–§6; `captured-requests.md` 1.1 |
//! | [`where_clause`] | [`Where`], [`Op`] | `instaql.md` §3; `server/src/instant/db/instaql.clj` |
//! | [`schema`] | [`Schema`] (client JSON), `ServerAttr` (server attr model) | `schema-and-platform.md` Parts A–B |
//! | [`perms`] | [`Rules`] | `schema-and-platform.md` Part D |
//! | [`perms_check`] | debug-endpoint bodies | `admin-http.md` §2.3–§2.4; `captured-requests.md` 1.5 |
//! | [`error`] | [`Error`] (decode), [`ApiError`] (server envelope) | `admin-http.md` §1.6; `server/src/instant/util/exception.clj` |
//! | [`typed`] | [`TypedQuery`], [`IntoSteps`]: contracts with `instant-macros` | — |
//!
//! ## Example
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

/// Implements `Serialize`/`Deserialize` for wire types through their
/// `to_json(&self) -> Value` and `from_json(&Value) -> Result<Self, Error>`, so
/// serde and the explicit decoders can never disagree.
macro_rules! json_serde {
    ($($t:ty),* $(,)?) => {$(
        impl ::serde::Serialize for $t {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                ::serde::Serialize::serialize(&self.to_json(), s)
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $t {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <::serde_json::Value as ::serde::Deserialize>::deserialize(d)?;
                <$t>::from_json(&v).map_err(::serde::de::Error::custom)
            }
        }
    )*};
}
pub(crate) use json_serde;

pub mod date;
pub mod error;
pub mod id;
pub mod lookup;
pub mod perms;
pub mod perms_check;
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
