//! instant-local benchmarks (a bench binary; `cargo bench -p instant-local`).
//!
//! 1. bulk import of the 200k flights of `vega/flights-200k.json` through
//!    `/admin/transact` in batches (goal >= 100k entities/s);
//! 2. temporary app + schema + first query (goal <= 5 ms, p50);
//! 3. transact -> `refresh-ok` at a subscriber with 100 open subscriptions
//!    (goal p50 <= 5 ms), once with 4 distinct queries (shared recomputation)
//!    and once with 100 distinct queries, against a quiet-app baseline;
//! 4. indexed range query with `limit: 100` over the 200k flights (p50);
//! 5. live-query fan-out: 1,000 SSE subscribers on 100 distinct queries, one
//!    transaction that changes the results of 10% of them, then one that changes
//!    all of them: p50/p99 from sending the transaction until an affected
//!    subscriber has its `refresh-ok`, and until the last one has it; plus the
//!    process's resident memory per idle subscriber.
//!
//! Without `--bench` (e.g. `cargo test --benches`) it runs a tiny smoke version.
//! `INSTANT_BENCH_ONLY=import,query,temp,sse,fanout` picks stages (`fanout` alone
//! skips the import); `INSTANT_BENCH_DB=<file>` uses a file database instead of
//! the in-memory one.

use std::time::{Duration, Instant};

use futures::StreamExt;
use instant_local::{AppCredentials, LocalServer};
use serde_json::{json, Value};

fn data_dir() -> Option<std::path::PathBuf> {
    let mut dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("shared").join("data");
        if cand.join("README.md").exists() {
            return Some(cand);
        }
        if !dir.pop() {
            return None;
        }
    }
}

/// CPU time (user + system) of this process so far, from /proc (Linux only).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn only(stage: &str) -> bool {
    match std::env::var("INSTANT_BENCH_ONLY") {
        Ok(s) => s.split(',').any(|x| x == stage),
        Err(_) => true,
    }
}

fn p50(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p90(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 9) / 10]
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[((v.len() * 99) / 100).min(v.len() - 1)]
}

/// Resident memory of this process in KiB (Linux only).
fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Client {
    http: reqwest::Client,
    base: String,
    app: AppCredentials,
}

/// A transact body of `update` steps, serialized without building a JSON tree.
#[derive(serde::Serialize)]
struct TxBody<'a> {
    steps: Vec<(&'static str, &'static str, uuid::Uuid, &'a Value)>,
}

impl Client {
    async fn post_bytes(&self, path: &str, body: Vec<u8>) -> Value {
        let r = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("app-id", self.app.app_id.to_string())
            .header("authorization", format!("Bearer {}", self.app.admin_token))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        let s = r.status();
        let v: Value = r.json().await.expect("json");
        assert_eq!(s, 200, "{path}: {v}");
        v
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        self.post_bytes(path, serde_json::to_vec(body).expect("body"))
            .await
    }
}

