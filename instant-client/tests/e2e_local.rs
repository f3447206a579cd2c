//! End to end against `instant-local` (in-process, loopback): queries,
//! transactions, a live subscription update, a reconnect after the server drops the
//! stream, and a temporary app.

use std::time::Duration;

use futures::StreamExt;
use instant_client::{Client, Error, ErrorKind, PlatformApi, QueryUpdate, Subscription};
use instant_core::{tx, Id, Query, QueryNode, Where};
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

async fn next(sub: &mut Subscription) -> QueryUpdate {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(15), sub.next())
            .await
            .expect("an update within 15 s")
            .expect("the subscription is open");
        match item {
            Ok(u) => return u,
            // A reconnect in progress may report the lost connection; keep reading.
            Err(Error::Transport { .. }) | Err(Error::Timeout(_)) => continue,
            Err(e) => panic!("unexpected subscription error: {e:?}"),
        }
    }
}

#[tokio::test]
async fn e2e_query_and_transact() {
    let server = LocalServer::builder().start().await.unwrap();
    let app = server.create_app("e2e").await.unwrap();
    let db = client(&server.url(), &app);

    let goal = Id::new();
    let (t1, t2) = (Id::new(), Id::new());
    let tx_id = db
        .transact(vec![
            tx::entity("goals", goal).update(json!({"title": "Get fit", "n": 1})),
            tx::entity("todos", t1).update(json!({"title": "run"})),
            tx::entity("todos", t2).update(json!({"title": "swim"})),
            tx::entity("goals", goal).link("todos", vec![t1, t2]),
        ])
        .await
        .unwrap();
    assert!(tx_id > 0);

    let q = Query::new().ns(
        "goals",
        QueryNode::new()
            .filter(Where::eq("title", "Get fit"))
            .child("todos", QueryNode::new()),
    );
    let v = db.query(&q).await.unwrap();
    assert_eq!(v["goals"][0]["id"], goal.to_string());
    assert_eq!(v["goals"][0]["todos"].as_array().unwrap().len(), 2);

    #[derive(Deserialize)]
    struct Todo {
        title: String,
    }
    #[derive(Deserialize)]
    struct Goal {
        id: Id,
        n: f64,
        todos: Vec<Todo>,
    }
    #[derive(Deserialize)]
    struct Out {
        goals: Vec<Goal>,
    }
    let out: Out = db.query_as(&q).await.unwrap();
    assert_eq!(out.goals[0].id, goal);
    assert_eq!(out.goals[0].n, 1.0);
    let mut titles: Vec<_> = out.goals[0].todos.iter().map(|t| t.title.as_str()).collect();
    titles.sort();
    assert_eq!(titles, ["run", "swim"]);

    // Later transactions get larger tx ids; deletes are visible.
    let tx2 = db.transact(tx::entity("todos", t1).delete()).await.unwrap();
    assert!(tx2 > tx_id);
    let v = db.query_raw(json!({"todos": {}})).await.unwrap();
    assert_eq!(v["todos"].as_array().unwrap().len(), 1);

    // Server errors come back typed.
    let e = db
        .query_raw(json!({"goals": {"$": {"limit": 0}}}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(&ErrorKind::ValidationFailed), "{e:?}");
    assert_eq!(e.status(), Some(400));

    // A wrong admin token is refused by the server.
    let bad = Client::builder()
        .app_id(app.app_id.to_string())
        .admin_token(Id::new().to_string())
        .api_uri(server.url())
        .build()
        .unwrap();
    let e = bad.query_raw(json!({"goals": {}})).await.unwrap_err();
    assert!(e.api().is_some(), "{e:?}");

    // Batched import.
    let steps: Vec<_> = (0..35)
        .map(|i| tx::entity("items", Id::new()).update(json!({"i": i})))
        .collect();
    let mut last = None;
    let report = db
        .transact_batched(
            steps,
            instant_client::BatchOptions {
                max_steps: 10,
                ..Default::default()
            },
            |p| last = Some(*p),
        )
        .await
        .unwrap();
    assert_eq!(report.tx_ids.len(), 4);
    assert_eq!(last.unwrap().steps_done, 35);
    let v = db.query_raw(json!({"items": {}})).await.unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 35);
    server.shutdown().await;
}

