//! The blocking API (feature `blocking`), for scripts and non-async code, in the
//! spirit of `reqwest::blocking`: the same calls as the async [`crate::Client`] and
//! [`crate::PlatformApi`], each waiting for its answer; live queries are an
//! [`Iterator`].
//!
//! Each blocking client owns a small Tokio runtime (one worker thread) shared by its
//! clones. Calling it from inside an async runtime returns [`Error::Config`]
//! instead of deadlocking: use the async client there.
//!
//! ```no_run
//! use instant_client::blocking::Client;
//! use serde_json::json;
//!
//! let db = Client::builder()
//!     .app_id("11111111-1111-4111-8111-111111111111")
//!     .admin_token("22222222-2222-4222-8222-222222222222")
//!     .api_uri("http://127.0.0.1:8888")
//!     .build()?;
//! let goals = db.query_raw(json!({"goals": {}}))?;
//! for update in db.subscribe_query_raw(json!({"goals": {}}))?.take(2) {
//!     println!("{:?}", update?.data);
//! }
//! # let _ = goals; Ok::<(), instant_client::Error>(())
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use instant_core::{Id, IntoSteps, JsonObject, Query, Rules, Schema, TypedQuery};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::runtime::Runtime;

use crate::{
    App, AsUser, BatchOptions, BatchProgress, BatchReport, CreateApp, DebugOptions,
    DebugQueryResult, DebugTransactResult, Error, FileRecord, IndexingJob, LegacyFileInfo, Page,
    PresenceSession, QueryUpdate, ReadyState, SchemaPlan, SchemaPush, Secret, SessionInfo, SignIn,
    TemporaryApp, TransactOptions, UploadOptions, UploadedFile, User, UserKey, UserLookup,
};

#[derive(Debug, Clone)]
struct Rt(Arc<OwnedRuntime>);

/// Shuts the runtime down in the background on drop, so dropping the last blocking
/// handle is fine anywhere (even inside another runtime).
#[derive(Debug)]
struct OwnedRuntime(Option<Runtime>);

impl OwnedRuntime {
    fn get(&self) -> &Runtime {
        self.0.as_ref().expect("runtime present until drop")
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl Rt {
    fn new() -> Result<Self, Error> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("instant-client-blocking")
            .enable_all()
            .build()
            .map(|r| Rt(Arc::new(OwnedRuntime(Some(r)))))
            .map_err(|e| Error::config(format!("could not start the blocking runtime: {e}")))
    }

    fn block<T>(&self, f: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::config(
                "the blocking client was called inside an async runtime; use the async Client",
            ));
        }
        self.0.get().block_on(f)
    }
}

/// Builds a blocking [`Client`]; same options as [`crate::ClientBuilder`].
#[derive(Debug, Clone, Default)]
pub struct ClientBuilder {
    inner: crate::ClientBuilder,
}