async fn temp_app(http: &reqwest::Client, base: &str, schema: Value) -> AppCredentials {
    let r: Value = http
        .post(format!("{base}/dash/apps/ephemeral"))
        .json(&json!({"title": "bench", "schema": schema}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    AppCredentials {
        app_id: instant_core::Id::parse(r["app"]["id"].as_str().expect("id")).expect("uuid"),
        admin_token: r["app"]["admin-token"].as_str().expect("token").to_string(),
    }
}

fn flights_schema() -> Value {
    json!({"entities": {"flights": {"attrs": {
        "delay": {"valueType": "number", "config": {"unique": false, "indexed": true}, "required": false},
        "distance": {"valueType": "number", "config": {"unique": false, "indexed": true}, "required": false},
        "time": {"valueType": "number", "config": {"unique": false, "indexed": false}, "required": false}
    }}}})
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let full = std::env::args().any(|a| a == "--bench");
    // INSTANT_BENCH_DB=<file> runs against a file database (WAL) instead of memory.
    // Room for the 1,000 subscriber connections of the fan-out stage.
    let mut limits = instant_local::Limits::default();
    limits.max_connections = 4096;
    let mut builder = LocalServer::builder().limits(limits);
    if let Ok(p) = std::env::var("INSTANT_BENCH_DB") {
        let _ = std::fs::remove_file(&p);
        println!("database: file {p} (WAL)");
        builder = builder.db_path(p);
    } else {
        println!("database: in memory");
    }
    let server = builder.start().await.expect("start");
    let base = server.url();
    let http = reqwest::Client::new();

    // 5. live-query fan-out (first, so that `INSTANT_BENCH_ONLY=fanout` skips the rest).
    if only("fanout") {
        fanout_stage(&http, &base, full).await;
        let just_fanout = std::env::var("INSTANT_BENCH_ONLY")
            .map(|s| s.split(',').all(|x| x == "fanout"))
            .unwrap_or(false);
        if just_fanout {
            server.shutdown().await;
            return;
        }
    }

    // 1. bulk import
    let flights: Vec<Value> = match data_dir() {
        Some(d) => serde_json::from_str(
            &std::fs::read_to_string(d.join("vega/flights-200k.json")).expect("read flights"),
        )
        .expect("flights json"),
        None => {
            eprintln!("SKIP: shared/data not found; using synthetic flights");
            (0..200_000)
                .map(|i| json!({"delay": i % 97, "distance": i % 3000, "time": (i % 24) as f64}))
                .collect()
        }
    };
    // Only the import and query stages need all 200k flights.
    let n = if full && (only("import") || only("query")) {
        flights.len()
    } else {
        2_000
    };
    let batch = 5_000;
    // Sequential batches (each waits for the previous answer), then the same
    // import with two batches in flight, as a loader with a small pipeline would.
    let mut imported = None;
    for inflight in [1usize, 2] {
        let app = temp_app(&http, &base, flights_schema()).await;
        let c = Client {
            http: http.clone(),
            base: base.clone(),
            app,
        };
        let start = Instant::now();
        let cpu0 = cpu_time();
        let bodies = flights[..n].chunks(batch).map(|chunk| {
            // The body is serialized straight from borrowed rows (no JSON tree
            // built per request), as a bulk loader would.
            let body = TxBody {
                steps: chunk
                    .iter()
                    .map(|f| ("update", "flights", uuid::Uuid::new_v4(), f))
                    .collect(),
            };
            serde_json::to_vec(&body).expect("body")
        });
        futures::stream::iter(bodies)
            .map(|b| c.post_bytes("/admin/transact", b))
            .buffer_unordered(inflight)
            .collect::<Vec<_>>()
            .await;
        // Count the time until the last transaction is written to SQLite too.
        server.flush().await;
        let el = start.elapsed();
        let cpu = match (cpu0, cpu_time()) {
            (Some(a), Some(b)) => format!(
                "; process CPU {:.2?} (server + client) = {:.0} entities per CPU-second",
                b - a,
                n as f64 / (b - a).as_secs_f64().max(1e-9)
            ),
            _ => String::new(),
        };
        println!(
            "bulk import ({inflight} batch(es) in flight): {n} flights in {:.2?} (batches of {batch}) = {:.0} entities/s{cpu}",
            el,
            n as f64 / el.as_secs_f64()
        );
        imported = Some(c);
    }
    let c = imported.expect("imported");
    if !only("query") && !only("temp") && !only("sse") {
        return;
    }

    // 4. indexed range query, limit 100
    let iters = if !full {
        5
    } else if only("query") {
        200
    } else {
        1
    };
    let mut times = Vec::new();
    let q =
        json!({"query": {"flights": {"$": {"where": {"distance": {"$gt": 1000}}, "limit": 100}}}});
    for _ in 0..iters {
        let t = Instant::now();
        let r = c.post("/admin/query", &q).await;
        times.push(t.elapsed());
        assert_eq!(
            r["flights"].as_array().map(Vec::len).unwrap_or(0),
            100.min(n)
        );
    }
    println!(
        "indexed range query (distance > 1000, limit 100, default order) over {n}: p50 {:.2?}, p90 {:.2?}",
        p50(times.clone()),
        p90(times)
    );
    let mut times = Vec::new();
    let q = json!({"query": {"flights": {"$": {"where": {"distance": {"$gt": 1000}}, "order": {"distance": "asc"}, "limit": 100}}}});
    for _ in 0..iters {
        let t = Instant::now();
        c.post("/admin/query", &q).await;
        times.push(t.elapsed());
    }
    println!(
        "indexed range query ordered by distance, limit 100 over {n}: p50 {:.2?}, p90 {:.2?}",
        p50(times.clone()),
        p90(times)
    );

    // 2. temporary app + schema + first query
    let iters = if full && only("temp") { 100 } else { 3 };
    let schema = json!({"entities": {
        "todos": {"attrs": {"title": {"valueType": "string", "config": {"unique": false, "indexed": true}, "required": true},
                            "done": {"valueType": "boolean", "config": {"unique": false, "indexed": false}, "required": false}}},
        "goals": {"attrs": {"name": {"valueType": "string", "config": {"unique": true, "indexed": true}, "required": false}}}},
        "links": {"goalsTodos": {"forward": {"on": "goals", "has": "many", "label": "todos"}, "reverse": {"on": "todos", "has": "one", "label": "goal"}}}});
    let mut times = Vec::new();
    for _ in 0..iters {
        let t = Instant::now();
        let app = temp_app(&http, &base, schema.clone()).await;
        let c2 = Client {
            http: http.clone(),
            base: base.clone(),
            app,
        };
        c2.post("/admin/query", &json!({"query": {"goals": {"todos": {}}}}))
            .await;
        times.push(t.elapsed());
    }
    println!(
        "temporary app + schema + first query: p50 {:.2?}, p90 {:.2?}",
        p50(times.clone()),
        p90(times)
    );

    // 3. transact -> refresh-ok with 100 subscribers: a mix of 4 distinct
    // queries (identical subscriptions share their recomputation), then 100
    // distinct queries (nothing shared).
    let iters = if full && only("sse") { 100 } else { 3 };
    // Baseline: transact latency in an app without subscribers.
    let quiet = temp_app(&http, &base, schema.clone()).await;
    let cq = Client {
        http: http.clone(),
        base: base.clone(),
        app: quiet,
    };
    let mut quiet_times = Vec::new();
    for k in 0..iters {
        let t = Instant::now();
        cq.post(
            "/admin/transact",
            &json!({"steps": [["update", "todos", uuid::Uuid::new_v4().to_string(), {"title": format!("t{k}")}]]}),
        )
        .await;
        quiet_times.push(t.elapsed());
    }
    println!(
        "transact response time without subscribers: p50 {:.2?}, p90 {:.2?}",
        p50(quiet_times.clone()),
        p90(quiet_times)
    );
    for distinct in [false, true] {
        sse_stage(&http, &base, &schema, distinct, iters).await;
    }
    server.shutdown().await;
}

/// Stage 3: 100 subscriptions (75 of them read `todos`, 25 change with each
/// transaction), then `iters` transactions adding a todo; measures the time
/// from sending the transaction to the `refresh-ok` at the first and at the
/// last changed subscriber. `distinct`: every subscription is a different query
/// (different where values), so no recomputation is shared.
async fn sse_stage(
    http: &reqwest::Client,
    base: &str,
    schema: &Value,
    distinct: bool,
    iters: usize,
) {
    let app = temp_app(http, base, schema.clone()).await;
    let c3 = Client {
        http: http.clone(),
        base: base.to_string(),
        app: app.clone(),
    };
    let mut streams = Vec::new();
    for i in 0..100 {
        let q = match (i % 4, distinct) {
            (0, false) => json!({"todos": {}}),
            (1, false) => json!({"goals": {"todos": {}}}),
            (2, false) => json!({"todos": {"$": {"where": {"done": true}}}}),
            (_, false) => json!({"other": {}}),
            // Every todo matches `title != "x<i>"`: 25 results change.
            (0, true) => json!({"todos": {"$": {"where": {"title": {"$ne": format!("x{i}")}}}}}),
            (1, true) => {
                json!({"goals": {"$": {"where": {"name": {"$ne": format!("x{i}")}}}, "todos": {}}})
            }
            (2, true) => {
                json!({"todos": {"$": {"where": {"done": true, "title": {"$ne": format!("x{i}")}}}}})
            }
            (_, true) => json!({"other": {"$": {"where": {"n": i}}}}),
        };
        let r = http
            .post(format!("{base}/admin/subscribe-query"))
            .header("app-id", app.app_id.to_string())
            .header("authorization", format!("Bearer {}", app.admin_token))
            .json(&json!({"query": q}))
            .send()
            .await
            .expect("subscribe");
        streams.push(Box::pin(r.bytes_stream()));
    }
    // Drain each stream's first events (sse-init, add-query-ok).
    let mut bufs: Vec<String> = vec![String::new(); streams.len()];
    for (i, s) in streams.iter_mut().enumerate() {
        while bufs[i].matches("data:").count() < 2 {
            let chunk = s.next().await.expect("stream").expect("chunk");
            bufs[i].push_str(&String::from_utf8_lossy(&chunk));
        }
        bufs[i].clear();
    }
    // Subscribers 0 and 96 read all todos: the first and the last to refresh.
    let last = 96;
    let mut first_times = Vec::new();
    let mut last_times = Vec::new();
    let mut tx_times = Vec::new();
    for k in 0..iters {
        let t = Instant::now();
        c3.post(
            "/admin/transact",
            &json!({"steps": [["update", "todos", uuid::Uuid::new_v4().to_string(), {"title": format!("t{k}")}]]}),
        )
        .await;
        tx_times.push(t.elapsed());
        for (i, times) in [(0, &mut first_times), (last, &mut last_times)] {
            while !bufs[i].contains("refresh-ok") {
                let chunk = streams[i].next().await.expect("stream").expect("chunk");
                bufs[i].push_str(&String::from_utf8_lossy(&chunk));
            }
            times.push(t.elapsed());
            bufs[i].clear();
        }
    }
    let what = if distinct {
        "100 distinct queries"
    } else {
        "4 distinct queries"
    };
    println!(
        "transact -> refresh-ok (100 subscribers, {what}, 75 read todos, 25 change): first subscriber p50 {:.2?}, p90 {:.2?}; last subscriber p50 {:.2?}, p90 {:.2?}",
        p50(first_times.clone()),
        p90(first_times),
        p50(last_times.clone()),
        p90(last_times)
    );
    println!(
        "transact response time with 100 subscribers ({what}): p50 {:.2?}, p90 {:.2?}",
        p50(tx_times.clone()),
        p90(tx_times)
    );
    drop(streams);
}

/// Stage 5: `subs` SSE subscribers on `queries` distinct queries (`todos` where
/// `g` = the query's number; `subs / queries` subscribers each), then
/// transactions that update one todo in each of `queries / 10` groups (10% of
/// the subscribers see a change), then in every group (all of them). Each
/// subscriber's stream is read by its own task, which reports the arrival of
/// each `refresh-ok`.
async fn fanout_stage(http: &reqwest::Client, base: &str, full: bool) {
    let (subs, queries, iters) = if full { (1000, 100, 30) } else { (50, 10, 2) };
    let schema = json!({"entities": {"todos": {"attrs": {
        "g": {"valueType": "number", "config": {"unique": false, "indexed": true}, "required": false},
        "n": {"valueType": "number", "config": {"unique": false, "indexed": false}, "required": false}}}}});
    let app = temp_app(http, base, schema).await;
    let c = Client {
        http: http.clone(),
        base: base.to_string(),
        app: app.clone(),
    };
    // Five todos per group.
    let mut todos: Vec<Vec<String>> = vec![Vec::new(); queries];
    let mut steps = Vec::new();
    for (g, ids) in todos.iter_mut().enumerate() {
        for _ in 0..5 {
            let id = uuid::Uuid::new_v4().to_string();
            steps.push(json!(["update", "todos", id, {"g": g, "n": 0}]));
            ids.push(id);
        }
    }
    c.post("/admin/transact", &json!({ "steps": steps })).await;

    let rss0 = rss_kib();
    // Streams get their own connections (one per subscriber, as real clients).
    let sse_http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let mut tasks = Vec::new();
    for i in 0..subs {
        let q = json!({"todos": {"$": {"where": {"g": i % queries}}}});
        let r = sse_http
            .post(format!("{base}/admin/subscribe-query"))
            .header("app-id", app.app_id.to_string())
            .header("authorization", format!("Bearer {}", app.admin_token))
            .json(&json!({ "query": q }))
            .send()
            .await
            .expect("subscribe");
        let (tx, ready_tx) = (tx.clone(), ready_tx.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = Box::pin(r.bytes_stream());
            let mut buf = String::new();
            let mut opened = false;
            while let Some(Ok(chunk)) = s.next().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let ev: String = buf.drain(..end + 2).collect();
                    if ev.starts_with("data:{\"op\":\"add-query-ok\"") && !opened {
                        opened = true;
                        let _ = ready_tx.send(i);
                    } else if ev.starts_with("data:{\"op\":\"refresh-ok\"") {
                        let _ = tx.send((i, Instant::now()));
                    }
                }
            }
        }));
    }
    for _ in 0..subs {
        ready_rx.recv().await.expect("ready");
    }
    let idle = match (rss0, rss_kib()) {
        (Some(a), Some(b)) => format!(
            "; resident memory +{:.1} MiB for {subs} idle subscribers = {:.1} KiB each (server and client side of each connection, one process)",
            (b.saturating_sub(a)) as f64 / 1024.0,
            (b.saturating_sub(a)) as f64 / subs as f64
        ),
        _ => String::new(),
    };
    println!("fan-out: {subs} subscribers on {queries} distinct queries open{idle}");

    // Every write sets a new `n`, so each one changes the results it touches.
    let mut serial = 0;
    for (what, groups) in [("10% affected", queries / 10), ("all affected", queries)] {
        let affected = subs * groups / queries;
        let mut each = Vec::new();
        let mut last = Vec::new();
        for k in 0..iters {
            // Groups k*groups.. (mod queries): a different 10% each time.
            serial += 1;
            let steps: Vec<Value> = (0..groups)
                .map(|j| {
                    let g = (k * groups + j) % queries;
                    json!(["update", "todos", todos[g][k % 5], {"n": serial}])
                })
                .collect();
            let t = Instant::now();
            c.post("/admin/transact", &json!({ "steps": steps })).await;
            let mut got = 0;
            let mut worst = Duration::ZERO;
            while got < affected {
                let (_, at) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                    .await
                    .expect("refresh-ok within 60 s")
                    .expect("stream");
                let d = at.duration_since(t);
                each.push(d);
                worst = worst.max(d);
                got += 1;
            }
            last.push(worst);
        }
        println!(
            "fan-out transact -> refresh-ok ({subs} subscribers, {queries} queries, {what}: {affected} subscribers): each affected subscriber p50 {:.2?}, p99 {:.2?}; until the last affected subscriber p50 {:.2?}, p99 {:.2?} ({iters} transactions)",
            p50(each.clone()),
            p99(each),
            p50(last.clone()),
            p99(last)
        );
    }
    for t in tasks {
        t.abort();
    }
}
