//! Every request of `/work/shared/spec/captured-requests.md` (the official
//! `@instantdb/admin` 1.0.67 against a recorder), reproduced by this client against
//! a recording server: method, path, query string (incl. `?app_id=`), headers and
//! JSON body.

mod common;

use common::*;
use instant_client::{AsUser, DebugOptions, UploadOptions, UserLookup};
use instant_core::{tx, Date, Id, Query, QueryNode, UpdateOpts, Where, Order};
use serde_json::json;

fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

// 1.1 query
#[tokio::test]
async fn query_matches_capture() {
    let rec = Recorder::json(json!({"goals": []})).await;
    let db = rec.client();
    let q = Query::new()
        .ns(
            "goals",
            QueryNode::new()
                .filter(Where::eq("title", "Get fit"))
                .limit(10)
                .order(Order::desc("serverCreatedAt"))
                .child("todos", QueryNode::new()),
        );
    let res = db.query(&q).await.unwrap();
    assert_eq!(res, json!({"goals": []}));
    let r = rec.last();
    assert_eq!(r.method, "POST");
    assert_eq!(r.target(), format!("/admin/query?{}", app_q()));
    assert_admin_headers(&r);
    assert_eq!(
        r.json(),
        json!({"query":{"goals":{"$":{"where":{"title":"Get fit"},"limit":10,"order":{"serverCreatedAt":"desc"}},"todos":{}}},"inference?":false})
    );

    // query_raw sends the JSON as given.
    db.query_raw(json!({"goals": {"$": {"where": {"title": "Get fit"}, "limit": 10, "order": {"serverCreatedAt": "desc"}}, "todos": {}}}))
        .await
        .unwrap();
    assert_eq!(rec.last().json(), r.json());
}

#[tokio::test]
async fn query_with_rule_params_and_inference() {
    let rec = Recorder::json(json!({"goals": []})).await;
    let db = rec.client();
    let mut rp = serde_json::Map::new();
    rp.insert("k".into(), json!("v"));
    db.query_with_rule_params(json!({"goals": {}}), rp.clone())
        .await
        .unwrap();
    assert_eq!(
        rec.last().json(),
        json!({"query": {"goals": {}, "$$ruleParams": {"k": "v"}}, "inference?": false})
    );
    db.query(&Query::new().ns("goals", QueryNode::new()).rule_params(rp))
        .await
        .unwrap();
    assert_eq!(rec.last().json()["query"]["$$ruleParams"], json!({"k": "v"}));

    // A client in schema mode sends inference? true, as init({schema}) does.
    let strict = instant_client::Client::builder()
        .app_id(APP_ID)
        .admin_token(ADMIN_TOKEN)
        .api_uri(&rec.url)
        .schema_mode()
        .build()
        .unwrap();
    strict.query_raw(json!({"goals": {}})).await.unwrap();
    assert_eq!(rec.last().json()["inference?"], true);
}

struct GoalsQuery;
#[derive(serde::Deserialize, Debug, PartialEq)]
struct Goal {
    id: Id,
    title: String,
}
#[derive(serde::Deserialize, Debug, PartialEq)]
struct GoalsOut {
    goals: Vec<Goal>,
}
impl instant_core::TypedQuery for GoalsQuery {
    type Output = GoalsOut;
    fn to_query(&self) -> Result<Query, instant_core::Error> {
        Ok(Query::new().ns("goals", QueryNode::new().fields(["title"])))
    }
}

#[tokio::test]
async fn typed_query_sends_inference_true() {
    let rec = Recorder::json(json!({"goals": [{"id": GOAL, "title": "Get fit"}]})).await;
    let db = rec.client();
    let out = db.query_typed(&GoalsQuery).await.unwrap();
    assert_eq!(
        out,
        GoalsOut {
            goals: vec![Goal {
                id: id(GOAL),
                title: "Get fit".into()
            }]
        }
    );
    assert_eq!(
        rec.last().json(),
        json!({"query": {"goals": {"$": {"fields": ["title"]}}}, "inference?": true})
    );
    let out: GoalsOut = db
        .query_as(&Query::new().ns("goals", QueryNode::new()))
        .await
        .unwrap();
    assert_eq!(out.goals.len(), 1);
    assert_eq!(rec.last().json()["inference?"], false);
}