impl ClientBuilder {
    /// See [`crate::ClientBuilder::from_env`].
    ///
    /// # Errors
    /// As [`crate::ClientBuilder::from_env`].
    pub fn from_env() -> Result<Self, Error> {
        Ok(ClientBuilder {
            inner: crate::ClientBuilder::from_env()?,
        })
    }
    /// See [`crate::ClientBuilder::app_id`].
    pub fn app_id(self, app_id: impl Into<String>) -> Self {
        ClientBuilder {
            inner: self.inner.app_id(app_id),
        }
    }
    /// See [`crate::ClientBuilder::admin_token`].
    pub fn admin_token(self, token: impl Into<Secret>) -> Self {
        ClientBuilder {
            inner: self.inner.admin_token(token),
        }
    }
    /// See [`crate::ClientBuilder::api_uri`].
    pub fn api_uri(self, uri: impl Into<String>) -> Self {
        ClientBuilder {
            inner: self.inner.api_uri(uri),
        }
    }
    /// See [`crate::ClientBuilder::timeout`].
    pub fn timeout(self, t: Duration) -> Self {
        ClientBuilder {
            inner: self.inner.timeout(t),
        }
    }
    /// See [`crate::ClientBuilder::max_retries`].
    pub fn max_retries(self, n: u32) -> Self {
        ClientBuilder {
            inner: self.inner.max_retries(n),
        }
    }
    /// See [`crate::ClientBuilder::attempt_timeout`].
    pub fn attempt_timeout(self, t: Duration) -> Self {
        ClientBuilder {
            inner: self.inner.attempt_timeout(t),
        }
    }
    /// See [`crate::ClientBuilder::idle_timeout`].
    pub fn idle_timeout(self, t: Duration) -> Self {
        ClientBuilder {
            inner: self.inner.idle_timeout(t),
        }
    }
    /// See [`crate::ClientBuilder::max_response_bytes`].
    pub fn max_response_bytes(self, n: u64) -> Self {
        ClientBuilder {
            inner: self.inner.max_response_bytes(n),
        }
    }
    /// See [`crate::ClientBuilder::max_event_bytes`].
    pub fn max_event_bytes(self, n: usize) -> Self {
        ClientBuilder {
            inner: self.inner.max_event_bytes(n),
        }
    }
    /// See [`crate::ClientBuilder::max_json_depth`].
    pub fn max_json_depth(self, n: usize) -> Self {
        ClientBuilder {
            inner: self.inner.max_json_depth(n),
        }
    }
    /// See [`crate::ClientBuilder::reconnect_min_delay`].
    pub fn reconnect_min_delay(self, d: Duration) -> Self {
        ClientBuilder {
            inner: self.inner.reconnect_min_delay(d),
        }
    }
    /// See [`crate::ClientBuilder::reconnect_max_delay`].
    pub fn reconnect_max_delay(self, d: Duration) -> Self {
        ClientBuilder {
            inner: self.inner.reconnect_max_delay(d),
        }
    }
    /// See [`crate::ClientBuilder::max_reconnect_attempts`].
    pub fn max_reconnect_attempts(self, n: u32) -> Self {
        ClientBuilder {
            inner: self.inner.max_reconnect_attempts(n),
        }
    }
    /// See [`crate::ClientBuilder::inference`].
    pub fn inference(self, on: bool) -> Self {
        ClientBuilder {
            inner: self.inner.inference(on),
        }
    }
    /// See [`crate::ClientBuilder::throw_on_missing_attrs`].
    pub fn throw_on_missing_attrs(self, on: bool) -> Self {
        ClientBuilder {
            inner: self.inner.throw_on_missing_attrs(on),
        }
    }
    /// Builds the client and its runtime.
    ///
    /// # Errors
    /// As [`crate::ClientBuilder::build`].
    pub fn build(self) -> Result<Client, Error> {
        let rt = Rt::new()?;
        let inner = {
            let _g = rt.0.get().enter();
            self.inner.build()?
        };
        Ok(Client { inner, rt })
    }
}

/// The blocking Admin client (see the module docs). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    inner: crate::Client,
    rt: Rt,
}

