//! Typed live queries and pages against in-process `instant-local`:
//! `subscribe_typed` yields decoded pages (stream, callback and blocking forms),
//! decode failures are typed errors with their JSON path, `query_typed_page`
//! walks cursors forward and backward, and `Date::now()` round-trips.
//!
//! Page info comes only with live-query results (`result-meta.page-info`,
//! `client/packages/admin/src/subscribe.ts` `formatPageInfo`; the server's
//! `page-info-of-form` in `server/src/instant/db/instaql.clj`), which is why
//! `query_typed_page` reads the first live result.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use instant_client::{Client, Error, Page, TypedSubscription};
use instant_core::{tx, Cursor, Date, Id, Order, Query, QueryNode, TypedQuery, Where};
use instant_local::LocalServer;
use serde::Deserialize;
use serde_json::json;

fn client(url: &str, app: &instant_local::AppCredentials) -> Client {
    Client::builder()
        .app_id(app.app_id.to_string())
        .admin_token(app.admin_token.as_str())
        .api_uri(url)
        .build()
        .unwrap()
}

#[derive(Debug, Deserialize, PartialEq, Clone)]
struct Todo {
    id: Id,
    title: String,
}

#[derive(Debug, Deserialize, PartialEq, Clone)]
struct Todos {
    todos: Vec<Todo>,
}

/// A hand-written typed query of `todos` (what `derive(Select)` generates,
/// without the macros): optional `where`, `first`/`after`, `last`/`before`.
#[derive(Clone, Default)]
struct TodosQuery {
    filter: Option<Where>,
    first: Option<u64>,
    after: Option<Cursor>,
    last: Option<u64>,
    before: Option<Cursor>,
}

impl TypedQuery for TodosQuery {
    type Output = Todos;
    fn to_query(&self) -> Result<Query, instant_core::Error> {
        let mut node = QueryNode::new();
        let paged = self.first.is_some() || self.last.is_some();
        if paged {
            node = node.order(Order::asc("serverCreatedAt"));
        }
        if let Some(f) = &self.filter {
            node = node.filter(f.clone());
        }
        node.options.first = self.first;
        node.options.after = self.after.clone();
        node.options.last = self.last;
        node.options.before = self.before.clone();
        Ok(Query::new().ns("todos", node))
    }
}

async fn next_page<T: serde::de::DeserializeOwned>(
    sub: &mut TypedSubscription<T>,
) -> Result<Page<T>, Error> {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(20), sub.next())
            .await
            .expect("an update within 20 s")
            .expect("the subscription is open");
        match item {
            // A reconnect in progress may report the lost connection; keep reading.
            Err(Error::Transport { .. }) | Err(Error::Timeout(_)) => continue,
            other => return other,
        }
    }
}

