//! Differential check of live-query invalidation: random transactions (updates,
//! links, unlinks, deletes with cascade, new attributes) against a set of varied
//! subscriptions; after each transaction every subscription's latest result
//! must equal a fresh `/admin/query` of the same query, and a subscription gets
//! a `refresh-ok` exactly when its result changed.
mod common;
use common::env::*;
use serde_json::{json, Value};

fn schema() -> Value {
    json!({"entities": {
        "todos": {"attrs": {
            "title": {"valueType": "string", "config": {"unique": false, "indexed": true}, "required": false},
            "done": {"valueType": "boolean", "config": {"unique": false, "indexed": false}, "required": false},
            "prio": {"valueType": "number", "config": {"unique": false, "indexed": true}, "required": false}}},
        "goals": {"attrs": {
            "name": {"valueType": "string", "config": {"unique": false, "indexed": false}, "required": false}}}},
        "links": {"todosGoal": {
            "forward": {"on": "todos", "has": "one", "label": "goal", "onDelete": "cascade"},
            "reverse": {"on": "goals", "has": "many", "label": "todos"}}}})
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn uid(prefix: u8, i: usize) -> String {
    format!("{prefix:08x}-0000-4000-8000-{i:012x}")
}

fn random_steps(rng: &mut Rng, todos: &[String], goals: &[String]) -> Value {
    let mut steps = Vec::new();
    for _ in 0..(1 + rng.next() % 2) {
        let t = rng.pick(todos).clone();
        let g = rng.pick(goals).clone();
        let step = match rng.next() % 10 {
            0..=3 => {
                let mut m = serde_json::Map::new();
                if rng.chance(50) {
                    m.insert("title".into(), json!(rng.pick(&["a", "b", "c"])));
                }
                if rng.chance(50) {
                    m.insert("done".into(), json!(rng.chance(50)));
                }
                if rng.chance(40) {
                    m.insert("prio".into(), json!(rng.next() % 5));
                }
                if rng.chance(5) {
                    m.insert("note".into(), json!("n"));
                }
                json!(["update", "todos", t, m])
            }
            4 => json!(["link", "todos", t, {"goal": g}]),
            5 => json!(["link", "goals", g, {"todos": t}]),
            6 => json!(["unlink", "todos", t, {"goal": g}]),
            7 => json!(["update", "goals", g, {"name": rng.pick(&["g1", "g2"])}]),
            8 => json!(["delete", "todos", t]),
            _ => {
                if rng.chance(30) {
                    json!(["delete", "goals", g])
                } else {
                    json!(["update", "goals", g, {"name": "g1"}])
                }
            }
        };
        steps.push(step);
    }
    Value::Array(steps)
}

#[tokio::test]
async fn live_results_always_equal_fresh_queries() {
    let env = Env::with_schema(schema()).await;
    let todos: Vec<String> = (0..6).map(|i| uid(1, i)).collect();
    let goals: Vec<String> = (0..3).map(|i| uid(2, i)).collect();
    let queries = vec![
        json!({"todos": {}}),
        json!({"todos": {"$": {"fields": ["title"]}}}),
        json!({"todos": {"$": {"where": {"done": true}}}}),
        json!({"todos": {"$": {"where": {"done": true}, "fields": ["title"]}}}),
        json!({"todos": {"$": {"where": {"or": [{"prio": {"$gt": 2}}, {"title": "a"}]}, "order": {"prio": "desc"}}}}),
        json!({"todos": {"$": {"where": {"goal.name": "g1"}, "fields": ["prio"]}}}),
        json!({"goals": {"todos": {"$": {"where": {"done": false}}}}}),
        json!({"goals": {"$": {"fields": ["name"]}, "todos": {"$": {"fields": ["prio"]}}}}),
        json!({"todos": {"$": {"limit": 2, "order": {"prio": "asc"}, "fields": ["prio"]}}}),
        json!({"todos": {"$": {"where": {"done": {"$isNull": true}}, "fields": ["done"]}}}),
        json!({"todos": {"$": {"where": {"goal": goals[0]}}}}),
        json!({"todos": {"$": {"where": {"title": {"$in": ["a", "b"]}, "prio": {"$lte": 3}}}}}),
        json!({"todos": {"goal": {"$": {"fields": ["name"]}}}}),
        json!({"goals": {}, "todos": {"$": {"where": {"id": todos[0]}}}}),
    ];
    let mut subs = Vec::new();
    for q in &queries {
        let mut s = Sse::open(&env, json!({"query": q})).await.unwrap();
        assert_eq!(s.next_event(5).await.unwrap()["op"], "sse-init");
        let ok = s.next_event(5).await.unwrap();
        assert_eq!(ok["op"], "add-query-ok", "{ok}");
        subs.push((q.clone(), s, ok["result"].clone()));
    }
    let seed = std::env::var("LIVE_RANDOM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15_u64);
    let mut rng = Rng(seed);
    for round in 0..80 {
        let steps = random_steps(&mut rng, &todos, &goals);
        let (status, body) = env.transact(steps.clone()).await;
        if status != 200 {
            // e.g. linking a deleted goal; nothing changed.
            continue;
        }
        let tx = body["tx-id"].as_i64().unwrap_or_else(|| panic!("{body}"));
        // Wait until the refresh work for this transaction is done.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while env
            .server
            .live_query_stats(env.app.app_id)
            .unwrap()
            .settled_tx_id
            < tx
        {
            assert!(
                std::time::Instant::now() < deadline,
                "refresh never settled"
            );
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        for (q, s, last) in subs.iter_mut() {
            let fresh = env.query(q.clone()).await;
            if fresh != *last {
                let ev = s.next_event(5).await.unwrap_or_else(|| {
                    panic!("round {round} (seed {seed}): no refresh for {q} after {steps}; want {fresh}, have {last}")
                });
                assert_eq!(ev["op"], "refresh-ok", "{ev}");
                let got = ev["computations"][0]["instaql-result"].clone();
                assert_eq!(got, fresh, "round {round} (seed {seed}): {q} after {steps}");
                *last = got;
            }
        }
    }
    // No refresh is pending anywhere: every stream's next event (if any)
    // would have been a result equal to the last one.
    for (q, s, _) in subs.iter_mut() {
        let ev = tokio::time::timeout(std::time::Duration::from_millis(300), s.next_event(1))
            .await
            .ok()
            .flatten();
        assert!(ev.is_none(), "unexpected event for {q}: {ev:?}");
    }
}
