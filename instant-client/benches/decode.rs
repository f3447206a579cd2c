//! Decode of a ~2 MB query result into typed structs: the client's decode path
//! (`instant_client::decode_json`, used by every call) vs plain
//! `serde_json::from_slice`. Goal: <= 1.1x.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Todo {
    id: instant_core::Id,
    title: String,
    done: bool,
    priority: f64,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Goal {
    id: instant_core::Id,
    title: String,
    #[serde(rename = "createdAt")]
    created_at: String,
    tags: Vec<String>,
    todos: Vec<Todo>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Out {
    goals: Vec<Goal>,
}

fn payload() -> Vec<u8> {
    let goals: Vec<_> = (0..2700)
        .map(|i| {
            let todos: Vec<_> = (0..5)
                .map(|j| {
                    json!({"id": instant_core::Id::from_name(&format!("t{i}-{j}")),
                           "title": format!("todo {j} of goal {i} with some text"),
                           "done": j % 2 == 0, "priority": j as f64 * 1.5})
                })
                .collect();
            json!({"id": instant_core::Id::from_name(&format!("g{i}")),
                   "title": format!("Goal number {i}: get fit and stay fit"),
                   "createdAt": "2024-11-26T15:25:00.000Z",
                   "tags": ["health", "sport"], "todos": todos})
        })
        .collect();
    serde_json::to_vec(&json!({ "goals": goals })).unwrap()
}

fn bench(c: &mut Criterion) {
    let bytes = payload();
    eprintln!("payload: {} bytes", bytes.len());
    let mut g = c.benchmark_group("decode_2mb");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("serde_json::from_slice", |b| {
        b.iter(|| serde_json::from_slice::<Out>(black_box(&bytes)).unwrap())
    });
    g.bench_function("instant_client::decode_json", |b| {
        b.iter(|| instant_client::decode_json::<Out>(black_box(&bytes)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
