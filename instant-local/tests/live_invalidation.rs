//! Live-query invalidation at attribute level and shared recomputation
//! (`POST /admin/subscribe-query`): a subscription is recomputed only when a
//! transaction touched an attribute its query reads (new entity, changed
//! filtered/shown attribute, link/unlink, cascade delete, schema change), and
//! identical subscriptions are recomputed once per commit. Recomputations are
//! counted through the server's (hidden) live-query counters.
mod common;
use common::env::*;
use serde_json::{json, Value};

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn schema() -> Value {
    json!({"entities": {
        "todos": {"attrs": {
            "title": {"valueType": "string", "config": {"unique": false, "indexed": true}, "required": false},
            "done": {"valueType": "boolean", "config": {"unique": false, "indexed": false}, "required": false},
            "prio": {"valueType": "number", "config": {"unique": false, "indexed": true}, "required": false}}},
        "goals": {"attrs": {
            "name": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": false},
            "color": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": false}}}},
        "links": {"todosGoal": {
            "forward": {"on": "todos", "has": "one", "label": "goal", "onDelete": "cascade"},
            "reverse": {"on": "goals", "has": "many", "label": "todos"}}}})
}

/// (passes, recomputes) of the app's refresh worker.
fn counters(env: &Env) -> (u64, u64) {
    let s = env
        .server
        .live_query_stats(env.app.app_id)
        .expect("app exists");
    (s.passes, s.recomputes)
}

/// Runs one transaction, waits until the refresh worker has finished the pass
/// it caused, and returns how many live queries that pass recomputed.
async fn recomputes_for(env: &Env, steps: Value) -> u64 {
    let (p0, r0) = counters(env);
    env.tx_ok(steps).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (p, r) = counters(env);
        if p > p0 {
            return r - r0;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "refresh pass never finished"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

async fn subscribe(env: &Env, q: Value) -> (Sse, Value) {
    let mut s = Sse::open(env, json!({"query": q})).await.unwrap();
    assert_eq!(s.next_event(5).await.unwrap()["op"], "sse-init");
    let ok = s.next_event(5).await.unwrap();
    assert_eq!(ok["op"], "add-query-ok", "{ok}");
    (s, ok)
}

async fn refreshed(s: &mut Sse) -> Value {
    let r = s.next_event(5).await.expect("a refresh-ok");
    assert_eq!(r["op"], "refresh-ok", "{r}");
    r["computations"][0]["instaql-result"].clone()
}

#[tokio::test]
async fn fields_restrict_what_refreshes_a_subscription() {
    let env = Env::with_schema(schema()).await;
    let t = id();
    env.tx_ok(json!([["update", "todos", t, {"title": "a", "done": false, "prio": 1}]]))
        .await;
    let (mut s, ok) = subscribe(&env, json!({"todos": {"$": {"fields": ["title"]}}})).await;
    assert_eq!(ok["result"], json!({"todos": [{"id": t, "title": "a"}]}));

    // Attributes the query does not show: not recomputed.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"done": true}]])).await,
        0
    );
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"prio": 5}]])).await,
        0
    );
    // Other namespaces: not recomputed.
    assert_eq!(
        recomputes_for(&env, json!([["update", "goals", id(), {"name": "g"}]])).await,
        0
    );
    // The shown attribute: recomputed and refreshed.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"title": "b"}]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": t, "title": "b"}]})
    );
    // A new entity (only an unshown attribute set): it appears through `id`.
    let t2 = id();
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t2, {"done": true}]])).await,
        1
    );
    // (Indexed attributes of a new entity are stored as null, as in Instant.)
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": t, "title": "b"}, {"id": t2, "title": null}]})
    );
    // Deleting an entity.
    assert_eq!(
        recomputes_for(&env, json!([["delete", "todos", t]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": t2, "title": null}]})
    );
}

#[tokio::test]
async fn where_and_order_attributes_refresh_a_subscription() {
    let env = Env::with_schema(schema()).await;
    let (a, b) = (id(), id());
    env.tx_ok(json!([
        ["update", "todos", a, {"title": "a", "done": true, "prio": 2}],
        ["update", "todos", b, {"title": "b", "done": false, "prio": 1}]
    ]))
    .await;
    // A page of one: with `prio` left out of `fields` the server shows a page
    // in id order (`sort-entries`, server/src/instant/util/instaql.clj:64-82),
    // so only the page's choice shows the order.
    let (mut s, ok) = subscribe(
        &env,
        json!({"todos": {"$": {"where": {"done": true}, "order": {"prio": "asc"}, "fields": ["title"], "limit": 1}}}),
    )
    .await;
    assert_eq!(ok["result"], json!({"todos": [{"id": a, "title": "a"}]}));
    // The goals namespace is not read at all.
    assert_eq!(
        recomputes_for(&env, json!([["update", "goals", id(), {"name": "g"}]])).await,
        0
    );
    // The filtered attribute.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", b, {"done": true}]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": b, "title": "b"}]})
    );
    // The order attribute.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", b, {"prio": 9}]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": a, "title": "a"}]})
    );
}