#[tokio::test]
async fn e2e_live_subscription_update() {
    let server = LocalServer::builder().start().await.unwrap();
    let app = server.create_app("live").await.unwrap();
    let db = client(&server.url(), &app);
    let mut sub = db
        .subscribe_query(&Query::new().ns("goals", QueryNode::new()))
        .unwrap();
    let first = next(&mut sub).await;
    assert_eq!(first.data, json!({"goals": []}));
    assert!(sub.session_info().is_some());

    let goal = Id::new();
    db.transact(tx::entity("goals", goal).update(json!({"title": "live"})))
        .await
        .unwrap();
    let u = next(&mut sub).await;
    assert_eq!(u.data["goals"][0]["title"], "live");
    assert_eq!(u.data["goals"][0]["id"], goal.to_string());
    sub.close();
    server.shutdown().await;
}

/// A loopback TCP proxy in front of the server whose open connections the test
/// can cut (what a server restart or a network drop looks like to the client).
struct Proxy {
    url: String,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> =
            Default::default();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (c2, a2) = (conns.clone(), accepted.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                a2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let h = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                c2.lock().unwrap().push(h);
            }
        });
        Proxy { url, conns, accepted, _task: task }
    }

    /// Closes every open connection.
    fn cut(&self) {
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

#[tokio::test]
async fn e2e_reconnect_after_the_server_drops_the_stream() {
    let server = LocalServer::builder().start().await.unwrap();
    let app = server.create_app("reconnect").await.unwrap();
    let proxy = Proxy::start(server.addr()).await;
    let db = client(&proxy.url, &app);
    db.transact(tx::entity("goals", Id::new()).update(json!({"title": "before"})))
        .await
        .unwrap();

    let mut sub = db.subscribe_query_raw(json!({"goals": {}})).unwrap();
    let lcid = sub.local_connection_id();
    let u = next(&mut sub).await;
    assert_eq!(u.data["goals"].as_array().unwrap().len(), 1);
    let first_session = sub.session_info().unwrap().session_id;

    // The stream is dropped; a write happens while the client is away.
    let accepted = proxy.accepted.load(std::sync::atomic::Ordering::SeqCst);
    proxy.cut();
    let direct = client(&server.url(), &app);
    direct
        .transact(tx::entity("goals", Id::new()).update(json!({"title": "while away"})))
        .await
        .unwrap();

    // The client reconnects by itself (server retry hint: 500 ms) and gets the full
    // current result from a new session.
    let started = std::time::Instant::now();
    let u = next(&mut sub).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(u.data["goals"].as_array().unwrap().len(), 2);
    assert_ne!(u.session.as_ref().unwrap().session_id, first_session, "a new session");
    assert_eq!(sub.local_connection_id(), lcid);
    assert!(proxy.accepted.load(std::sync::atomic::Ordering::SeqCst) > accepted);

    // Live updates flow on the new connection.
    direct
        .transact(tx::entity("goals", Id::new()).update(json!({"title": "after"})))
        .await
        .unwrap();
    let u = next(&mut sub).await;
    assert_eq!(u.data["goals"].as_array().unwrap().len(), 3);
    sub.close();
    server.shutdown().await;
}

#[tokio::test]
async fn e2e_temporary_app() {
    let server = LocalServer::builder().start().await.unwrap();
    let platform = PlatformApi::builder().api_uri(server.url()).build().unwrap();
    let tmp = platform
        .create_temporary_app("scratch", None, None)
        .await
        .unwrap();
    assert_eq!(tmp.app.title, "scratch");
    assert!(tmp.expires_ms.unwrap_or(0) > 0);
    let token = tmp.app.admin_token.clone().expect("a temporary app has a token");
    let db = Client::builder()
        .app_id(tmp.app.id.to_string())
        .admin_token(token)
        .api_uri(server.url())
        .build()
        .unwrap();
    db.transact(tx::entity("notes", Id::new()).update(json!({"body": "hi"})))
        .await
        .unwrap();
    let v = db.query_raw(json!({"notes": {}})).await.unwrap();
    assert_eq!(v["notes"][0]["body"], "hi");
    server.shutdown().await;
}
