//! Decode benchmark (a bench binary, `cargo bench -p instant-macros --bench
//! decode`): a typed query result (`Rows<GoalCard>` with nested todos) decoded
//! straight from the response bytes, against the untyped path (parsing into a
//! `serde_json::Value` tree), for a response of 2,000 goals x 5 todos.

#[path = "../tests/fixtures/model.rs"]
#[allow(dead_code)]
mod model;

use std::time::{Duration, Instant};

use instant_core::typed::{decode, Rows};
use instant_core::Id;
use model::GoalCard;
use serde_json::{json, Value};

fn body() -> Vec<u8> {
    let goals: Vec<Value> = (0..2000)
        .map(|i| {
            json!({
                "id": Id::new(), "title": format!("goal {i}"), "priority": i,
                "todos": (0..5).map(|j| json!({
                    "id": Id::new(), "title": format!("todo {j}"),
                    "owner": {"id": Id::new(), "email": format!("u{j}@x.com")}
                })).collect::<Vec<_>>()
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "goals": goals })).expect("serialize")
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    start.elapsed() / runs as u32
}

fn main() {
    let bytes = body();
    let runs = 30;
    let typed = time(runs, || {
        let r: Rows<GoalCard> = decode(&bytes).expect("typed decode");
        assert_eq!(r.len(), 2000);
    });
    let untyped = time(runs, || {
        let v: Value = serde_json::from_slice(&bytes).expect("untyped decode");
        assert_eq!(v["goals"].as_array().map(Vec::len), Some(2000));
    });
    let untyped_then_typed = time(runs, || {
        let v: Value = serde_json::from_slice(&bytes).expect("untyped decode");
        let r: Rows<GoalCard> = instant_core::typed::decode_value(&v).expect("typed from value");
        assert_eq!(r.len(), 2000);
    });
    println!(
        "response: {} KiB, 2000 goals x 5 todos (+ has-one owner)",
        bytes.len() / 1024
    );
    println!(
        "typed decode from bytes (Rows<GoalCard>): {:.2} ms",
        typed.as_secs_f64() * 1e3
    );
    println!(
        "untyped parse to serde_json::Value:       {:.2} ms",
        untyped.as_secs_f64() * 1e3
    );
    println!(
        "Value tree, then typed decode:            {:.2} ms",
        untyped_then_typed.as_secs_f64() * 1e3
    );
}