#[tokio::test]
async fn links_unlinks_and_nested_attributes_refresh_a_subscription() {
    let env = Env::with_schema(schema()).await;
    let (g, t) = (id(), id());
    env.tx_ok(json!([
        ["update", "goals", g, {"name": "g", "color": "red"}],
        ["update", "todos", t, {"title": "t", "done": false}]
    ]))
    .await;
    let (mut s, ok) = subscribe(
        &env,
        json!({"goals": {"$": {"fields": ["name"]}, "todos": {"$": {"fields": ["title"]}}}}),
    )
    .await;
    assert_eq!(
        ok["result"],
        json!({"goals": [{"id": g, "name": "g", "todos": []}]})
    );
    // Link: recomputed and refreshed.
    assert_eq!(
        recomputes_for(&env, json!([["link", "goals", g, {"todos": t}]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"goals": [{"id": g, "name": "g", "todos": [{"id": t, "title": "t"}]}]})
    );
    // Unshown attributes on either level: not recomputed.
    assert_eq!(
        recomputes_for(&env, json!([["update", "goals", g, {"color": "blue"}]])).await,
        0
    );
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"done": true}]])).await,
        0
    );
    // The nested shown attribute.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"title": "t2"}]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"goals": [{"id": g, "name": "g", "todos": [{"id": t, "title": "t2"}]}]})
    );
    // Unlink.
    assert_eq!(
        recomputes_for(&env, json!([["unlink", "goals", g, {"todos": t}]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"goals": [{"id": g, "name": "g", "todos": []}]})
    );
}

