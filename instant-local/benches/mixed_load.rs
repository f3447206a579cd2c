//! Mixed load against instant-local (a bench binary; `cargo bench -p
//! instant-local --bench mixed_load`).
//!
//! 32 clients (`INSTANT_LOAD_CLIENTS`) for 60 s (`INSTANT_LOAD_SECS`) against one
//! in-process server on its own runtime, on an app of 5,000 todos with
//! permission rules. Each client loops over a mix: admin queries (indexed
//! filter, limit 20), admin transactions (update one todo), guest queries under
//! rules, queries as a signed-in user (`as-token`), and hostile requests (a
//! malformed query, a wrong admin token, an oversize `limit`). Prints requests
//! per second, p50/p99 latency per kind, the answers by status, and the
//! process's peak resident memory. A 5xx answer or a transport error is a
//! failure and makes the bench exit non-zero.
//!
//! Without `--bench` (e.g. `cargo test --benches`) it runs a two-second smoke
//! version with 4 clients.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use instant_local::LocalServer;
use serde_json::{json, Value};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    AdminQuery,
    AdminTransact,
    GuestQuery,
    UserQuery,
    Hostile,
}

const MIX: [Kind; 10] = [
    Kind::AdminQuery,
    Kind::AdminQuery,
    Kind::AdminQuery,
    Kind::AdminTransact,
    Kind::AdminTransact,
    Kind::GuestQuery,
    Kind::GuestQuery,
    Kind::UserQuery,
    Kind::UserQuery,
    Kind::Hostile,
];

struct Target {
    http: reqwest::Client,
    base: String,
    app_id: String,
    admin_token: String,
    user_token: String,
    ids: Vec<uuid::Uuid>,
}

impl Target {
    fn post(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{}", self.base, path))
            .header("app-id", &self.app_id)
            .json(body)
    }

    fn admin(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.post(path, body).bearer_auth(&self.admin_token)
    }

    async fn one(&self, kind: Kind, n: usize) -> Result<u16, String> {
        let todo_query = json!({"query": {"todos": {"$": {
            "where": {"priority": {"$gt": (n % 90) as i64}}, "limit": 20}}}});
        let req = match kind {
            Kind::AdminQuery => self.admin("/admin/query", &todo_query),
            Kind::AdminTransact => {
                let id = self.ids[n % self.ids.len()];
                self.admin(
                    "/admin/transact",
                    &json!({"steps": [["update", "todos", id, {"priority": (n % 100) as i64}]]}),
                )
            }
            Kind::GuestQuery => self
                .admin("/admin/query", &todo_query)
                .header("as-guest", "true"),
            Kind::UserQuery => self
                .admin("/admin/query", &todo_query)
                .header("as-token", &self.user_token),
            Kind::Hostile => match n % 3 {
                0 => self.admin(
                    "/admin/query",
                    &json!({"query": {"todos": {"$": {"where": {"priority": {"$bogus": 1}}}}}}),
                ),
                1 => self
                    .post("/admin/query", &todo_query)
                    .bearer_auth("00000000-0000-4000-8000-000000000000"),
                _ => self.admin(
                    "/admin/query",
                    &json!({"query": {"todos": {"$": {"limit": "lots"}}}}),
                ),
            },
        };
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        resp.bytes().await.map_err(|e| e.to_string())?;
        Ok(status)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Peak resident memory of this process (VmHWM), in KiB (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Creates a temporary app with an indexed `priority`, view rules, 5,000 todos
/// and one signed-in user.
async fn setup(base: String) -> Target {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let attr = |t: &str, indexed: bool| json!({"valueType": t, "config": {"indexed": indexed, "unique": false}, "required": false});
    let created: Value = http
        .post(format!("{base}/dash/apps/ephemeral"))
        .json(&json!({
            "title": "mixed load",
            "schema": {"entities": {"todos": {"attrs": {
                "title": attr("string", false), "priority": attr("number", true)}}}, "links": {}},
            "rules": {"code": {"todos": {"allow": {"view": "data.priority > 50 || auth.id != null"}}}},
        }))
        .send()
        .await
        .expect("create app")
        .json()
        .await
        .expect("app body");
    let mut t = Target {
        http,
        base,
        app_id: created["app"]["id"].as_str().expect("app id").to_string(),
        admin_token: created["app"]["admin-token"]
            .as_str()
            .expect("admin token")
            .to_string(),
        user_token: String::new(),
        ids: (0..5000).map(|_| uuid::Uuid::new_v4()).collect(),
    };
    for chunk in t.ids.chunks(1000) {
        let steps: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                json!(["update", "todos", id, {"title": format!("todo {i}"), "priority": (i % 100) as i64}])
            })
            .collect();
        let resp = t
            .admin("/admin/transact", &json!({"steps": steps}))
            .send()
            .await
            .expect("seed");
        assert_eq!(
            resp.status(),
            200,
            "seed: {}",
            resp.text().await.unwrap_or_default()
        );
    }
    let user: Value = t
        .admin(
            "/admin/refresh_tokens",
            &json!({"email": "load@example.com"}),
        )
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token body");
    t.user_token = user["user"]["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string();
    t
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let env_num = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let clients = env_num("INSTANT_LOAD_CLIENTS", if bench { 32 } else { 4 }) as usize;
    let secs = env_num("INSTANT_LOAD_SECS", if bench { 60 } else { 2 });

    // The server gets a runtime (and its worker threads) of its own.
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("server runtime");
        rt.block_on(async move {
            let server = LocalServer::builder().start().await.expect("server");
            url_tx.send(server.url()).expect("send");
            std::future::pending::<()>().await;
        });
    });
    let url = url_rx.recv().expect("server started");

