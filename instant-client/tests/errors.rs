//! Error answers map to the right [`instant_client::Error`] kinds, and retries
//! happen only for calls that are safe to repeat.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use instant_client::{Error, ErrorKind};
use instant_core::{tx, Id, Query, QueryNode};
use serde_json::json;

#[tokio::test]
async fn json_error_envelope() {
    let rec = Recorder::start(|_| {
        json_response(
            400,
            &json!({"type": "validation-failed", "message": "Validation failed for query: bad",
                    "hint": {"data-type": "query", "errors": [{"in": ["goals"], "message": "bad"}]},
                    "trace-id": "abc"}),
        )
    })
    .await;
    let e = rec
        .client()
        .query_raw(json!({"goals": {}}))
        .await
        .unwrap_err();
    let a = e.api().expect("Api error");
    assert_eq!(a.status, 400);
    assert_eq!(a.kind, ErrorKind::ValidationFailed);
    assert_eq!(a.message, "Validation failed for query: bad");
    assert_eq!(e.trace_id(), Some("abc"));
    assert_eq!(e.hint().unwrap()["data-type"], "query");
    assert_eq!(rec.count(), 1, "a 400 is not retried");
}

#[tokio::test]
async fn non_json_error_body() {
    let rec = Recorder::start(|_| text_response(400, "Malformed JSON in request body.")).await;
    let e = rec
        .client()
        .query_raw(json!({"goals": {}}))
        .await
        .unwrap_err();
    let a = e.api().unwrap();
    assert_eq!(a.status, 400);
    assert_eq!(a.kind, ErrorKind::Other(String::new()));
    assert_eq!(a.message, "Malformed JSON in request body.");
    // An empty body gets the JS SDK's generic message.
    let rec = Recorder::start(|_| text_response(502, "")).await;
    let c = instant_client::Client::builder()
        .app_id(APP_ID)
        .admin_token(ADMIN_TOKEN)
        .api_uri(&rec.url)
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.query_raw(json!({})).await.unwrap_err();
    assert_eq!(e.api().unwrap().message, "API Error (502)");
    assert_eq!(e.status(), Some(502));
}

#[tokio::test]
async fn rate_limited_is_recognisable_and_retried_for_queries_only() {
    let rec = Recorder::start(|_| {
        json_response(
            429,
            &json!({"type": "rate-limited", "message": "You're making too many requests.",
                    "hint": {"retry-after": 0}}),
        )
    })
    .await;
    let db = rec.client();
    let e = db.query_raw(json!({"goals": {}})).await.unwrap_err();
    assert!(e.is_rate_limited());
    assert_eq!(e.status(), Some(429));
    assert_eq!(rec.count(), 3, "a query is tried 1 + 2 times");

    let e = db
        .transact(tx::entity("goals", Id::new()).update(json!({"a": 1})))
        .await
        .unwrap_err();
    assert!(e.is_rate_limited());
    assert_eq!(rec.count(), 4, "a transaction is never retried");
}

#[tokio::test]
async fn server_timeout_is_recognisable() {
    let rec = Recorder::start(|_| {
        json_response(
            429,
            &json!({"type": "timeout", "message": "The query took too long to complete."}),
        )
    })
    .await;
    let e = rec
        .client()
        .transact(tx::entity("goals", Id::new()).delete())
        .await
        .unwrap_err();
    assert!(e.is_timeout());
    assert!(!e.is_rate_limited());
    assert_eq!(e.kind(), Some(&ErrorKind::Timeout));
}

#[tokio::test]
async fn retry_then_success() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let rec = Recorder::start(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            json_response(
                500,
                &json!({"type": "unknown", "message": "Something went wrong. Sorry about this!"}),
            )
        } else {
            json_response(503, &json!({"message": "busy"}))
        }
    })
    .await;
    let e = rec
        .client()
        .query_raw(json!({"goals": {}}))
        .await
        .unwrap_err();
    // 500 `unknown` is not retried; only the first attempt happened.
    assert_eq!(e.status(), Some(500));
    assert_eq!(e.kind(), Some(&ErrorKind::Unknown));
    assert_eq!(rec.count(), 1);
    // 503 is retried (twice) for a query.
    let e = rec
        .client()
        .query_raw(json!({"goals": {}}))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert_eq!(rec.count(), 4);
}

#[tokio::test]
async fn decode_error_names_the_json_path() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Todo {
        title: String,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Goal {
        title: String,
        todos: Vec<Todo>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Out {
        goals: Vec<Goal>,
    }
    let rec = Recorder::json(json!({"goals": [
        {"title": "a", "todos": []},
        {"title": "b", "todos": [{"title": "ok"}, {"title": null}]}]}))
    .await;
    let e = rec
        .client()
        .query_as::<Out>(&Query::new().ns("goals", QueryNode::new()))
        .await
        .unwrap_err();
    match e {
        Error::Decode { path, message } => {
            assert_eq!(path, "goals[1].todos[1].title");
            assert!(message.contains("invalid type: null"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A 200 that is not JSON at all.
    let rec = Recorder::start(|_| text_response(200, "<html>")).await;
    let e = rec.client().query_raw(json!({})).await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    // A transact answer without tx-id.
    let rec = Recorder::json(json!({"nope": 1})).await;
    let e = rec
        .client()
        .transact(tx::entity("g", Id::new()).delete())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Decode { ref message, .. } if message.contains("tx-id")),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_timeout_and_transport_errors() {
    let rec = Recorder::start(|_| {
        std::thread::sleep(Duration::from_millis(400));
        json_response(200, &json!({}))
    })
    .await;
    let db = instant_client::Client::builder()
        .app_id(APP_ID)
        .admin_token(ADMIN_TOKEN)
        .api_uri(&rec.url)
        .timeout(Duration::from_millis(100))
        .max_retries(0)
        .build()
        .unwrap();
    let e = db.query_raw(json!({})).await.unwrap_err();
    assert!(matches!(e, Error::CallTimeout { attempts: 1, .. }), "{e:?}");
    assert!(e.is_timeout());

    // Nothing listens on this port.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let db = instant_client::Client::builder()
        .app_id(APP_ID)
        .admin_token(ADMIN_TOKEN)
        .api_uri(format!("http://127.0.0.1:{port}"))
        .max_retries(1)
        .retry_base_delay(Duration::from_millis(1))
        .build()
        .unwrap();
    let e = db.query_raw(json!({})).await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
}

#[tokio::test]
async fn invalid_input_is_a_typed_error_not_a_panic() {
    let rec = Recorder::json(json!({})).await;
    let db = rec.client();
    let e = db.query_raw(json!([1, 2])).await.unwrap_err();
    assert!(matches!(e, Error::Core(_)), "{e:?}");
    let e = db
        .transact_raw(json!({"not": "an array"}))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Core(_)));
    // A header value with a newline is refused locally.
    let e = db
        .as_user(instant_client::AsUser::email("a@b.co\nx: y"))
        .query_raw(json!({}))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert_eq!(rec.count(), 0);
}