#[tokio::test]
async fn where_through_a_link_refreshes_a_subscription() {
    let env = Env::with_schema(schema()).await;
    let (g, t) = (id(), id());
    // (`color` is written once first: the first value of a new JSON type
    // changes the attribute's inferred types, which counts as a schema change.)
    env.tx_ok(json!([
        ["update", "goals", g, {"name": "work", "color": "y"}],
        ["update", "todos", t, {"title": "t"}]
    ]))
    .await;
    let (mut s, ok) = subscribe(
        &env,
        json!({"todos": {"$": {"where": {"goal.name": "work"}, "fields": ["title"]}}}),
    )
    .await;
    assert_eq!(ok["result"], json!({"todos": []}));
    assert_eq!(
        recomputes_for(&env, json!([["update", "goals", g, {"color": "x"}]])).await,
        0
    );
    assert_eq!(
        recomputes_for(&env, json!([["link", "todos", t, {"goal": g}]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": t, "title": "t"}]})
    );
    // The filtered attribute of the linked namespace.
    assert_eq!(
        recomputes_for(&env, json!([["update", "goals", g, {"name": "home"}]])).await,
        1
    );
    assert_eq!(refreshed(&mut s).await, json!({"todos": []}));
}

#[tokio::test]
async fn cascade_delete_refreshes_a_subscription() {
    let env = Env::with_schema(schema()).await;
    let (g, t1, t2) = (id(), id(), id());
    env.tx_ok(json!([
        ["update", "goals", g, {"name": "g"}],
        ["update", "todos", t1, {"title": "one"}],
        ["update", "todos", t2, {"title": "two"}],
        ["link", "todos", t1, {"goal": g}]
    ]))
    .await;
    let (mut s, ok) = subscribe(&env, json!({"todos": {"$": {"fields": ["title"]}}})).await;
    assert_eq!(ids(&ok["result"]["todos"]).len(), 2);
    // Deleting the goal deletes t1 (onDelete cascade): a todos-only query sees it.
    assert_eq!(
        recomputes_for(&env, json!([["delete", "goals", g]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": t2, "title": "two"}]})
    );
}

#[tokio::test]
async fn schema_changes_refresh_a_subscription() {
    let env = Env::with_schema(schema()).await;
    let t = id();
    env.tx_ok(json!([["update", "todos", t, {"title": "t"}]]))
        .await;
    // `rank` does not exist yet: the where matches nothing.
    let (mut s, ok) = subscribe(
        &env,
        json!({"todos": {"$": {"where": {"rank": 1}, "fields": ["title"]}}}),
    )
    .await;
    assert_eq!(ok["result"], json!({"todos": []}));
    let rank = id();
    // Adding the attribute to the namespace: recomputed (nothing changes yet).
    assert_eq!(
        recomputes_for(
            &env,
            json!([["add-attr", {"id": rank, "forward-identity": [id(), "todos", "rank"],
                "value-type": "blob", "cardinality": "one", "unique?": false, "index?": false}]])
        )
        .await,
        1
    );
    // The new attribute is now part of what the query reads.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"rank": 1}]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": t, "title": "t"}]})
    );
    // Deleting the attribute.
    assert_eq!(
        recomputes_for(&env, json!([["delete-attr", rank]])).await,
        1
    );
    assert_eq!(refreshed(&mut s).await, json!({"todos": []}));
}

#[tokio::test]
async fn whole_entity_queries_read_every_attribute_of_their_namespace() {
    let env = Env::with_schema(schema()).await;
    let t = id();
    env.tx_ok(json!([["update", "todos", t, {"title": "t"}]]))
        .await;
    let (mut s, _) = subscribe(&env, json!({"todos": {}})).await;
    assert_eq!(
        recomputes_for(&env, json!([["update", "goals", id(), {"name": "g"}]])).await,
        0
    );
    // A brand-new attribute created by the transaction itself.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"extra": 1}]])).await,
        1
    );
    let r = refreshed(&mut s).await;
    assert_eq!(
        (&r["todos"][0]["title"], &r["todos"][0]["extra"]),
        (&json!("t"), &json!(1))
    );
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"prio": 3}]])).await,
        1
    );
    assert_eq!(refreshed(&mut s).await["todos"][0]["prio"], json!(3));
}

#[tokio::test]
async fn identical_subscriptions_share_one_recomputation() {
    let env = Env::with_schema(schema()).await;
    let t = id();
    env.tx_ok(json!([["update", "todos", t, {"title": "a"}]]))
        .await;
    let q = json!({"todos": {"$": {"fields": ["title"]}}});
    let mut same = Vec::new();
    for _ in 0..5 {
        same.push(subscribe(&env, q.clone()).await.0);
    }
    let (mut other, _) = subscribe(&env, json!({"todos": {}})).await;
    let st = env.server.live_query_stats(env.app.app_id).unwrap();
    assert_eq!((st.live_queries, st.subscriptions), (2, 6));

    // One commit: two live queries recomputed, every subscriber refreshed with
    // the same payload.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"title": "b"}]])).await,
        2
    );
    let mut payloads = Vec::new();
    for s in same.iter_mut() {
        let r = s.next_event(5).await.unwrap();
        assert_eq!(r["op"], "refresh-ok");
        payloads.push(r);
    }
    assert!(payloads.iter().all(|p| *p == payloads[0]));
    assert_eq!(
        payloads[0]["computations"][0]["instaql-result"],
        json!({"todos": [{"id": t, "title": "b"}]})
    );
    assert_eq!(refreshed(&mut other).await["todos"][0]["title"], "b");

    // A later subscriber of the same query starts from the current result and
    // then refreshes together with the others.
    let (mut late, ok) = subscribe(&env, q.clone()).await;
    assert_eq!(ok["result"], json!({"todos": [{"id": t, "title": "b"}]}));
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"title": "c"}]])).await,
        2
    );
    let want = json!({"todos": [{"id": t, "title": "c"}]});
    assert_eq!(refreshed(&mut late).await, want);
    for s in same.iter_mut() {
        assert_eq!(refreshed(s).await, want);
    }

    // Closed streams leave the shared query; the rest still refresh.
    drop(same);
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"title": "d"}]])).await,
        2
    );
    assert_eq!(refreshed(&mut late).await["todos"][0]["title"], "d");
    let st = env.server.live_query_stats(env.app.app_id).unwrap();
    assert_eq!((st.live_queries, st.subscriptions), (2, 2));
}

