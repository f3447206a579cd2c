//! Small queries per second against an in-process `instant-local` (loopback):
//! sequential, and 32 concurrent on one shared `Client` (one connection pool).
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::future::join_all;
use instant_client::Client;
use instant_core::{tx, Id};
use serde_json::json;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, db) = rt.block_on(async {
        let server = instant_local::LocalServer::builder().start().await.unwrap();
        let app = server.create_app("bench").await.unwrap();
        let db = Client::builder()
            .app_id(app.app_id.to_string())
            .admin_token(app.admin_token.as_str())
            .api_uri(server.url())
            .build()
            .unwrap();
        let steps: Vec<_> = (0..20)
            .map(|i| tx::entity("goals", Id::new()).update(json!({"title": format!("g{i}")})))
            .collect();
        db.transact(steps).await.unwrap();
        (server, db)
    });
    let q = json!({"goals": {"$": {"where": {"title": "g7"}}}});

    let mut g = c.benchmark_group("small_query");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sequential", |b| {
        b.to_async(&rt).iter(|| async {
            let v = db.query_raw(q.clone()).await.unwrap();
            assert_eq!(v["goals"].as_array().map(Vec::len), Some(1));
        })
    });
    g.throughput(Throughput::Elements(32));
    g.bench_function("concurrent_32", |b| {
        b.to_async(&rt).iter(|| async {
            let all = join_all((0..32).map(|_| db.query_raw(q.clone()))).await;
            assert!(all.iter().all(Result::is_ok));
        })
    });
    g.finish();
    drop(db);
    rt.block_on(server.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