// 1.2 transact, every op kind
#[tokio::test]
async fn transact_matches_capture() {
    let rec = Recorder::json(json!({"tx-id": 42})).await;
    let db = rec.client();
    let (g, t) = (id(GOAL), id(TODO));
    let steps = vec![
        tx::entity("goals", g)
            .update(json!({"title": "Get fit", "n": 1, "at": Date::from_millis(0).unwrap()}))
            .merge(json!({"meta": {"a": 1}})),
        tx::entity("todos", t).create(json!({"title": "run"})),
        tx::entity("goals", g).link("todos", t).unlink("todos", vec![t]),
        tx::lookup("goals", "title", "Get fit").update(json!({"done": true})),
        tx::entity("todos", t).delete(),
        tx::entity("goals", g).update_with(json!({"title": "x"}), UpdateOpts::NO_UPSERT),
    ];
    let tx_id = db.transact(steps).await.unwrap();
    assert_eq!(tx_id, 42);
    let r = rec.last();
    assert_eq!(r.method, "POST");
    assert_eq!(r.target(), format!("/admin/transact?{}", app_q()));
    assert_admin_headers(&r);
    assert_eq!(
        r.json(),
        json!({"steps":[
            ["update","goals",GOAL,{"title":"Get fit","n":1,"at":"1970-01-01T00:00:00.000Z"}],
            ["merge","goals",GOAL,{"meta":{"a":1}}],
            ["create","todos",TODO,{"title":"run"}],
            ["link","goals",GOAL,{"todos":TODO}],
            ["unlink","goals",GOAL,{"todos":[TODO]}],
            ["update","goals",["title","Get fit"],{"done":true}],
            ["delete","todos",TODO,null],
            ["update","goals",GOAL,{"title":"x"},{"upsert":false}]],
         "throw-on-missing-attrs?":false})
    );

    // The typed / schema path sends throw-on-missing-attrs? true.
    db.transact_strict(tx::entity("todos", t).delete())
        .await
        .unwrap();
    assert_eq!(rec.last().json()["throw-on-missing-attrs?"], true);
    db.transact_raw(json!([["delete", "todos", TODO, null]]))
        .await
        .unwrap();
    assert_eq!(
        rec.last().json(),
        json!({"steps": [["delete", "todos", TODO, null]], "throw-on-missing-attrs?": false})
    );
}

// 1.3 impersonation
#[tokio::test]
async fn impersonation_headers() {
    let rec = Recorder::json(json!({"goals": []})).await;
    let db = rec.client();
    let cases = [
        (AsUser::email("a@b.co"), "as-email", "a@b.co"),
        (AsUser::token("rt-abc"), "as-token", "rt-abc"),
        (AsUser::guest(), "as-guest", "true"),
    ];
    for (who, header, value) in cases {
        let scoped = db.as_user(who);
        scoped.query_raw(json!({"goals": {}})).await.unwrap();
        let r = rec.last();
        assert_eq!(r.header(header), Some(value));
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {ADMIN_TOKEN}").as_str()),
            "the admin token is still sent"
        );
        assert_eq!(r.json(), json!({"query": {"goals": {}}, "inference?": false}));
        scoped
            .transact(tx::entity("todos", id(TODO)).delete())
            .await
            .unwrap_or_default();
        assert_eq!(rec.last().header(header), Some(value));
    }
    // The original handle stays admin.
    db.query_raw(json!({"goals": {}})).await.unwrap();
    assert_admin_headers(&rec.last());
}

#[tokio::test]
async fn no_admin_token_allows_only_token_and_guest() {
    let rec = Recorder::json(json!({"goals": []})).await;
    let db = instant_client::Client::builder()
        .app_id(APP_ID)
        .api_uri(&rec.url)
        .build()
        .unwrap();
    let e = db.query_raw(json!({"goals": {}})).await.unwrap_err();
    assert!(matches!(e, instant_client::Error::Config(_)), "{e:?}");
    let e = db
        .as_user(AsUser::email("a@b.co"))
        .query_raw(json!({"goals": {}}))
        .await
        .unwrap_err();
    assert!(matches!(e, instant_client::Error::Config(_)));
    assert_eq!(rec.count(), 0);
    db.as_user(AsUser::guest())
        .query_raw(json!({"goals": {}}))
        .await
        .unwrap();
    let r = rec.last();
    assert_eq!(r.header("as-guest"), Some("true"));
    assert!(r.header("authorization").is_none());
    db.as_user(AsUser::token("rt1"))
        .query_raw(json!({"goals": {}}))
        .await
        .unwrap();
    assert_eq!(rec.last().header("as-token"), Some("rt1"));
}

// 1.4 auth
fn user_json() -> serde_json::Value {
    json!({"app_id": APP_ID, "id": GOAL, "email": "a@b.co", "created_at": "2024-11-26T15:25:00Z",
           "type": "user", "isGuest": false, "refresh_token": "rt1"})
}