#[tokio::test]
async fn system_namespace_queries_refresh_on_any_side() {
    let env = Env::with_schema(schema()).await;
    let (mut s, ok) = subscribe(&env, json!({"$users": {}})).await;
    assert_eq!(ok["result"], json!({"$users": []}));
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", id(), {"title": "x"}]])).await,
        0
    );
    let (st, body) = env
        .post(
            "/admin/refresh_tokens",
            json!({"email": "live@example.com"}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let r = refreshed(&mut s).await;
    assert_eq!(r["$users"][0]["email"], "live@example.com");
}

#[tokio::test]
async fn new_entity_is_seen_through_its_id_alone() {
    let env = Env::with_schema(schema()).await;
    // `done` is neither indexed nor set below: only the id attribute (and
    // attributes the query does not show) change when the entity is created.
    let (mut s, ok) = subscribe(&env, json!({"todos": {"$": {"fields": ["done"]}}})).await;
    assert_eq!(ok["result"], json!({"todos": []}));
    assert_eq!(
        recomputes_for(&env, json!([["update", "goals", id(), {"name": "g"}]])).await,
        0
    );
    let t = id();
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"prio": 1}]])).await,
        1
    );
    assert_eq!(refreshed(&mut s).await, json!({"todos": [{"id": t}]}));
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"prio": 2}]])).await,
        0
    );
}

/// Next `data:` event of a raw SSE byte stream (10 s limit).
async fn next_data(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
) -> Value {
    use futures::StreamExt;
    loop {
        if let Some(pos) = buf.find("\n\n") {
            let frame: String = buf.drain(..pos + 2).collect();
            if let Some(d) = frame.trim().strip_prefix("data:") {
                return serde_json::from_str(d).expect("event json");
            }
            continue;
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
            .await
            .expect("an event in time")
            .expect("stream open")
            .expect("chunk");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn subscriptions_under_rules_refresh_when_a_rule_reads_another_namespace() {
    let server = instant_local::LocalServer::builder().start().await.unwrap();
    let http = reqwest::Client::new();
    let rules = json!({"todos": {"allow": {"view": "'open' in data.ref('goal.name')"}}});
    let body: Value = http
        .post(format!("{}/dash/apps/ephemeral", server.url()))
        .json(&json!({"title": "rules", "schema": schema(), "rules": {"code": rules}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let env = Env {
        app: instant_local::AppCredentials {
            app_id: instant_core::Id::parse(body["app"]["id"].as_str().unwrap()).unwrap(),
            admin_token: body["app"]["admin-token"].as_str().unwrap().to_string(),
        },
        server,
        http,
    };
    let (g, t) = (id(), id());
    env.tx_ok(json!([
        ["update", "goals", g, {"name": "closed"}],
        ["update", "todos", t, {"title": "t"}],
        ["link", "todos", t, {"goal": g}]
    ]))
    .await;
    let q = json!({"todos": {"$": {"fields": ["title"]}}});
    let r = env
        .http
        .post(format!("{}/admin/subscribe-query", env.server.url()))
        .header("app-id", env.app.app_id.to_string())
        .header("authorization", format!("Bearer {}", env.app.admin_token))
        .header("as-guest", "true")
        .json(&json!({"query": q}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = Box::pin(r.bytes_stream());
    let mut buf = String::new();
    assert_eq!(next_data(&mut stream, &mut buf).await["op"], "sse-init");
    let ok = next_data(&mut stream, &mut buf).await;
    assert_eq!(ok["result"], json!({"todos": []}), "{ok}");
    // An admin subscription of the same query is not filtered and does not
    // share the guest's evaluation.
    let (_admin, admin_ok) = subscribe(&env, q.clone()).await;
    assert_eq!(admin_ok["result"]["todos"][0]["title"], "t");
    // Only `goals.name` changes: the query alone does not read it, the rule does.
    assert_eq!(
        recomputes_for(&env, json!([["update", "goals", g, {"name": "open"}]])).await,
        1
    );
    let ev = next_data(&mut stream, &mut buf).await;
    assert_eq!(ev["op"], "refresh-ok", "{ev}");
    assert_eq!(
        ev["computations"][0]["instaql-result"],
        json!({"todos": [{"id": t, "title": "t"}]})
    );
}

#[tokio::test]
async fn filtered_queries_skip_changes_to_entities_that_never_match() {
    let env = Env::with_schema(schema()).await;
    let (a, b) = (id(), id());
    env.tx_ok(json!([
        ["update", "todos", a, {"title": "a", "done": true}],
        ["update", "todos", b, {"title": "b", "done": false}]
    ]))
    .await;
    let (mut s, ok) = subscribe(
        &env,
        json!({"todos": {"$": {"where": {"done": true}, "fields": ["title"]}}}),
    )
    .await;
    assert_eq!(ok["result"], json!({"todos": [{"id": a, "title": "a"}]}));
    // Entities that neither were in the result nor match now: no recompute.
    let c = id();
    assert_eq!(
        recomputes_for(
            &env,
            json!([["update", "todos", c, {"title": "c", "done": false}]])
        )
        .await,
        0
    );
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", b, {"title": "b2"}]])).await,
        0
    );
    assert_eq!(
        recomputes_for(&env, json!([["delete", "todos", c]])).await,
        0
    );
    // An entity of the result changes.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", a, {"title": "a2"}]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": a, "title": "a2"}]})
    );
    // An entity starts matching.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", b, {"done": true}]])).await,
        1
    );
    // (a and b were created in one transaction: same created-at, so their
    // order is by id.)
    let mut both = refreshed(&mut s).await["todos"].as_array().unwrap().clone();
    both.sort_by_key(|x| x["title"].as_str().unwrap().to_string());
    assert_eq!(
        both,
        vec![
            json!({"id": a, "title": "a2"}),
            json!({"id": b, "title": "b2"})
        ]
    );
    // An entity stops matching, one is deleted.
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", a, {"done": false}]])).await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": b, "title": "b2"}]})
    );
    assert_eq!(
        recomputes_for(&env, json!([["delete", "todos", b]])).await,
        1
    );
    assert_eq!(refreshed(&mut s).await, json!({"todos": []}));
    // A new entity that matches.
    let d = id();
    assert_eq!(
        recomputes_for(
            &env,
            json!([["update", "todos", d, {"title": "d", "done": true}]])
        )
        .await,
        1
    );
    assert_eq!(
        refreshed(&mut s).await,
        json!({"todos": [{"id": d, "title": "d"}]})
    );
}

