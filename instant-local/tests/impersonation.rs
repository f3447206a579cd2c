//! Impersonation headers (spec `admin-http.md` §1.5) against stored rules:
//! `as-token` (refresh token → `$users` row), `as-email` (admin token
//! required), `as-guest`, on queries, transactions and live queries, and the
//! admin bypass.

mod common;

use serde_json::{json, Value};

use common::env::TempApp as E;

const RULES: &str = r#"{"notes": {"allow": {
    "view": "auth.id != null && data.owner == auth.id",
    "create": "auth.id != null && newData.owner == auth.id",
    "update": "false", "delete": "false"}}}"#;

async fn setup() -> E {
    let rules: Value = serde_json::from_str(RULES).unwrap();
    E::new(json!({"title": "imp", "rules": {"code": rules}})).await
}

impl E {
    async fn user(&self, email: &str) -> (String, String) {
        let (s, b) = self
            .post("/admin/refresh_tokens", true, &[], json!({"email": email}))
            .await;
        assert_eq!(s, 200, "{b}");
        (
            b["user"]["id"].as_str().unwrap().to_string(),
            b["user"]["refresh_token"].as_str().unwrap().to_string(),
        )
    }
}

#[tokio::test]
async fn as_token_as_email_as_guest() {
    let e = setup().await;
    let (alice, alice_tok) = e.user("alice@x.com").await;
    let (bob, bob_tok) = e.user("bob@x.com").await;
    let n1 = "f0000000-0000-4000-8000-000000000001";
    let n2 = "f0000000-0000-4000-8000-000000000002";

    // as-token: create own note (no admin token needed), not someone else's
    let (s, b) = e
        .post(
            "/admin/transact",
            false,
            &[("as-token", &alice_tok)],
            json!({"steps": [["update", "notes", n1, {"owner": alice, "text": "a"}]]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = e
        .post(
            "/admin/transact",
            false,
            &[("as-token", &bob_tok)],
            json!({"steps": [["update", "notes", n2, {"owner": alice, "text": "forged"}]]}),
        )
        .await;
    assert_eq!(
        (s, b["type"].as_str()),
        (400, Some("permission-denied")),
        "{b}"
    );
    let (s, _) = e
        .post(
            "/admin/transact",
            false,
            &[("as-token", &bob_tok)],
            json!({"steps": [["update", "notes", n2, {"owner": bob, "text": "b"}]]}),
        )
        .await;
    assert_eq!(s, 200);
    // update is false for everyone but the admin
    let (s, b) = e
        .post(
            "/admin/transact",
            false,
            &[("as-token", &alice_tok)],
            json!({"steps": [["update", "notes", n1, {"text": "edit"}]]}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, _) = e
        .post(
            "/admin/transact",
            true,
            &[],
            json!({"steps": [["update", "notes", n1, {"text": "admin edit"}]]}),
        )
        .await;
    assert_eq!(s, 200);

    let q = json!({"query": {"notes": {}}});
    let count = |b: &Value| b["notes"].as_array().map(|a| a.len()).unwrap_or(99);
    let (_, b) = e
        .post(
            "/admin/query",
            false,
            &[("as-token", &alice_tok)],
            q.clone(),
        )
        .await;
    assert_eq!(count(&b), 1, "{b}");
    assert_eq!(b["notes"][0]["text"], "admin edit");
    let (_, b) = e
        .post(
            "/admin/query",
            true,
            &[("as-email", "bob@x.com")],
            q.clone(),
        )
        .await;
    assert_eq!(count(&b), 1, "{b}");
    assert_eq!(b["notes"][0]["text"], "b");
    let (_, b) = e
        .post("/admin/query", false, &[("as-guest", "true")], q.clone())
        .await;
    assert_eq!(count(&b), 0, "{b}");
    let (_, b) = e.post("/admin/query", true, &[], q.clone()).await;
    assert_eq!(count(&b), 2, "{b}");

    // as-email needs the admin token
    let (s, b) = e
        .post(
            "/admin/query",
            false,
            &[("as-email", "bob@x.com")],
            q.clone(),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], "param-missing");
    // an unknown refresh token
    let bogus = uuid::Uuid::new_v4().to_string();
    let (s, b) = e
        .post("/admin/query", false, &[("as-token", &bogus)], q)
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], "record-not-found");
    // admin-http.md §1.5: the record type is `app-user` (the official client suite agrees).
    assert_eq!(b["hint"]["record-type"], "app-user", "{b}");
}

/// Reads `data:` events from an SSE response.
async fn next_data(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
) -> Value {
    use futures::StreamExt;
    loop {
        while let Some(pos) = buf.find('\n') {
            let line: String = buf.drain(..=pos).collect();
            if let Some(d) = line.trim_end().strip_prefix("data:") {
                return serde_json::from_str(d).unwrap();
            }
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
            .await
            .expect("event in time")
            .expect("stream open")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn live_queries_are_filtered_for_the_subscriber() {
    let e = setup().await;
    let (alice, alice_tok) = e.user("alice@x.com").await;
    let (bob, _) = e.user("bob@x.com").await;
    let r = e
        .http
        .post(format!("{}/admin/subscribe-query", e.url))
        .header("app-id", &e.app_id)
        .header("as-token", &alice_tok)
        .json(&json!({"query": {"notes": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = Box::pin(r.bytes_stream());
    let mut buf = String::new();
    assert_eq!(next_data(&mut stream, &mut buf).await["op"], "sse-init");
    let first = next_data(&mut stream, &mut buf).await;
    assert_eq!(first["op"], "add-query-ok", "{first}");
    assert_eq!(first["result"]["notes"], json!([]));
    // bob's note (admin write) changes nothing alice can see: no event is due,
    // then alice's note arrives alone.
    let nb = "f0000000-0000-4000-8000-00000000000b";
    let na = "f0000000-0000-4000-8000-00000000000a";
    let (s, _) = e
        .post(
            "/admin/transact",
            true,
            &[],
            json!({"steps": [["update", "notes", nb, {"owner": bob, "text": "b"}]]}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = e
        .post(
            "/admin/transact",
            true,
            &[],
            json!({"steps": [["update", "notes", na, {"owner": alice, "text": "a"}]]}),
        )
        .await;
    assert_eq!(s, 200);
    let ev = next_data(&mut stream, &mut buf).await;
    assert_eq!(ev["op"], "refresh-ok", "{ev}");
    let notes = ev["computations"][0]["instaql-result"]["notes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(notes.len(), 1, "{ev}");
    assert_eq!(notes[0]["text"], "a");
}