#[tokio::test]
async fn auth_requests_match_capture() {
    let rec = Recorder::start(|r| {
        let body = match r.path.as_str() {
            "/admin/refresh_tokens" | "/admin/verify_magic_code" => {
                json!({"user": user_json(), "created": true})
            }
            "/runtime/auth/verify_refresh_token" | "/admin/users" if r.method == "GET" || r.method == "POST" => {
                json!({"user": user_json()})
            }
            "/admin/users" => json!({"deleted": user_json()}),
            "/admin/sign_out" => json!({"ok": true}),
            "/admin/magic_code" | "/admin/send_magic_code" => json!({"code": "123456"}),
            _ => json!({}),
        };
        json_response(200, &body)
    })
    .await;
    let auth = rec.client().auth();
    let aq = app_q();

    let t = auth.create_token("a@b.co").await.unwrap();
    assert_eq!(t.expose(), "rt1");
    let r = rec.last();
    assert_eq!((r.method.as_str(), r.target()), ("POST", format!("/admin/refresh_tokens?{aq}")));
    assert_admin_headers(&r);
    assert_eq!(r.json(), json!({"email": "a@b.co"}));

    auth.create_token(id(GOAL)).await.unwrap();
    assert_eq!(rec.last().json(), json!({"id": GOAL}));

    let u = auth.verify_token("rt1").await.unwrap();
    assert_eq!(u.email.as_deref(), Some("a@b.co"));
    let r = rec.last();
    assert_eq!(r.target(), format!("/runtime/auth/verify_refresh_token?{aq}"));
    assert_eq!(r.json(), json!({"app-id": APP_ID, "refresh-token": "rt1"}));
    assert!(r.header("authorization").is_none(), "verifyToken sends no admin token");
    assert!(r.header("app-id").is_none(), "verifyToken sends no app-id header");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("instant-admin-version"), Some(instant_client::VERSION));

    let u = auth.get_user(UserLookup::email("a@b.co")).await.unwrap().unwrap();
    assert_eq!(u.id, id(GOAL));
    let r = rec.last();
    assert_eq!((r.method.as_str(), r.target()), ("GET", format!("/admin/users?{aq}&email=a%40b.co")));
    assert_admin_headers(&r);
    assert!(r.body.is_empty());

    auth.get_user(UserLookup::refresh_token("rt1")).await.unwrap();
    assert_eq!(rec.last().target(), format!("/admin/users?{aq}&refresh_token=rt1"));

    let d = auth.delete_user(id(GOAL)).await.unwrap();
    assert!(d.is_some());
    let r = rec.last();
    assert_eq!((r.method.as_str(), r.target()), ("DELETE", format!("/admin/users?{aq}&id={GOAL}")));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.body.is_empty());

    auth.sign_out("a@b.co").await.unwrap();
    let r = rec.last();
    assert_eq!((r.method.as_str(), r.target()), ("POST", format!("/admin/sign_out?{aq}")));
    assert_eq!(r.json(), json!({"email": "a@b.co"}));
    auth.sign_out(UserLookup::refresh_token("rt9")).await.unwrap();
    assert_eq!(rec.last().json(), json!({"refresh_token": "rt9"}));

    assert_eq!(auth.generate_magic_code("a@b.co").await.unwrap(), "123456");
    let r = rec.last();
    assert_eq!(r.target(), format!("/admin/magic_code?{aq}"));
    assert_eq!(r.json(), json!({"email": "a@b.co"}));

    assert_eq!(auth.send_magic_code("a@b.co").await.unwrap(), "123456");
    assert_eq!(rec.last().target(), format!("/admin/send_magic_code?{aq}"));

    let s = auth.verify_magic_code("a@b.co", "123456").await.unwrap();
    assert!(s.created);
    assert_eq!(s.refresh_token().unwrap().expose(), "rt1");
    let r = rec.last();
    assert_eq!(r.target(), format!("/admin/verify_magic_code?{aq}"));
    assert_eq!(r.json(), json!({"email": "a@b.co", "code": "123456"}));

    // Auth calls ignore impersonation, as the official SDK.
    rec.client()
        .as_user(AsUser::guest())
        .auth()
        .generate_magic_code("a@b.co")
        .await
        .unwrap();
    assert!(rec.last().header("as-guest").is_none());
}

#[tokio::test]
async fn get_user_none() {
    let rec = Recorder::json(json!({"user": null})).await;
    assert!(rec.client().auth().get_user(id(GOAL)).await.unwrap().is_none());
}

