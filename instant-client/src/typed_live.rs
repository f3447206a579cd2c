//! Typed live queries and typed pages: [`Client::subscribe_typed`] yields
//! decoded [`Page<Q::Output>`](Page) items, and [`Client::query_typed_page`]
//! fetches one result together with its `pageInfo`, so cursor pagination works
//! without keeping a subscription open.
//!
//! **Where page info comes from.** Instant returns page info (start and end
//! cursors, has next / previous page) only in live-query results, under
//! `result-meta.page-info` of `add-query-ok` / `refresh-ok` (spec `instaql.md`
//! §6; `client/packages/admin/src/subscribe.ts`); `POST /admin/query` does not.
//! So [`Client::query_typed_page`] opens a subscription, takes its first result
//! and closes it: one request, as the official admin client's
//! `subscribeQuery` + first `pageInfo` would do.
//!
//! **One shape for both.** A page and a live update are the same thing, a decoded
//! result plus the page info of each paginated top-level namespace, so both are
//! a [`Page<T>`]. The untyped [`Client::subscribe_query_raw`] and
//! [`TypedSubscription::into_raw`] stay as the escape hatch.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use instant_core::{Cursor, PageInfo, TypedQuery};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::subscribe::{QueryUpdate, ReadyState, SessionInfo, Subscription, SubscriptionHandle};
use crate::{decode, Client, Error};

/// A decoded query result with the page info of each paginated top-level
/// namespace: what [`Client::query_typed_page`] returns and what a
/// [`TypedSubscription`] yields.
///
/// Page info is present for a top-level namespace queried with `order`,
/// `first`, `last`, `limit`, `offset`, `after` or `before` (the server's
/// `page-info-of-form`, `server/src/instant/db/instaql.clj`); the map is empty
/// for a query that uses none of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The decoded result (for a typed query, `Q::Output`).
    pub data: T,
    /// Page info by namespace (`"todos"` → cursors and has-next/previous).
    pub page_info: BTreeMap<String, PageInfo>,
}

impl<T> Page<T> {
    /// The page info of namespace `ns`, if it was paginated.
    pub fn page_info(&self, ns: &str) -> Option<&PageInfo> {
        self.page_info.get(ns)
    }

    /// The cursor to pass to `after` for the next page of `ns`: its end cursor
    /// when the server says a next page exists, else `None`.
    pub fn next_cursor(&self, ns: &str) -> Option<&Cursor> {
        self.page_info(ns)
            .filter(|p| p.has_next_page)
            .and_then(|p| p.end_cursor.as_ref())
    }

    /// The cursor to pass to `before` for the previous page of `ns`: its start
    /// cursor when the server says a previous page exists, else `None`.
    pub fn previous_cursor(&self, ns: &str) -> Option<&Cursor> {
        self.page_info(ns)
            .filter(|p| p.has_previous_page)
            .and_then(|p| p.start_cursor.as_ref())
    }

    /// The decoded result.
    pub fn into_data(self) -> T {
        self.data
    }
}

impl<T: DeserializeOwned> Page<T> {
    /// Decodes an untyped update into a page.
    ///
    /// # Errors
    /// [`Error::Decode`] naming the JSON path that does not fit `T`
    /// (`todos[3].title`), as [`Client::query_typed`]'s decode errors do.
    pub fn from_update(u: QueryUpdate) -> Result<Page<T>, Error> {
        Ok(Page {
            data: decode::decode_value(u.data)?,
            page_info: u.page_info.unwrap_or_default(),
        })
    }
}

/// A typed live query: a `Stream` of `Result<Page<T>, Error>`, each item the
/// full current result decoded into `T` (from [`Client::subscribe_typed`]).
///
/// Connection behaviour (reconnects, grace period, errors on the stream) is that
/// of [`Subscription`]. An update that does not decode into `T` arrives as an
/// [`Error::Decode`] item naming the JSON path; the subscription goes on.
#[derive(Debug)]
pub struct TypedSubscription<T> {
    inner: Subscription,
    _t: PhantomData<fn() -> T>,
}

impl<T> TypedSubscription<T> {
    /// Stops the subscription and closes the connection; the stream then ends.
    pub fn close(&mut self) {
        self.inner.close();
    }
    /// The connection state.
    pub fn ready_state(&self) -> ReadyState {
        self.inner.ready_state()
    }
    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
    /// The current server session, `None` while connecting.
    pub fn session_info(&self) -> Option<SessionInfo> {
        self.inner.session_info()
    }
    /// The `local_connection_id`, the same across reconnects.
    pub fn local_connection_id(&self) -> Uuid {
        self.inner.local_connection_id()
    }
    /// The untyped subscription underneath (yields [`QueryUpdate`]s).
    pub fn into_raw(self) -> Subscription {
        self.inner
    }
}

