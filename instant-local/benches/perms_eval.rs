//! How fast compiled permission rules run over many rows.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use instant_core::Id;
use instant_local::perms::{Action, Permissions, RefResolver, RuleContext};
use serde_json::{json, Value};

struct OwnerRefs;

impl RefResolver for OwnerRefs {
    fn resolve(&self, _ns: &str, _id: Id, _path: &str) -> Vec<Value> {
        vec![json!("u1")]
    }
}

fn bench(c: &mut Criterion) {
    let perms = Permissions::from_json(&json!({
        "todos": {
            "bind": ["isOwner", "auth.id != null && auth.id == data.ownerId"],
            "allow": {"view": "isOwner || data.public == true", "update": "auth.id in data.ref('owner.id')"}
        }
    }))
    .expect("rules compile");
    let rows: Vec<Value> = (0..10_000)
        .map(|i| json!({"id": Id::from_name(&i.to_string()).to_string(), "ownerId": if i % 2 == 0 { "u1" } else { "u2" }, "public": i % 3 == 0, "title": "x"}))
        .collect();
    let user = json!({"id": "u1"});
    let view = Action::View;
    let update = Action::Update;
    c.bench_function("view rule with bind, 10k rows", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|r| {
                    perms
                        .check(
                            &RuleContext::new("todos", &view, &OwnerRefs)
                                .auth(Some(&user))
                                .data(r),
                        )
                        .unwrap_or(false)
                })
                .count()
        })
    });
    c.bench_function("update rule with data.ref, 10k rows", |b| {
        b.iter(|| {
            rows.iter()
                .filter(|r| {
                    perms
                        .check(
                            &RuleContext::new("todos", &update, &OwnerRefs)
                                .auth(Some(&user))
                                .data(r)
                                .new_data(r),
                        )
                        .unwrap_or(false)
                })
                .count()
        })
    });
    c.bench_function("compile rules", |b| {
        b.iter(|| {
            Permissions::from_json(black_box(
                &json!({"todos": {"allow": {"view": "auth.id == data.ownerId && data.x > 3"}}}),
            ))
            .map(|p| {
                p.check(&RuleContext::new("todos", &view, &OwnerRefs))
                    .is_ok()
            })
        })
    });
}

// `criterion_group!` defines an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, bench);
}
criterion_main!(group::benches);