// 1.5 presence, storage, debug
#[tokio::test]
async fn presence_matches_capture() {
    let rec = Recorder::json(json!({"sessions": {"s1": {"peer-id": "s1", "instance-id": "i",
        "user": null, "data": {"name": "Al"}}}}))
    .await;
    let p = rec.client().rooms().get_presence("chat", "room-1").await.unwrap();
    assert_eq!(p["s1"].data, json!({"name": "Al"}));
    let r = rec.last();
    assert_eq!(
        (r.method.as_str(), r.target()),
        ("GET", format!("/admin/rooms/presence?{}&room-type=chat&room-id=room-1", app_q()))
    );
    assert_admin_headers(&r);

    let empty = Recorder::json(json!({"sessions": null})).await;
    assert!(empty.client().rooms().get_presence("chat", "r").await.unwrap().is_empty());
}

#[tokio::test]
async fn storage_matches_capture() {
    let rec = Recorder::start(|r| {
        let body = match (r.method.as_str(), r.path.as_str()) {
            ("PUT", _) => json!({"data": {"id": GOAL, "location-id": "loc", "size": 5}}),
            ("DELETE", "/admin/storage/files") => json!({"data": {"id": GOAL}}),
            ("POST", "/admin/storage/files/delete") => json!({"data": {"ids": [GOAL, TODO]}}),
            ("GET", "/admin/storage/signed-download-url") => json!({"data": "https://signed/x"}),
            ("GET", "/admin/storage/files") => json!({"data": [{"key": "k", "name": "photos/a.txt", "size": 5, "etag": null, "last_modified": null}]}),
            ("POST", "/admin/query") => json!({"$files": [{"id": GOAL, "path": "photos/a.txt", "url": "http://x"}]}),
            ("POST", "/admin/transact") => json!({"tx-id": 7}),
            _ => json!({}),
        };
        json_response(200, &body)
    })
    .await;
    let st = rec.client().storage();
    let aq = app_q();

    let up = st
        .upload("photos/a.txt", &b"hello"[..], UploadOptions::content_type("text/plain"))
        .await
        .unwrap();
    assert_eq!(up.id, id(GOAL));
    assert_eq!(up.size, Some(5));
    let r = rec.last();
    assert_eq!((r.method.as_str(), r.target()), ("PUT", format!("/admin/storage/upload?{aq}")));
    assert_eq!(r.header("path"), Some("photos/a.txt"));
    assert_eq!(r.header("content-type"), Some("text/plain"), "no application/json on upload");
    assert_eq!(r.header("app-id"), Some(APP_ID));
    assert_eq!(r.header("authorization"), Some(format!("Bearer {ADMIN_TOKEN}").as_str()));
    assert_eq!(&r.body[..], b"hello");

    // Without a content type none is sent; a file streams with its length.
    let dir = std::env::temp_dir().join(format!("instant-client-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("b.bin");
    std::fs::write(&f, vec![7u8; 70_000]).unwrap();
    st.upload_file("photos/b.bin", &f, UploadOptions::default())
        .await
        .unwrap();
    let r = rec.last();
    assert!(r.header("content-type").is_none());
    assert_eq!(r.header("content-length"), Some("70000"));
    assert_eq!(r.body.len(), 70_000);
    let chunks = futures::stream::iter(vec![
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"ab")),
        Ok(bytes::Bytes::from_static(b"cd")),
    ]);
    st.upload_stream("s.txt", chunks, 4, UploadOptions::default())
        .await
        .unwrap();
    assert_eq!(&rec.last().body[..], b"abcd");
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(st.delete_legacy("photos/a.txt").await.unwrap(), Some(id(GOAL)));
    let r = rec.last();
    assert_eq!(
        (r.method.as_str(), r.target()),
        ("DELETE", format!("/admin/storage/files?{aq}&filename=photos%2Fa.txt"))
    );
    assert_admin_headers(&r);

    let ids = st
        .delete_many_legacy(&["photos/a.txt", "photos/b.txt"])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let r = rec.last();
    assert_eq!(r.target(), format!("/admin/storage/files/delete?{aq}"));
    assert_eq!(r.json(), json!({"filenames": ["photos/a.txt", "photos/b.txt"]}));

    assert_eq!(st.download_url("photos/a.txt").await.unwrap(), "https://signed/x");
    let r = rec.last();
    assert_eq!(
        (r.method.as_str(), r.target()),
        ("GET", format!("/admin/storage/signed-download-url?{aq}&filename=photos%2Fa.txt"))
    );

    let l = st.list_legacy().await.unwrap();
    assert_eq!(l[0].name, "photos/a.txt");
    assert_eq!(rec.last().target(), format!("/admin/storage/files?{aq}"));

    // $files list and delete go through query / transact.
    let files = st.list().await.unwrap();
    assert_eq!(files[0].path, "photos/a.txt");
    assert_eq!(rec.last().json(), json!({"query": {"$files": {}}, "inference?": false}));
    assert_eq!(st.delete("photos/a.txt").await.unwrap(), 7);
    assert_eq!(
        rec.last().json(),
        json!({"steps": [["delete", "$files", ["path", "photos/a.txt"], null]], "throw-on-missing-attrs?": false})
    );
    st.delete_many(&["a", "b"]).await.unwrap();
    assert_eq!(rec.last().json()["steps"].as_array().unwrap().len(), 2);

    // Uploads follow impersonation.
    rec.client()
        .as_user(AsUser::email("a@b.co"))
        .storage()
        .upload("x", vec![1u8], UploadOptions::default())
        .await
        .unwrap();
    assert_eq!(rec.last().header("as-email"), Some("a@b.co"));
}

