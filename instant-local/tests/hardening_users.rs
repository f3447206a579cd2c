//! Users, magic codes, refresh tokens and transaction-step errors as the
//! official server has them: magic-code rate limits, `as-token` lookups from
//! memory (kept in step with sign-out, user deletion and restarts),
//! `as-email` matched as sent, system-entity writes refused before any rule,
//! and where a malformed step or lookup fails.

mod common;

use instant_local::{AppCredentials, LocalServer};
use serde_json::{json, Value};

use common::env::{AppClient, TempApp};
use common::fixtures::TempDir;

const ID: &str = "c0ffee00-0000-4000-8000-000000000001";
const ID2: &str = "c0ffee00-0000-4000-8000-000000000002";

fn client(server: &LocalServer, app: &AppCredentials) -> AppClient {
    AppClient::new(&server.url(), &app.app_id.to_string(), &app.admin_token)
}

/// Creates (or finds) the user with `email`; returns (id, refresh token).
async fn user(c: &AppClient, email: &str) -> (String, String) {
    let (s, b) = c
        .post("/admin/refresh_tokens", true, &[], json!({"email": email}))
        .await;
    assert_eq!(s, 200, "{b}");
    (
        b["user"]["id"].as_str().unwrap().to_string(),
        b["user"]["refresh_token"].as_str().unwrap().to_string(),
    )
}

/// `POST /admin/query` of `{"$users": {}}` as the owner of `token`.
async fn query_as_token(c: &AppClient, token: &str) -> (u16, Value) {
    c.post(
        "/admin/query",
        false,
        &[("as-token", token)],
        json!({"query": {"$users": {}}}),
    )
    .await
}

/// `POST /admin/verify_magic_code`.
async fn verify(c: &AppClient, email: &str, code: &str) -> (u16, Value) {
    c.post(
        "/admin/verify_magic_code",
        true,
        &[],
        json!({"email": email, "code": code}),
    )
    .await
}

/// A 6-digit code that is not `code`.
fn wrong(code: &str) -> String {
    if code == "000000" { "000001" } else { "000000" }.to_string()
}

const RATE_LIMITED: &str =
    "Too many verification codes requested for this email. Please try again later.";

// ---- 1. magic codes -------------------------------------------------------

/// Instant rate-limits magic-code checks per app and email: 20 an hour
/// (`server/src/instant/runtime/magic_code_auth.clj` `verify!` →
/// `check-verify-rate-limit!`; `flags.clj` `magic-code-rate-limit-per-hour`
/// default 20; `rate_limit.clj` hourly refill). Past it every check, even with
/// the right code, is 429 `rate-limited` with the message of
/// `throw-record-email-rate-limited!` (`util/exception.clj` lines 480-482); the
/// code is not consumed. The count survives a restart with a database file.
#[tokio::test]
async fn magic_code_checks_are_limited_per_email_and_persist() {
    let dir = TempDir::new("magic-attempts");
    let db = dir.join("db.sqlite");
    let server = LocalServer::builder().db_path(&db).start().await.unwrap();
    let app = server.create_app("codes").await.unwrap();
    let c = client(&server, &app);
    let (s, b) = c
        .post("/admin/magic_code", true, &[], json!({"email": "a@x.com"}))
        .await;
    assert_eq!(s, 200, "{b}");
    let code = b["code"].as_str().unwrap().to_string();
    for i in 0..20 {
        let (s, b) = verify(&c, "a@x.com", &wrong(&code)).await;
        assert_eq!(s, 400, "attempt {i}: {b}");
        assert_eq!(b["type"], "record-not-found", "attempt {i}: {b}");
    }
    // The 21st check is refused before the code is looked at: the right code
    // fails too.
    let (s, b) = verify(&c, "a@x.com", &code).await;
    assert_eq!(s, 429, "{b}");
    assert_eq!(b["type"], "rate-limited");
    assert_eq!(b["message"], RATE_LIMITED);
    // Another email of the same app has its own count.
    let (s, b) = c
        .post("/admin/magic_code", true, &[], json!({"email": "b@x.com"}))
        .await;
    assert_eq!(s, 200, "{b}");
    let code_b = b["code"].as_str().unwrap().to_string();
    let (s, b) = verify(&c, "b@x.com", &code_b).await;
    assert_eq!(s, 200, "{b}");

    server.shutdown().await;
    let server = LocalServer::builder().db_path(&db).start().await.unwrap();
    let c = client(&server, &app);
    let (s, b) = verify(&c, "a@x.com", &code).await;
    assert_eq!(s, 429, "after a restart: {b}");
    assert_eq!(b["message"], RATE_LIMITED);
    server.shutdown().await;
}