impl Client {
    /// A new [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from `INSTANT_APP_ID`, `INSTANT_APP_ADMIN_TOKEN`, `INSTANT_API_URI`.
    ///
    /// # Errors
    /// As [`crate::Client::from_env`].
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }

    /// The async client underneath (shares the pool; use it inside async code).
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// The app id.
    pub fn app_id(&self) -> Id {
        self.inner.app_id()
    }

    /// The API base URL.
    pub fn api_uri(&self) -> &str {
        self.inner.api_uri()
    }

    /// See [`crate::Client::as_user`].
    pub fn as_user(&self, user: AsUser) -> Client {
        Client {
            inner: self.inner.as_user(user),
            rt: self.rt.clone(),
        }
    }

    /// See [`crate::Client::query_raw`].
    ///
    /// # Errors
    /// As the async call.
    pub fn query_raw(&self, query: Value) -> Result<Value, Error> {
        self.rt.block(self.inner.query_raw(query))
    }

    /// See [`crate::Client::query_raw_as`].
    ///
    /// # Errors
    /// As the async call.
    pub fn query_raw_as<T: DeserializeOwned>(&self, query: Value) -> Result<T, Error> {
        self.rt.block(self.inner.query_raw_as(query))
    }

    /// See [`crate::Client::query`].
    ///
    /// # Errors
    /// As the async call.
    pub fn query(&self, query: &Query) -> Result<Value, Error> {
        self.rt.block(self.inner.query(query))
    }

    /// See [`crate::Client::query_as`].
    ///
    /// # Errors
    /// As the async call.
    pub fn query_as<T: DeserializeOwned>(&self, query: &Query) -> Result<T, Error> {
        self.rt.block(self.inner.query_as(query))
    }

    /// See [`crate::Client::query_typed`].
    ///
    /// # Errors
    /// As the async call.
    pub fn query_typed<Q: TypedQuery>(&self, query: &Q) -> Result<Q::Output, Error> {
        self.rt.block(self.inner.query_typed(query))
    }

    /// See [`crate::Client::query_with_rule_params`].
    ///
    /// # Errors
    /// As the async call.
    pub fn query_with_rule_params(&self, query: Value, rp: JsonObject) -> Result<Value, Error> {
        self.rt.block(self.inner.query_with_rule_params(query, rp))
    }

    /// See [`crate::Client::transact`].
    ///
    /// # Errors
    /// As the async call.
    pub fn transact(&self, steps: impl IntoSteps) -> Result<i64, Error> {
        self.rt.block(self.inner.transact(steps))
    }

    /// See [`crate::Client::transact_strict`].
    ///
    /// # Errors
    /// As the async call.
    pub fn transact_strict(&self, steps: impl IntoSteps) -> Result<i64, Error> {
        self.rt.block(self.inner.transact_strict(steps))
    }

    /// See [`crate::Client::transact_with`].
    ///
    /// # Errors
    /// As the async call.
    pub fn transact_with(
        &self,
        steps: impl IntoSteps,
        opts: TransactOptions,
    ) -> Result<i64, Error> {
        self.rt.block(self.inner.transact_with(steps, opts))
    }

    /// See [`crate::Client::transact_raw`].
    ///
    /// # Errors
    /// As the async call.
    pub fn transact_raw(&self, steps: Value) -> Result<i64, Error> {
        self.rt.block(self.inner.transact_raw(steps))
    }

    /// See [`crate::Client::transact_batched`].
    ///
    /// # Errors
    /// As the async call.
    pub fn transact_batched(
        &self,
        steps: impl IntoSteps,
        opts: BatchOptions,
        on_progress: impl FnMut(&BatchProgress),
    ) -> Result<BatchReport, Error> {
        self.rt
            .block(self.inner.transact_batched(steps, opts, on_progress))
    }

    /// See [`crate::Client::debug_query`].
    ///
    /// # Errors
    /// As the async call.
    pub fn debug_query(&self, q: &Query, opts: &DebugOptions) -> Result<DebugQueryResult, Error> {
        self.rt.block(self.inner.debug_query(q, opts))
    }

    /// See [`crate::Client::debug_transact`].
    ///
    /// # Errors
    /// As the async call.
    pub fn debug_transact(
        &self,
        steps: impl IntoSteps,
        opts: &DebugOptions,
    ) -> Result<DebugTransactResult, Error> {
        self.rt.block(self.inner.debug_transact(steps, opts))
    }

    /// See [`crate::Client::soft_deleted_attrs`].
    ///
    /// # Errors
    /// As the async call.
    pub fn soft_deleted_attrs(&self) -> Result<crate::SoftDeletedAttrs, Error> {
        self.rt.block(self.inner.soft_deleted_attrs())
    }

    fn wrap(
        &self,
        f: impl FnOnce() -> Result<crate::Subscription, Error>,
    ) -> Result<Subscription, Error> {
        let _g = self.rt.0.get().enter();
        Ok(Subscription {
            inner: f()?,
            rt: self.rt.clone(),
        })
    }

    /// See [`crate::Client::subscribe_query_raw`]; updates come from the iterator.
    ///
    /// # Errors
    /// As the async call.
    pub fn subscribe_query_raw(&self, query: Value) -> Result<Subscription, Error> {
        self.wrap(|| self.inner.subscribe_query_raw(query))
    }

    /// See [`crate::Client::subscribe_query`].
    ///
    /// # Errors
    /// As the async call.
    pub fn subscribe_query(&self, query: &Query) -> Result<Subscription, Error> {
        self.wrap(|| self.inner.subscribe_query(query))
    }

    /// See [`crate::Client::subscribe_typed`]: decoded pages come from the
    /// iterator.
    ///
    /// # Errors
    /// As the async call.
    pub fn subscribe_typed<Q: TypedQuery>(
        &self,
        query: &Q,
    ) -> Result<TypedSubscription<Q::Output>, Error> {
        let _g = self.rt.0.get().enter();
        Ok(TypedSubscription {
            inner: self.inner.subscribe_typed(query)?,
            rt: self.rt.clone(),
        })
    }

    /// See [`crate::Client::subscribe_typed_raw`] (untyped updates).
    ///
    /// # Errors
    /// As the async call.
    pub fn subscribe_typed_raw<Q: TypedQuery>(&self, query: &Q) -> Result<Subscription, Error> {
        self.wrap(|| self.inner.subscribe_typed_raw(query))
    }

    /// See [`crate::Client::query_typed_page`]: one result with its page info.
    ///
    /// # Errors
    /// As the async call.
    pub fn query_typed_page<Q: TypedQuery>(&self, query: &Q) -> Result<Page<Q::Output>, Error> {
        self.rt.block(self.inner.query_typed_page(query))
    }

    /// The auth API.
    pub fn auth(&self) -> Auth {
        Auth {
            inner: self.inner.auth(),
            rt: self.rt.clone(),
        }
    }

    /// The rooms API.
    pub fn rooms(&self) -> Rooms {
        Rooms {
            inner: self.inner.rooms(),
            rt: self.rt.clone(),
        }
    }

    /// The storage API.
    pub fn storage(&self) -> Storage {
        Storage {
            inner: self.inner.storage(),
            rt: self.rt.clone(),
        }
    }

    /// See [`crate::Client::platform`].
    ///
    /// # Errors
    /// [`Error::Config`] without an admin token.
    pub fn platform(&self) -> Result<PlatformApi, Error> {
        Ok(PlatformApi {
            inner: self.inner.platform()?,
            rt: self.rt.clone(),
        })
    }
}