#[tokio::test]
async fn is_null_and_link_filters_refresh_for_new_entities() {
    let env = Env::with_schema(schema()).await;
    let g = id();
    env.tx_ok(json!([["update", "goals", g, {"name": "g"}]]))
        .await;
    let (mut nulls, _) = subscribe(
        &env,
        json!({"todos": {"$": {"where": {"done": {"$isNull": true}}, "fields": ["title"]}}}),
    )
    .await;
    let (mut linked, _) = subscribe(
        &env,
        json!({"todos": {"$": {"where": {"goal": g}, "fields": ["title"]}}}),
    )
    .await;
    // A todo without `done` matches `$isNull`; the link filter has to look.
    let t = id();
    assert_eq!(
        recomputes_for(&env, json!([["update", "todos", t, {"title": "t"}]])).await,
        2
    );
    assert_eq!(
        refreshed(&mut nulls).await,
        json!({"todos": [{"id": t, "title": "t"}]})
    );
    // Linking from the goal side stores the todo's link triple.
    env.tx_ok(json!([["link", "goals", g, {"todos": t}]])).await;
    assert_eq!(
        refreshed(&mut linked).await,
        json!({"todos": [{"id": t, "title": "t"}]})
    );
    // Paginated queries are always recomputed for changes they read.
    let (_paged, _) = subscribe(
        &env,
        json!({"todos": {"$": {"where": {"done": true}, "limit": 5, "fields": ["title"]}}}),
    )
    .await;
    let before = counters(&env).1;
    env.tx_ok(json!([["update", "todos", id(), {"title": "u", "done": false}]]))
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while counters(&env).1 == before {
        assert!(
            std::time::Instant::now() < deadline,
            "paged query not recomputed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