#[tokio::test]
async fn typed_subscription_yields_decoded_initial_result_and_updates() {
    let server = LocalServer::builder().start().await.unwrap();
    let app = server.create_app("typed-live").await.unwrap();
    let db = client(&server.url(), &app);
    let run = Id::new();
    db.transact(tx::entity("todos", run).update(json!({"title": "run"})))
        .await
        .unwrap();

    let mut live = db.subscribe_typed(&TodosQuery::default()).unwrap();
    let first = next_page(&mut live).await.unwrap();
    assert_eq!(
        first.data.todos,
        vec![Todo {
            id: run,
            title: "run".into()
        }]
    );
    // No order or page bound: no page info (`page-info-of-form`,
    // `server/src/instant/db/instaql.clj` lines 924-929).
    assert!(
        first.page_info.is_empty(),
        "nothing paginated: no page info"
    );

    let swim = Id::new();
    db.transact(tx::entity("todos", swim).update(json!({"title": "swim"})))
        .await
        .unwrap();
    let mut titles: Vec<String> = vec![];
    for _ in 0..5 {
        let p = next_page(&mut live).await.unwrap();
        titles = p.data.todos.iter().map(|t| t.title.clone()).collect();
        if titles.len() == 2 {
            break;
        }
    }
    assert_eq!(titles, ["run", "swim"]);
    live.close();
    assert!(live.next().await.is_none());

    // The callback form gets the same decoded pages.
    type Seen = Arc<Mutex<Vec<Result<Page<Todos>, Error>>>>;
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let handle = db
        .subscribe_typed_callback(&TodosQuery::default(), move |p| {
            sink.lock().unwrap().push(p)
        })
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().iter().all(|p| p.is_err()) {
        assert!(tokio::time::Instant::now() < deadline, "no callback page");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.close();
    let got = seen.lock().unwrap();
    let page = got.iter().find_map(|p| p.as_ref().ok()).unwrap();
    assert_eq!(page.data.todos.len(), 2);
}

#[tokio::test]
async fn decode_failures_are_typed_errors_with_their_path() {
    let server = LocalServer::builder().start().await.unwrap();
    let app = server.create_app("typed-live-decode").await.unwrap();
    let db = client(&server.url(), &app);
    // Two transactions, so the default order (serverCreatedAt) puts 42 second.
    db.transact(tx::entity("todos", Id::new()).update(json!({"title": "ok"})))
        .await
        .unwrap();
    db.transact(tx::entity("todos", Id::new()).update(json!({"title": 42})))
        .await
        .unwrap();

    let expect_path = |r: Result<Page<Todos>, Error>| match r {
        Err(Error::Decode { path, message }) => {
            assert_eq!(path, "todos[1].title");
            assert!(message.contains("invalid type"), "{message}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    };
    expect_path(db.query_typed_page(&TodosQuery::default()).await);
    // The one-shot typed query names the same path.
    match db.query_typed(&TodosQuery::default()).await {
        Err(Error::Decode { path, .. }) => assert_eq!(path, "todos[1].title"),
        other => panic!("{other:?}"),
    }
    let mut live = db.subscribe_typed(&TodosQuery::default()).unwrap();
    expect_path(next_page(&mut live).await);
    // The subscription goes on after a decode error: the next update (a third
    // todo) arrives, still failing at the same path, then a fix decodes.
    db.transact(tx::entity("todos", Id::new()).update(json!({"title": "x"})))
        .await
        .unwrap();
    expect_path(next_page(&mut live).await);
    let bad = db.query_raw(json!({"todos": {}})).await.unwrap()["todos"][1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    db.transact_raw(json!([["update", "todos", bad, {"title": "fixed"}]]))
        .await
        .unwrap();
    let fixed = loop {
        match next_page(&mut live).await {
            Ok(p) => break p,
            Err(Error::Decode { .. }) => continue,
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(fixed.data.todos[1].title, "fixed");
    live.close();
}

#[tokio::test]
async fn query_typed_page_walks_25_entities_forward_and_backward() {
    let server = LocalServer::builder().start().await.unwrap();
    let app = server.create_app("typed-pages").await.unwrap();
    let db = client(&server.url(), &app);
    let mut all = BTreeSet::new();
    for i in 0..25 {
        let id = Id::new();
        all.insert(id);
        db.transact(tx::entity("todos", id).update(json!({"title": format!("t{i:02}")})))
            .await
            .unwrap();
    }

    // Forward: first 10, then after the end cursor while there is a next page.
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut q = TodosQuery {
        first: Some(10),
        ..TodosQuery::default()
    };
    let last_page = loop {
        let page = db.query_typed_page(&q).await.unwrap();
        let info = page
            .page_info("todos")
            .expect("page info for todos")
            .clone();
        assert_eq!(info.has_previous_page, !seen.is_empty());
        sizes.push(page.data.todos.len());
        seen.extend(page.data.todos.iter().map(|t| t.id));
        match page.next_cursor("todos") {
            Some(c) => q.after = Some(c.clone()),
            None => break page,
        }
        assert!(sizes.len() < 10, "pagination does not end");
    };
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().copied().collect::<BTreeSet<_>>(), all);

    // Backward from the last page: last 10 before its start cursor, and so on.
    let mut back: Vec<Id> = last_page.data.todos.iter().map(|t| t.id).collect();
    let mut sizes = vec![back.len()];
    let mut cursor = last_page.previous_cursor("todos").cloned();
    while let Some(c) = cursor {
        let page = db
            .query_typed_page(&TodosQuery {
                last: Some(10),
                before: Some(c),
                ..TodosQuery::default()
            })
            .await
            .unwrap();
        let info = page.page_info("todos").unwrap();
        assert!(info.has_next_page, "a page before the last has a next page");
        sizes.push(page.data.todos.len());
        let mut ids: Vec<Id> = page.data.todos.iter().map(|t| t.id).collect();
        ids.extend(back);
        back = ids;
        cursor = page.previous_cursor("todos").cloned();
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, [5, 10, 10]);
    assert_eq!(
        back, seen,
        "backward pages list every entity once, in order"
    );
}

#[tokio::test]
async fn date_now_round_trips_through_instant_local() {
    let server = LocalServer::builder().start().await.unwrap();
    let app = server.create_app("typed-dates").await.unwrap();
    let db = client(&server.url(), &app);
    #[derive(Deserialize)]
    struct Ev {
        at: Date,
        due: Date,
    }
    #[derive(Deserialize)]
    struct Out {
        events: Vec<Ev>,
    }
    let now = Date::now();
    let due = now + Duration::from_secs(90);
    let id = Id::new();
    db.transact(tx::entity("events", id).update(json!({"at": now, "due": due.millis()})))
        .await
        .unwrap();
    let out: Out = db.query_raw_as(json!({"events": {}})).await.unwrap();
    assert_eq!(
        out.events[0].at, now,
        "a written Date::now() reads back equal"
    );
    assert_eq!(out.events[0].due, due, "epoch milliseconds read back equal");
    assert_eq!(
        (out.events[0].due - out.events[0].at).num_milliseconds(),
        90_000
    );
}

#[test]
fn blocking_typed_subscription_and_page() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (server, app) = rt.block_on(async {
        let server = LocalServer::builder().start().await.unwrap();
        let app = server.create_app("typed-blocking").await.unwrap();
        (server, app)
    });
    let db = instant_client::blocking::Client::builder()
        .app_id(app.app_id.to_string())
        .admin_token(app.admin_token.as_str())
        .api_uri(server.url())
        .build()
        .unwrap();
    let id = Id::new();
    db.transact(tx::entity("todos", id).update(json!({"title": "run"})))
        .unwrap();
    let mut live = db.subscribe_typed(&TodosQuery::default()).unwrap();
    let page = loop {
        match live.next_timeout(Duration::from_secs(20)).expect("open") {
            Ok(p) => break p,
            Err(Error::Transport { .. }) => continue,
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(page.data.todos[0].id, id);
    live.close();
    let page = db
        .query_typed_page(&TodosQuery {
            first: Some(1),
            ..TodosQuery::default()
        })
        .unwrap();
    assert_eq!(page.data.todos.len(), 1);
    assert!(!page.page_info("todos").unwrap().has_next_page);
    drop(db);
    drop(server);
}