/// A live query as an iterator of `Result<QueryUpdate, Error>`; `next` waits for
/// the next update. Dropping it closes the connection.
#[derive(Debug)]
pub struct Subscription {
    inner: crate::Subscription,
    rt: Rt,
}

impl Subscription {
    /// Waits at most `timeout` for the next item: `None` when the subscription has
    /// ended, `Some(Err(Error::Timeout))` when nothing came in time.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<QueryUpdate, Error>> {
        let inner = &mut self.inner;
        let r = self
            .rt
            .block(async move { Ok(tokio::time::timeout(timeout, inner.next()).await) });
        match r {
            Ok(Ok(item)) => item,
            Ok(Err(_)) => Some(Err(Error::Timeout(timeout))),
            Err(e) => Some(Err(e)),
        }
    }
    /// Stops the subscription.
    pub fn close(&mut self) {
        self.inner.close();
    }
    /// The connection state.
    pub fn ready_state(&self) -> ReadyState {
        self.inner.ready_state()
    }
    /// The current server session.
    pub fn session_info(&self) -> Option<SessionInfo> {
        self.inner.session_info()
    }
}

impl Iterator for Subscription {
    type Item = Result<QueryUpdate, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        let inner = &mut self.inner;
        match self.rt.block(async move { Ok(inner.next().await) }) {
            Ok(item) => item,
            Err(e) => Some(Err(e)),
        }
    }
}

/// A typed live query as an iterator of `Result<Page<T>, Error>` (see
/// [`crate::TypedSubscription`]); `next` waits for the next update. Dropping it
/// closes the connection.
#[derive(Debug)]
pub struct TypedSubscription<T> {
    inner: crate::TypedSubscription<T>,
    rt: Rt,
}