#[tokio::test]
async fn debug_calls_match_capture() {
    let rec = Recorder::start(|r| {
        let body = if r.path == "/admin/query_perms_check" {
            json!({"result": {"goals": []}, "check-results": [{"id": GOAL, "check": true}], "rule-wheres": null})
        } else {
            json!({"tx-id": null, "all-checks-ok?": false, "committed?": false, "check-results": [{"check-pass?": false}]})
        };
        json_response(200, &body)
    })
    .await;
    let db = rec.client().as_user(AsUser::email("a@b.co"));
    let q = db
        .debug_query(&Query::new().ns("goals", QueryNode::new()), &DebugOptions::default())
        .await
        .unwrap();
    assert_eq!(q.check_results.len(), 1);
    let r = rec.last();
    assert_eq!(r.target(), format!("/admin/query_perms_check?{}", app_q()));
    assert_eq!(r.json(), json!({"query": {"goals": {}}, "inference?": false}));
    assert_eq!(r.header("as-email"), Some("a@b.co"));

    let t = db
        .debug_transact(
            tx::entity("goals", id(GOAL)).update(json!({"title": "y"})),
            &DebugOptions::default(),
        )
        .await
        .unwrap();
    assert!(!t.all_checks_ok);
    assert_eq!(t.tx_id, None);
    let r = rec.last();
    assert_eq!(r.target(), format!("/admin/transact_perms_check?{}", app_q()));
    assert_eq!(r.json(), json!({"steps": [["update", "goals", GOAL, {"title": "y"}]]}));

    let opts = DebugOptions {
        rules_override: Some(json!({"goals": {"allow": {"view": "true"}}})),
        commit: true,
        ip_override: Some("1.2.3.4".into()),
        ..Default::default()
    };
    db.debug_transact(tx::entity("goals", id(GOAL)).delete(), &opts)
        .await
        .unwrap();
    let b = rec.last().json();
    assert_eq!(b["dangerously-commit-tx"], true);
    assert_eq!(b["ip-override"], "1.2.3.4");
    assert_eq!(b["rules-override"]["goals"]["allow"]["view"], "true");
}

#[tokio::test]
async fn batched_transact_reports_progress_and_stops_on_failure() {
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    let rec = Recorder::start(move |_| {
        let i = n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if i == 2 {
            json_response(400, &json!({"type": "parameter-limit-exceeded", "message": "There are too many parameters in the transaction or query."}))
        } else {
            json_response(200, &json!({"tx-id": 100 + i}))
        }
    })
    .await;
    let db = rec.client();
    let steps: Vec<_> = (0..25)
        .map(|i| tx::entity("t", Id::new()).update(json!({"n": i})))
        .collect();
    let opts = instant_client::BatchOptions {
        max_steps: 10,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let e = db
        .transact_batched(steps.clone(), opts, |p| seen.push(*p))
        .await
        .unwrap_err();
    match &e {
        instant_client::Error::Batch {
            failed_batch,
            committed_steps,
            tx_ids,
            ..
        } => {
            assert_eq!(*failed_batch, 2);
            assert_eq!(*committed_steps, 20);
            assert_eq!(tx_ids, &vec![100, 101]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.kind(), Some(&instant_client::ErrorKind::ParameterLimitExceeded));
    assert_eq!(seen.len(), 2);
    assert_eq!((seen[1].steps_done, seen[1].steps_total, seen[1].batches), (20, 25, 3));
    assert_eq!(rec.count(), 3, "the failed batch is not retried");
    let sizes: Vec<usize> = rec
        .requests()
        .iter()
        .map(|r| r.json()["steps"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![10, 10, 5]);
}