/// Sending is limited the same way (`check-send-rate-limit!`, 20 an hour per
/// email); `/admin/magic_code`, which sends nothing, is not
/// (`admin/routes.clj` `magic-code-post` calls `create!` directly).
#[tokio::test]
async fn magic_code_sends_are_limited_per_email() {
    let app = TempApp::new(json!({"title": "sends"})).await;
    for i in 0..20 {
        let (s, b) = app
            .post(
                "/admin/send_magic_code",
                true,
                &[],
                json!({"email": "s@x.com"}),
            )
            .await;
        assert_eq!(s, 200, "send {i}: {b}");
    }
    let (s, b) = app
        .post(
            "/admin/send_magic_code",
            true,
            &[],
            json!({"email": "s@x.com"}),
        )
        .await;
    assert_eq!(s, 429, "{b}");
    assert_eq!(b["type"], "rate-limited");
    assert_eq!(b["message"], RATE_LIMITED);
    let (s, b) = app
        .post("/admin/magic_code", true, &[], json!({"email": "s@x.com"}))
        .await;
    assert_eq!(s, 200, "{b}");
}

// ---- 2. as-token from memory ---------------------------------------------

/// `as-token` users are resolved from the in-memory token map: right after
/// minting, gone after a one-session and an all-sessions sign-out and after
/// the user is deleted, and rebuilt from the database file at start.
#[tokio::test]
async fn as_token_follows_sign_out_delete_and_restart() {
    let dir = TempDir::new("tokens");
    let db = dir.join("db.sqlite");
    let server = LocalServer::builder().db_path(&db).start().await.unwrap();
    let app = server.create_app("tokens").await.unwrap();
    let c = client(&server, &app);
    let not_found = |(s, b): (u16, Value)| {
        assert_eq!(s, 400, "{b}");
        assert_eq!(b["type"], "record-not-found", "{b}");
    };

    let (alice, t1) = user(&c, "alice@x.com").await;
    let (_, t2) = user(&c, "alice@x.com").await;
    let (s, b) = query_as_token(&c, &t1).await;
    assert_eq!(s, 200, "{b}");
    // One session.
    let (s, _) = c
        .post("/admin/sign_out", true, &[], json!({"refresh_token": t1}))
        .await;
    assert_eq!(s, 200);
    not_found(query_as_token(&c, &t1).await);
    let (s, _) = query_as_token(&c, &t2).await;
    assert_eq!(s, 200);
    // All sessions.
    let (s, _) = c
        .post("/admin/sign_out", true, &[], json!({"id": alice}))
        .await;
    assert_eq!(s, 200);
    not_found(query_as_token(&c, &t2).await);

    // Deleting the user.
    let (bob, t3) = user(&c, "bob@x.com").await;
    let r = reqwest::Client::new()
        .delete(format!("{}/admin/users?id={bob}", c.url))
        .header("app-id", &c.app_id)
        .header("authorization", format!("Bearer {}", c.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    not_found(query_as_token(&c, &t3).await);

    // Restart: live tokens come back from the file, revoked ones do not.
    let (_, t4) = user(&c, "carol@x.com").await;
    server.shutdown().await;
    let server = LocalServer::builder().db_path(&db).start().await.unwrap();
    let c = client(&server, &app);
    let (s, b) = query_as_token(&c, &t4).await;
    assert_eq!(s, 200, "{b}");
    not_found(query_as_token(&c, &t1).await);
    not_found(query_as_token(&c, &t3).await);
    server.shutdown().await;
}

/// Instant links refresh tokens to their user with `on-delete: cascade`
/// (`server/src/instant/system_catalog.clj` `$user-refresh-token-attrs`):
/// deleting the `$users` row by transaction ends its sessions, and creating a
/// user with the same id again does not bring them back.
#[tokio::test]
async fn tokens_die_with_a_user_deleted_by_transaction() {
    let app = TempApp::new(json!({"title": "cascade"})).await;
    let (uid, old) = user(&app, "d@x.com").await;
    let (s, b) = app
        .post(
            "/admin/transact",
            true,
            &[],
            json!({"steps": [["delete", "$users", uid]]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .post("/admin/refresh_tokens", true, &[], json!({"id": uid}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["user"]["id"], json!(uid));
    let new = b["user"]["refresh_token"].as_str().unwrap().to_string();
    let (s, b) = query_as_token(&app, &old).await;
    assert_eq!(s, 400, "the old session is dead: {b}");
    assert_eq!(b["type"], "record-not-found");
    let (s, b) = query_as_token(&app, &new).await;
    assert_eq!(s, 200, "{b}");
}

/// Throughput of `as-token` queries against admin queries (run once by hand:
/// `cargo test -p instant-local --test hardening_users -- --ignored --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a test"]
async fn measure_as_token_throughput() {
    let app = TempApp::new(json!({"title": "tput"})).await;
    let (_, tok) = user(&app, "m@x.com").await;
    for (name, who) in [("admin", 0), ("as-token", 1), ("as-guest", 2), ("admin", 0)] {
        let n = 2000;
        let t0 = std::time::Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let c = app.client.clone();
            let tok = tok.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..n / 8 {
                    let q = json!({"query": {"$users": {}}});
                    let (s, _) = match who {
                        1 => query_as_token(&c, &tok).await,
                        2 => {
                            c.post("/admin/query", false, &[("as-guest", "true")], q)
                                .await
                        }
                        _ => c.post("/admin/query", true, &[], q).await,
                    };
                    assert_eq!(s, 200);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let secs = t0.elapsed().as_secs_f64();
        println!("{name}: {:.0} queries/s", n as f64 / secs);
    }
}

// ---- 3. as-email as sent --------------------------------------------------

/// Instant looks `as-email` up as sent (`admin/routes.clj` `get-perms!` →
/// `app-user-model/get-by-email!`, no lower-casing; stored emails are lower
/// case): another case is `record-not-found` with the lookup's params.
#[tokio::test]
async fn as_email_is_matched_as_sent() {
    let app = TempApp::new(json!({"title": "email"})).await;
    user(&app, "bob@x.com").await;
    let q = json!({"query": {"$users": {}}});
    let (s, b) = app
        .post(
            "/admin/query",
            true,
            &[("as-email", "bob@x.com")],
            q.clone(),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .post("/admin/query", true, &[("as-email", "Bob@x.com")], q)
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], "record-not-found");
    assert_eq!(b["message"], "Record not found: app-user");
    assert_eq!(
        b["hint"],
        json!({"record-type": "app-user", "args": [{"app-id": app.app_id, "email": "Bob@x.com"}]})
    );
}

// ---- 4. system entities before rules ---------------------------------------

/// A user's transaction that deletes or creates a `$users` row, or writes a
/// `$users` system column, is `validation-failed` before any rule runs
/// (`server/src/instant/db/permissioned_transaction.clj`:
/// `validate-system-delete-entity!` lines 44-47 and
/// `validate-system-triple-op!` lines 49-71, called by
/// `prevent-system-column-updates` before the checks; the `$users` create at
/// lines 589-595), here with rules that would deny all three.
#[tokio::test]
async fn users_system_entity_writes_fail_validation_before_rules() {
    let rules = json!({"$users": {"allow": {"update": "false", "delete": "false"}},
                       "notes": {"allow": {"create": "false"}}});
    let app = TempApp::new(json!({"title": "sys", "rules": {"code": rules}})).await;
    let (me, tok) = user(&app, "me@x.com").await;
    let tx = |steps: Value| {
        let tok = tok.clone();
        let app = &app;
        async move {
            app.post(
                "/admin/transact",
                false,
                &[("as-token", &tok)],
                json!({"steps": steps}),
            )
            .await
        }
    };
    let (s, b) = tx(json!([["delete", "$users", me]])).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], "validation-failed");
    assert_eq!(
        b["message"],
        "Validation failed for tx-step: $users is a system entity. You aren't allowed to delete this directly."
    );
    assert_eq!(b["hint"]["data-type"], "tx-step");
    assert_eq!(b["hint"]["input"], json!(["delete-entity", me, "$users"]));

    let (s, b) = tx(json!([["create", "$users", ID, {}]])).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["message"],
        "Validation failed for tx-step: $users is a system entity. You aren't allowed to create this directly."
    );
    // An upsert of a missing `$users` id is a create too.
    let (s, b) = tx(json!([["update", "$users", ID2, {}]])).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], "validation-failed", "{b}");

    let (s, b) = tx(json!([["update", "$users", me, {"email": "other@x.com"}]])).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["message"],
        "Validation failed for tx-step: $users.email is a system column. You aren't allowed to change this directly."
    );
    // The delete is refused before the notes rule would deny the create.
    let (s, b) = tx(json!([["create", "notes", ID, {"t": 1}], ["delete", "$users", me]])).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], "validation-failed", "{b}");
    // The admin may still delete users by transaction.
    let (s, b) = app
        .post(
            "/admin/transact",
            true,
            &[],
            json!({"steps": [["delete", "$users", me]]}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

// ---- 5. where a malformed step fails ----------------------------------------

/// `hint.errors[0]` of a spec failure is the server's best spec problem
/// (`server/src/instant/admin/model.clj` `->tx-steps!` lines 497-511 over the
/// specs of lines 429-492; `util/exception.clj` `best-problem` lines 542-573).
#[tokio::test]
async fn malformed_steps_report_the_failing_part() {
    let app = TempApp::new(json!({"title": "steps"})).await;
    let cases = [
        // namespace
        (
            json!([["update", 1, ID, {"title": "moop"}]]),
            json!({"expected": "string?", "in": [0, 1]}),
        ),
        // args
        (
            json!([["update", "goals", ID, "moop"]]),
            json!({"expected": "map?", "in": [0, 3]}),
        ),
        (
            json!([["create", "goals", ID]]),
            json!({"expected": "map?", "in": [0]}),
        ),
        // action: every branch fails on it, the last (`delete-attr`) wins
        (
            json!([["frob", "goals", ID, {}]]),
            json!({"expected": ["delete-attr"], "in": [0, 0]}),
        ),
        // entity id (an array that is no lookup pair)
        (
            json!([["update", "goals", ["email"], {}]]),
            json!({"expected": "instant.admin.model/lookup?", "in": [0, 2]}),
        ),
        (
            json!([["update", "goals"]]),
            json!({"expected": "instant.admin.model/lookup", "in": [0]}),
        ),
        // opts
        (
            json!([["update", "goals", ID, {}, 5]]),
            json!({"expected": "nil?", "in": [0, 4]}),
        ),
        // link values
        (
            json!([["link", "goals", ID, {"todos": 1}]]),
            json!({"expected": "instant.admin.model/lookup?", "in": [0, 3, "todos", 1]}),
        ),
        // a later valid link step: its keys are keywords in the body the
        // server explains, so its `string?` problem is deeper and wins
        (
            json!([["update", 1, ID, {}], ["link", "goals", ID, {"todos": ID2}]]),
            json!({"expected": "string?", "in": [1, 3, "todos", 0]}),
        ),
    ];
    for (steps, want) in cases {
        let (s, b) = app
            .post("/admin/transact", true, &[], json!({"steps": steps}))
            .await;
        assert_eq!(s, 400, "{steps}: {b}");
        assert_eq!(b["message"], "Validation failed for steps", "{steps}: {b}");
        assert_eq!(b["hint"]["errors"], json!([want]), "{steps}: {b}");
        assert_eq!(b["hint"]["input"], steps);
    }
}

// ---- 6. malformed encoded lookups ----------------------------------------

/// `parse-lookup` (`admin/model.clj` lines 35-45): the JSON part of
/// `lookup__<attr>__<json>` does not parse → `validation-failed` for `lookup`
/// with the attribute and the text in the error's hint.
#[tokio::test]
async fn malformed_lookup_value_keeps_the_servers_hint() {
    let app = TempApp::new(json!({"title": "lookups"})).await;
    for steps in [
        json!([["link", "goals", ID, {"owner": "lookup__linkOn__undefined"}]]),
        json!([["update", "goals", "lookup__linkOn__undefined", {"a": 1}]]),
    ] {
        let (s, b) = app
            .post("/admin/transact", true, &[], json!({"steps": steps}))
            .await;
        assert_eq!(s, 400, "{b}");
        assert_eq!(
            b["message"],
            "Validation failed for lookup: lookup value is invalid"
        );
        assert_eq!(
            b["hint"],
            json!({"data-type": "lookup", "input": "lookup__linkOn__undefined",
                   "errors": [{"message": "lookup value is invalid",
                               "hint": {"attribute": "linkOn", "value": "undefined"}}]}),
            "{steps}"
        );
    }
}