    let rt = tokio::runtime::Runtime::new().expect("client runtime");
    let failures = rt.block_on(async move {
        let target = Arc::new(setup(url).await);
        let end = Instant::now() + Duration::from_secs(secs);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let t = target.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat: BTreeMap<Kind, Vec<Duration>> = BTreeMap::new();
                let mut statuses: BTreeMap<(Kind, u16), u64> = BTreeMap::new();
                let mut errors = Vec::new();
                let mut n = c * 7919;
                while Instant::now() < end {
                    let kind = MIX[n % MIX.len()];
                    let t0 = Instant::now();
                    match t.one(kind, n).await {
                        Ok(s) => {
                            lat.entry(kind).or_default().push(t0.elapsed());
                            *statuses.entry((kind, s)).or_default() += 1;
                        }
                        Err(e) => errors.push(e),
                    }
                    n += 1;
                }
                (lat, statuses, errors)
            }));
        }
        let mut lat: BTreeMap<Kind, Vec<Duration>> = BTreeMap::new();
        let mut statuses: BTreeMap<(Kind, u16), u64> = BTreeMap::new();
        let mut errors = Vec::new();
        for task in tasks {
            let (l, s, e) = task.await.expect("client task");
            for (k, v) in l {
                lat.entry(k).or_default().extend(v);
            }
            for (k, v) in s {
                *statuses.entry(k).or_default() += v;
            }
            errors.extend(e);
        }
        let wall = started.elapsed().as_secs_f64();
        let total: usize = lat.values().map(Vec::len).sum();
        println!(
            "mixed load: {clients} clients, {secs} s: {total} requests, {:.0} req/s",
            total as f64 / wall
        );
        for (k, v) in &mut lat {
            v.sort();
            println!(
                "  {k:?}: {} req ({:.0}/s), p50 {:.2} ms, p99 {:.2} ms",
                v.len(),
                v.len() as f64 / wall,
                percentile(v, 0.5).as_secs_f64() * 1e3,
                percentile(v, 0.99).as_secs_f64() * 1e3
            );
        }
        let mut fails = 0;
        for ((k, s), n) in &statuses {
            println!("  {k:?} -> {s}: {n}");
            if *s >= 500 {
                fails += n;
            }
        }
        if !errors.is_empty() {
            println!(
                "  transport errors: {} (first: {})",
                errors.len(),
                errors[0]
            );
        }
        if let Some(kib) = peak_rss_kib() {
            println!(
                "  peak RSS (server + clients): {:.1} MiB",
                kib as f64 / 1024.0
            );
        }
        fails + errors.len() as u64
    });
    if failures > 0 {
        eprintln!("mixed load: {failures} failed requests (5xx or transport errors)");
        std::process::exit(1);
    }
}