impl<T: DeserializeOwned> TypedSubscription<T> {
    /// Waits at most `timeout` for the next item: `None` when the subscription has
    /// ended, `Some(Err(Error::Timeout))` when nothing came in time.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<Page<T>, Error>> {
        let inner = &mut self.inner;
        let r = self
            .rt
            .block(async move { Ok(tokio::time::timeout(timeout, inner.next()).await) });
        match r {
            Ok(Ok(item)) => item,
            Ok(Err(_)) => Some(Err(Error::Timeout(timeout))),
            Err(e) => Some(Err(e)),
        }
    }
}

impl<T> TypedSubscription<T> {
    /// Stops the subscription.
    pub fn close(&mut self) {
        self.inner.close();
    }
    /// The connection state.
    pub fn ready_state(&self) -> ReadyState {
        self.inner.ready_state()
    }
    /// The current server session.
    pub fn session_info(&self) -> Option<SessionInfo> {
        self.inner.session_info()
    }
}

impl<T: DeserializeOwned> Iterator for TypedSubscription<T> {
    type Item = Result<Page<T>, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        let inner = &mut self.inner;
        match self.rt.block(async move { Ok(inner.next().await) }) {
            Ok(item) => item,
            Err(e) => Some(Err(e)),
        }
    }
}

/// Blocking [`crate::Auth`].
#[derive(Debug, Clone)]
pub struct Auth {
    inner: crate::Auth,
    rt: Rt,
}

impl Auth {
    /// See [`crate::Auth::create_token`].
    ///
    /// # Errors
    /// As the async call.
    pub fn create_token(&self, key: impl Into<UserKey>) -> Result<Secret, Error> {
        self.rt.block(self.inner.create_token(key))
    }
    /// See [`crate::Auth::create_token_with`].
    ///
    /// # Errors
    /// As the async call.
    pub fn create_token_with(
        &self,
        key: impl Into<UserKey>,
        extra_fields: Option<JsonObject>,
    ) -> Result<SignIn, Error> {
        self.rt
            .block(self.inner.create_token_with(key, extra_fields))
    }
    /// See [`crate::Auth::verify_token`].
    ///
    /// # Errors
    /// As the async call.
    pub fn verify_token(&self, refresh_token: &str) -> Result<User, Error> {
        self.rt.block(self.inner.verify_token(refresh_token))
    }
    /// See [`crate::Auth::get_user`].
    ///
    /// # Errors
    /// As the async call.
    pub fn get_user(&self, lookup: impl Into<UserLookup>) -> Result<Option<User>, Error> {
        self.rt.block(self.inner.get_user(lookup))
    }
    /// See [`crate::Auth::delete_user`].
    ///
    /// # Errors
    /// As the async call.
    pub fn delete_user(&self, lookup: impl Into<UserLookup>) -> Result<Option<User>, Error> {
        self.rt.block(self.inner.delete_user(lookup))
    }
    /// See [`crate::Auth::sign_out`].
    ///
    /// # Errors
    /// As the async call.
    pub fn sign_out(&self, lookup: impl Into<UserLookup>) -> Result<(), Error> {
        self.rt.block(self.inner.sign_out(lookup))
    }
    /// See [`crate::Auth::generate_magic_code`].
    ///
    /// # Errors
    /// As the async call.
    pub fn generate_magic_code(&self, email: &str) -> Result<String, Error> {
        self.rt.block(self.inner.generate_magic_code(email))
    }
    /// See [`crate::Auth::send_magic_code`].
    ///
    /// # Errors
    /// As the async call.
    pub fn send_magic_code(&self, email: &str) -> Result<String, Error> {
        self.rt.block(self.inner.send_magic_code(email))
    }
    /// See [`crate::Auth::verify_magic_code`].
    ///
    /// # Errors
    /// As the async call.
    pub fn verify_magic_code(&self, email: &str, code: &str) -> Result<SignIn, Error> {
        self.rt.block(self.inner.verify_magic_code(email, code))
    }
}

/// Blocking [`crate::Rooms`].
#[derive(Debug, Clone)]
pub struct Rooms {
    inner: crate::Rooms,
    rt: Rt,
}

