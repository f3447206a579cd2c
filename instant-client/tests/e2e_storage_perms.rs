//! End to end against `instant-local`: the client's storage calls, debug
//! (perms check) calls and impersonation get exactly the answers they expect.

use instant_client::{AsUser, Client, DebugOptions, UploadOptions};
use instant_core::{tx, Id, Query};
use instant_local::LocalServer;
use serde_json::{json, Value};

async fn app_with_rules(server: &LocalServer, rules: Value) -> Client {
    let body: Value = reqwest::Client::new()
        .post(format!("{}/dash/apps/ephemeral", server.url()))
        .json(&json!({"title": "e2e", "rules": {"code": rules}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Client::builder()
        .app_id(body["app"]["id"].as_str().unwrap())
        .admin_token(body["app"]["admin-token"].as_str().unwrap())
        .api_uri(server.url())
        .build()
        .unwrap()
}

#[tokio::test]
async fn storage_round_trip_through_the_client() {
    let server = LocalServer::builder().start().await.unwrap();
    let db = app_with_rules(&server, json!({})).await;
    let st = db.storage();
    let up = st
        .upload(
            "docs/a.txt",
            b"hello".to_vec(),
            UploadOptions::content_type("text/plain"),
        )
        .await
        .unwrap();
    assert_eq!(up.size, Some(5));
    let again = st
        .upload(
            "docs/a.txt",
            b"hello again".to_vec(),
            UploadOptions::content_type("text/plain"),
        )
        .await
        .unwrap();
    assert_eq!(again.id, up.id);
    let files = st.list().await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "docs/a.txt");
    let url = files[0].url.clone().expect("url");
    let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), b"hello again");
    let legacy_url = st.download_url("docs/a.txt").await.unwrap();
    let bytes = reqwest::get(&legacy_url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"hello again");
    assert_eq!(st.list_legacy().await.unwrap().len(), 1);

    st.upload("b.txt", b"b".to_vec(), UploadOptions::default())
        .await
        .unwrap();
    st.upload("c.txt", b"c".to_vec(), UploadOptions::default())
        .await
        .unwrap();
    st.delete("docs/a.txt").await.unwrap();
    assert!(st.delete_legacy("b.txt").await.unwrap().is_some());
    assert_eq!(st.delete_legacy("nope.txt").await.unwrap(), None);
    st.delete_many_legacy(&["c.txt"]).await.unwrap();
    assert!(st.list().await.unwrap().is_empty());
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
}

#[tokio::test]
async fn impersonation_and_debug_calls_through_the_client() {
    let server = LocalServer::builder().start().await.unwrap();
    let db = app_with_rules(
        &server,
        json!({"posts": {"allow": {"view": "data.public == true", "create": "newData.public == true"}}}),
    )
    .await;
    let (a, b) = (Id::new(), Id::new());
    db.transact(
        [
            tx::entity("posts", a)
                .update(json!({"public": true}))
                .into_steps()
                .unwrap(),
            tx::entity("posts", b)
                .update(json!({"public": false}))
                .into_steps()
                .unwrap(),
        ]
        .concat(),
    )
    .await
    .unwrap();
    let q = Query::from_json(&json!({"posts": {}})).unwrap();
    let guest = db.as_user(AsUser::guest());
    let seen = guest.query_raw(json!({"posts": {}})).await.unwrap();
    assert_eq!(seen["posts"].as_array().unwrap().len(), 1);
    let err = guest
        .transact(tx::entity("posts", Id::new()).update(json!({"public": false})))
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("perms-pass"), "{err:?}");

    let dq = guest
        .debug_query(&q, &DebugOptions::default())
        .await
        .unwrap();
    assert_eq!(dq.result["posts"].as_array().unwrap().len(), 1);
    assert_eq!(dq.check_results.len(), 2);
    let dt = guest
        .debug_transact(
            tx::entity("posts", Id::new()).update(json!({"public": true})),
            &DebugOptions::default(),
        )
        .await
        .unwrap();
    assert!(dt.all_checks_ok);
    assert!(!dt.committed);
    // an admin handle cannot debug as admin
    assert!(db.debug_query(&q, &DebugOptions::default()).await.is_err());
}