impl<T: DeserializeOwned> Stream for TypedSubscription<T> {
    type Item = Result<Page<T>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner
            .poll_next_unpin(cx)
            .map(|o| o.map(|r| r.and_then(Page::from_update)))
    }
}

impl Client {
    /// Subscribes to a typed query (from `derive(Select)` or any [`TypedQuery`])
    /// with `inference?: true`; every update is decoded into a
    /// [`Page<Q::Output>`](Page). Must be called inside a Tokio runtime.
    ///
    /// ```no_run
    /// # async fn demo<Q: instant_core::TypedQuery>(db: instant_client::Client, q: Q)
    /// # -> Result<(), instant_client::Error> where Q::Output: std::fmt::Debug {
    /// use futures::StreamExt;
    /// let mut live = db.subscribe_typed(&q)?;
    /// while let Some(page) = live.next().await {
    ///     println!("{:?}", page?.data);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Core`] when the query cannot be built; otherwise as
    /// [`subscribe_query_raw`](Self::subscribe_query_raw). Decode failures arrive
    /// on the stream as [`Error::Decode`] items.
    pub fn subscribe_typed<Q: TypedQuery>(
        &self,
        query: &Q,
    ) -> Result<TypedSubscription<Q::Output>, Error> {
        Ok(TypedSubscription {
            inner: self.subscribe_typed_raw(query)?,
            _t: PhantomData,
        })
    }

    /// The callback form of [`subscribe_typed`](Self::subscribe_typed): calls
    /// `callback` with every decoded page or error until the handle is closed or
    /// dropped. A panicking callback is caught and logged.
    ///
    /// # Errors
    /// As [`subscribe_typed`](Self::subscribe_typed).
    pub fn subscribe_typed_callback<Q: TypedQuery>(
        &self,
        query: &Q,
        mut callback: impl FnMut(Result<Page<Q::Output>, Error>) + Send + 'static,
    ) -> Result<SubscriptionHandle, Error>
    where
        Q::Output: Send + 'static,
    {
        let sub = self.subscribe_typed_raw(query)?;
        Ok(SubscriptionHandle::spawn(sub, move |item| {
            callback(item.and_then(Page::from_update))
        }))
    }

    /// Runs a typed query once and returns its decoded result with its page info,
    /// for cursor pagination without a subscription.
    ///
    /// Instant sends page info only with live-query results, so this opens a
    /// live query, takes its first result and closes it (see the
    /// [module docs](crate::typed_live)). Waits at most the client's
    /// [`timeout`](crate::ClientBuilder::timeout) plus the 5 s grace period of
    /// a lost connection.
    ///
    /// ```no_run
    /// # async fn demo(db: instant_client::Client) -> Result<(), instant_client::Error> {
    /// use instant_client::Page;
    /// use instant_core::{Query, QueryNode, TypedQuery};
    ///
    /// /// Ten todos per page, after `cursor` (a hand-written typed query; a
    /// /// `derive(Select)` query's `.first(10).after(cursor, false)` is the same).
    /// struct Todos(Option<instant_core::Cursor>);
    /// #[derive(serde::Deserialize)]
    /// struct Out { todos: Vec<Todo> }
    /// #[derive(serde::Deserialize)]
    /// struct Todo { title: String }
    /// impl TypedQuery for Todos {
    ///     type Output = Out;
    ///     fn to_query(&self) -> Result<Query, instant_core::Error> {
    ///         let mut node = QueryNode::new();
    ///         node.options.first = Some(10);
    ///         node.options.after = self.0.clone();
    ///         Ok(Query::new().ns("todos", node))
    ///     }
    /// }
    ///
    /// let mut cursor = None;
    /// loop {
    ///     let page: Page<Out> = db.query_typed_page(&Todos(cursor)).await?;
    ///     for t in &page.data.todos {
    ///         println!("{}", t.title);
    ///     }
    ///     match page.next_cursor("todos") {
    ///         Some(c) => cursor = Some(c.clone()),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Core`] when the query cannot be built; [`Error::Api`] for server
    /// errors (`validation-failed` for a malformed query or cursor,
    /// `permission-denied`, ...); [`Error::Decode`] naming the JSON path that does
    /// not fit `Q::Output`; [`Error::Timeout`] when no result came in time;
    /// transport and config errors as [`subscribe_typed`](Self::subscribe_typed).
    pub async fn query_typed_page<Q: TypedQuery>(
        &self,
        query: &Q,
    ) -> Result<Page<Q::Output>, Error> {
        let mut sub = self.subscribe_typed_raw(query)?;
        let wait = self.transport().timeout + crate::subscribe::ERROR_GRACE;
        let first = tokio::time::timeout(wait, sub.next()).await;
        sub.close();
        match first {
            Err(_) => Err(Error::Timeout(wait)),
            Ok(None) => Err(Error::transport(
                "the live query ended before its first result",
                None,
            )),
            Ok(Some(item)) => item.and_then(Page::from_update),
        }
    }
}