impl Rooms {
    /// See [`crate::Rooms::get_presence`].
    ///
    /// # Errors
    /// As the async call.
    pub fn get_presence(
        &self,
        room_type: &str,
        room_id: &str,
    ) -> Result<BTreeMap<String, PresenceSession>, Error> {
        self.rt.block(self.inner.get_presence(room_type, room_id))
    }
}

/// Blocking [`crate::Storage`].
#[derive(Debug, Clone)]
pub struct Storage {
    inner: crate::Storage,
    rt: Rt,
}

impl Storage {
    /// See [`crate::Storage::upload`].
    ///
    /// # Errors
    /// As the async call.
    pub fn upload(
        &self,
        path: &str,
        bytes: impl Into<Bytes>,
        opts: UploadOptions,
    ) -> Result<UploadedFile, Error> {
        self.rt.block(self.inner.upload(path, bytes, opts))
    }
    /// See [`crate::Storage::upload_file`].
    ///
    /// # Errors
    /// As the async call.
    pub fn upload_file(
        &self,
        path: &str,
        file: impl AsRef<Path>,
        opts: UploadOptions,
    ) -> Result<UploadedFile, Error> {
        self.rt.block(self.inner.upload_file(path, file, opts))
    }
    /// See [`crate::Storage::list`].
    ///
    /// # Errors
    /// As the async call.
    pub fn list(&self) -> Result<Vec<FileRecord>, Error> {
        self.rt.block(self.inner.list())
    }
    /// See [`crate::Storage::delete`].
    ///
    /// # Errors
    /// As the async call.
    pub fn delete(&self, path: &str) -> Result<i64, Error> {
        self.rt.block(self.inner.delete(path))
    }
    /// See [`crate::Storage::delete_many`].
    ///
    /// # Errors
    /// As the async call.
    pub fn delete_many<S: AsRef<str>>(&self, paths: &[S]) -> Result<i64, Error> {
        self.rt.block(self.inner.delete_many(paths))
    }
    /// See [`crate::Storage::delete_legacy`].
    ///
    /// # Errors
    /// As the async call.
    pub fn delete_legacy(&self, filename: &str) -> Result<Option<Id>, Error> {
        self.rt.block(self.inner.delete_legacy(filename))
    }
    /// See [`crate::Storage::delete_many_legacy`].
    ///
    /// # Errors
    /// As the async call.
    pub fn delete_many_legacy<S: AsRef<str>>(&self, filenames: &[S]) -> Result<Vec<Id>, Error> {
        self.rt.block(self.inner.delete_many_legacy(filenames))
    }
    /// See [`crate::Storage::list_legacy`].
    ///
    /// # Errors
    /// As the async call.
    pub fn list_legacy(&self) -> Result<Vec<LegacyFileInfo>, Error> {
        self.rt.block(self.inner.list_legacy())
    }
    /// See [`crate::Storage::download_url`].
    ///
    /// # Errors
    /// As the async call.
    pub fn download_url(&self, filename: &str) -> Result<String, Error> {
        self.rt.block(self.inner.download_url(filename))
    }
}

/// Builds a blocking [`PlatformApi`]; same options as [`crate::PlatformBuilder`].
#[derive(Debug, Clone, Default)]
pub struct PlatformBuilder {
    inner: crate::PlatformBuilder,
}

impl PlatformBuilder {
    /// See [`crate::PlatformBuilder::token`].
    pub fn token(self, token: impl Into<Secret>) -> Self {
        PlatformBuilder {
            inner: self.inner.token(token),
        }
    }
    /// See [`crate::PlatformBuilder::api_uri`].
    pub fn api_uri(self, uri: impl Into<String>) -> Self {
        PlatformBuilder {
            inner: self.inner.api_uri(uri),
        }
    }
    /// See [`crate::PlatformBuilder::timeout`].
    pub fn timeout(self, t: Duration) -> Self {
        PlatformBuilder {
            inner: self.inner.timeout(t),
        }
    }
    /// Builds the handle and its runtime.
    ///
    /// # Errors
    /// As [`crate::PlatformBuilder::build`].
    pub fn build(self) -> Result<PlatformApi, Error> {
        let rt = Rt::new()?;
        let inner = {
            let _g = rt.0.get().enter();
            self.inner.build()?
        };
        Ok(PlatformApi { inner, rt })
    }
}

/// Blocking [`crate::PlatformApi`].
#[derive(Debug, Clone)]
pub struct PlatformApi {
    inner: crate::PlatformApi,
    rt: Rt,
}

impl PlatformApi {
    /// A new [`PlatformBuilder`].
    pub fn builder() -> PlatformBuilder {
        PlatformBuilder::default()
    }
    /// See [`crate::PlatformApi::create_temporary_app`].
    ///
    /// # Errors
    /// As the async call.
    pub fn create_temporary_app(
        &self,
        title: &str,
        schema: Option<&Schema>,
        perms: Option<&Rules>,
    ) -> Result<TemporaryApp, Error> {
        self.rt
            .block(self.inner.create_temporary_app(title, schema, perms))
    }
    /// See [`crate::PlatformApi::create_app`].
    ///
    /// # Errors
    /// As the async call.
    pub fn create_app(&self, app: &CreateApp) -> Result<App, Error> {
        self.rt.block(self.inner.create_app(app))
    }
    /// See [`crate::PlatformApi::list_apps`].
    ///
    /// # Errors
    /// As the async call.
    pub fn list_apps(&self, include_perms: bool, include_schema: bool) -> Result<Vec<App>, Error> {
        self.rt
            .block(self.inner.list_apps(include_perms, include_schema))
    }
    /// See [`crate::PlatformApi::get_app`].
    ///
    /// # Errors
    /// As the async call.
    pub fn get_app(&self, app_id: Id) -> Result<App, Error> {
        self.rt.block(self.inner.get_app(app_id))
    }
    /// See [`crate::PlatformApi::rename_app`].
    ///
    /// # Errors
    /// As the async call.
    pub fn rename_app(&self, app_id: Id, title: &str) -> Result<App, Error> {
        self.rt.block(self.inner.rename_app(app_id, title))
    }
    /// See [`crate::PlatformApi::delete_app`].
    ///
    /// # Errors
    /// As the async call.
    pub fn delete_app(&self, app_id: Id) -> Result<App, Error> {
        self.rt.block(self.inner.delete_app(app_id))
    }
    /// See [`crate::PlatformApi::pull_schema`].
    ///
    /// # Errors
    /// As the async call.
    pub fn pull_schema(&self, app_id: Id) -> Result<Schema, Error> {
        self.rt.block(self.inner.pull_schema(app_id))
    }
    /// See [`crate::PlatformApi::pull_schema_raw`].
    ///
    /// # Errors
    /// As the async call.
    pub fn pull_schema_raw(&self, app_id: Id) -> Result<Value, Error> {
        self.rt.block(self.inner.pull_schema_raw(app_id))
    }
    /// See [`crate::PlatformApi::plan_schema_push`].
    ///
    /// # Errors
    /// As the async call.
    pub fn plan_schema_push(&self, app_id: Id, schema: &Schema) -> Result<SchemaPlan, Error> {
        self.rt.block(self.inner.plan_schema_push(app_id, schema))
    }
    /// See [`crate::PlatformApi::push_schema`].
    ///
    /// # Errors
    /// As the async call.
    pub fn push_schema(
        &self,
        app_id: Id,
        schema: &Schema,
        on_progress: impl FnMut(&[IndexingJob]),
    ) -> Result<SchemaPush, Error> {
        self.rt
            .block(self.inner.push_schema(app_id, schema, on_progress))
    }
    /// See [`crate::PlatformApi::pull_perms`].
    ///
    /// # Errors
    /// As the async call.
    pub fn pull_perms(&self, app_id: Id) -> Result<Option<Rules>, Error> {
        self.rt.block(self.inner.pull_perms(app_id))
    }
    /// See [`crate::PlatformApi::push_perms`].
    ///
    /// # Errors
    /// As the async call.
    pub fn push_perms(&self, app_id: Id, rules: &Rules) -> Result<Rules, Error> {
        self.rt.block(self.inner.push_perms(app_id, rules))
    }
}
