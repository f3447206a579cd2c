//! The benchmark suite of instant-rs: one command, one table.
//!
//! ```sh
//! benches/run.sh            # builds instant-local (release), runs this, the JS client bench
//! cargo bench --bench suite # this alone (the JS comparison runs when Node.js is there)
//! ```
//!
//! Measures, against `instant-local` (the release binary `target/release/instant-local`
//! when it exists, so both clients talk to the same out-of-process server;
//! otherwise an in-process server):
//! 1. typed query decode (`derive(Select)` rows) vs plain `serde_json` into a struct;
//! 2. query and transact round trips per second, sequential and 32 in flight, on
//!    the same app shape and data as `benches/js/bench.mjs`;
//! 3. the same through the official `@instantdb/admin` (`benches/js/run.sh`), as a ratio;
//! 4. bulk import rate of the 200k flights of vega-datasets (skipped when the
//!    file is absent; `FLIGHTS_JSON` overrides the path);
//! 5. live-query latency: a write until the subscription sees it.
//!
//! Writes the table to stdout and to `target/benchmarks/latest.md`.
//! Without `--bench` (as under `cargo test --benches`) it only prints a note.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use instantdb::client::BatchOptions;
use instantdb::typed::{Rows, TypedQuery};
use instantdb::{
    schema, tx, AttrDef, Client, Entity, EntityDef, Id, LocalServer, PlatformApi, Schema, Select,
};
use serde::Deserialize;
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const ITEMS: u64 = 1000;
const CONCURRENCY: usize = 32;

mod model {
    #![allow(missing_docs, dead_code)]
    use super::*;

    #[derive(Entity, Debug, Clone)]
    pub struct Item {
        pub id: Id,
        #[instant(unique, indexed)]
        pub name: String,
        #[instant(indexed)]
        pub n: f64,
        #[instant(indexed)]
        pub group: String,
        pub count: Option<f64>,
        pub payload: Option<serde_json::Value>,
    }

    schema! {
        entities { items: Item }
        links {}
    }

    #[derive(Select, Debug)]
    #[instant(entity = items)]
    pub struct ItemRow {
        pub id: Id,
        pub name: String,
        pub n: f64,
        pub group: String,
        pub count: Option<f64>,
    }
}
use model::ItemRow;

#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainRow {
    id: String,
    name: String,
    n: f64,
    group: String,
    count: Option<f64>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainResp {
    items: Vec<PlainRow>,
}

fn item_id(k: u64) -> Id {
    // The same ids as benches/js/bench.mjs.
    Id::parse(&format!("00000000-0000-4000-8000-{k:012x}")).expect("valid uuid")
}

fn items_schema() -> Schema {
    Schema::new().entity(
        "items",
        EntityDef::new()
            .attr("name", AttrDef::string().unique().indexed())
            .attr("n", AttrDef::number().indexed())
            .attr("group", AttrDef::string().indexed())
            .attr("count", AttrDef::number().optional())
            .attr("payload", AttrDef::json().optional()),
    )
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Row {
    what: String,
    value: String,
    note: String,
}

fn row(what: impl Into<String>, value: impl Into<String>, note: impl Into<String>) -> Row {
    Row {
        what: what.into(),
        value: value.into(),
        note: note.into(),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into());
    format!("{n} CPUs ({cpu}), load average {load} at start")
}

// 1. Decode.
fn bench_decode(rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let items: Vec<Value> = (0..ITEMS)
        .map(|k| {
            json!({"id": item_id(k), "name": format!("item-{k}"), "n": k, "group": format!("g{}", k % 20),
                   "count": k * 3})
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "items": items }))?;
    let time = |f: &dyn Fn() -> usize| {
        let mut iters = 0u64;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(2) {
            assert_eq!(f(), ITEMS as usize);
            iters += 1;
        }
        iters as f64 * ITEMS as f64 / t0.elapsed().as_secs_f64()
    };
    let typed = time(&|| {
        let r: <instantdb::typed::Query<ItemRow> as TypedQuery>::Output =
            instantdb::typed::decode(&body).expect("typed decode");
        let r: Rows<ItemRow> = r;
        r.len()
    });
    let plain = time(&|| {
        let r: PlainResp = serde_json::from_slice(&body).expect("plain decode");
        r.items.len()
    });
    rows.push(row(
        "typed decode (`derive(Select)`, 1,000-row result)",
        format!("{:.2} M rows/s", typed / 1e6),
        format!(
            "plain serde_json struct: {:.2} M rows/s (typed/plain = {:.2})",
            plain / 1e6,
            typed / plain
        ),
    ));
    Ok(())
}

// The server: the release binary when present (shared with the JS bench), else in-process.
enum Server {
    Bin(Child, String),
    InProc(LocalServer),
}

impl Server {
    fn url(&self) -> String {
        match self {
            Server::Bin(_, u) => u.clone(),
            Server::InProc(s) => s.url(),
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Server::Bin(..) => "instant-local release binary (separate process)",
            Server::InProc(_) => "instant-local in-process",
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Server::Bin(c, _) = self {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn local_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("INSTANT_LOCAL_BIN") {
        return Some(PathBuf::from(p));
    }
    let p = repo_root().join("target/release/instant-local");
    p.exists().then_some(p)
}

async fn start_server() -> Result<Server, BoxError> {
    if let Some(bin) = local_bin() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(&bin)
            .args([
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--db",
                ":memory:",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let url = format!("http://127.0.0.1:{port}");
        let server = Server::Bin(child, url.clone());
        let http = probe(&url);
        for _ in 0..100 {
            if http.await_ready().await {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        return Err(format!("{} did not start", bin.display()).into());
    }
    Ok(Server::InProc(LocalServer::builder().start().await?))
}

/// Readiness probe without another HTTP dependency: a TCP connect.
struct Probe(String);
fn probe(url: &str) -> Probe {
    Probe(url.trim_start_matches("http://").to_string())
}
impl Probe {
    async fn await_ready(&self) -> bool {
        tokio::net::TcpStream::connect(&self.0).await.is_ok()
    }
}

async fn new_app(url: &str, title: &str, schema: &Schema) -> Result<Client, BoxError> {
    let platform = PlatformApi::builder().api_uri(url).build()?;
    let app = platform
        .create_temporary_app(title, Some(schema), None)
        .await?;
    let token = app.app.admin_token.ok_or("no admin token")?;
    Ok(Client::builder()
        .app_id(app.app.id.to_string())
        .admin_token(token)
        .api_uri(url)
        .build()?)
}

async fn load_items(db: &Client) -> Result<(), BoxError> {
    let steps: Vec<_> = (0..ITEMS)
        .map(|k| {
            tx::entity("items", item_id(k)).update(json!({
                "name": format!("item-{k}"), "n": k, "group": format!("g{}", k % 20), "count": 0,
                "payload": {"k": k, "tags": ["a", "b"], "nested": {"even": k % 2 == 0}},
            }))
        })
        .collect();
    db.transact_batched(tx::steps(steps)?, BatchOptions::default(), |_| {})
        .await?;
    Ok(())
}

fn secs(var: &str, default: u64, max: u64) -> Duration {
    let s = std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Duration::from_secs(s.min(max))
}

/// Runs `op(seq)` from `workers` tasks: warm-up, then measures; ops per second.
async fn measure<F, Fut>(workers: usize, op: F) -> Result<f64, BoxError>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), BoxError>> + Send,
{
    let op = Arc::new(op);
    let seq = Arc::new(AtomicU64::new(0));
    let run_for = |d: Duration| {
        let op = op.clone();
        let seq = seq.clone();
        async move {
            let deadline = Instant::now() + d;
            let mut tasks = Vec::new();
            for _ in 0..workers {
                let op = op.clone();
                let seq = seq.clone();
                tasks.push(tokio::spawn(async move {
                    let mut done = 0u64;
                    while Instant::now() < deadline {
                        op(seq.fetch_add(1, Ordering::Relaxed)).await?;
                        done += 1;
                    }
                    Ok::<u64, BoxError>(done)
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await??;
            }
            Ok::<u64, BoxError>(total)
        }
    };
    run_for(secs("BENCH_WARMUP_SECONDS", 1, 5)).await?;
    let t0 = Instant::now();
    let done = run_for(secs("BENCH_SECONDS", 5, 10)).await?;
    Ok(done as f64 / t0.elapsed().as_secs_f64())
}

#[derive(Default, Clone, Copy)]
struct Trips {
    query_seq: f64,
    query_conc: f64,
    transact_seq: f64,
    transact_conc: f64,
}

async fn bench_round_trips(server: &Server) -> Result<Trips, BoxError> {
    let db = new_app(&server.url(), "rust-bench", &items_schema()).await?;
    load_items(&db).await?;
    let query = {
        let db = db.clone();
        move |s: u64| {
            let db = db.clone();
            async move {
                let k = (s * 7919) % ITEMS;
                let res = db
                    .query_raw(json!({"items": {"$": {"where": {"n": k}}}}))
                    .await?;
                let items = res["items"].as_array().ok_or("no items")?;
                if items.len() != 1 || items[0]["id"] != json!(item_id(k)) {
                    return Err(format!("query for n={k} returned {res}").into());
                }
                Ok(())
            }
        }
    };
    let transact = {
        let db = db.clone();
        move |s: u64| {
            let db = db.clone();
            async move {
                let k = (s * 104_729) % ITEMS;
                db.transact(tx::entity("items", item_id(k)).update(json!({"count": s})))
                    .await?;
                Ok(())
            }
        }
    };
    Ok(Trips {
        query_seq: measure(1, query.clone()).await?,
        query_conc: measure(CONCURRENCY, query).await?,
        transact_seq: measure(1, transact.clone()).await?,
        transact_conc: measure(CONCURRENCY, transact).await?,
    })
}

fn bench_js(bin: Option<&Path>) -> Result<Trips, String> {
    let Some(bin) = bin else {
        return Err("no instant-local release binary (run benches/run.sh)".into());
    };
    if Command::new("node").arg("--version").output().is_err() {
        return Err("Node.js not installed".into());
    }
    let out = Command::new("bash")
        .arg(repo_root().join("benches/js/run.sh"))
        .env("INSTANT_LOCAL_BIN", bin)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("benches/js/run.sh failed ({})", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().ok_or("no output")?;
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
    Ok(Trips {
        query_seq: f("query_seq_per_s"),
        query_conc: f("query_conc32_per_s"),
        transact_seq: f("transact_seq_per_s"),
        transact_conc: f("transact_conc32_per_s"),
    })
}

fn flights_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FLIGHTS_JSON") {
        return Some(PathBuf::from(p));
    }
    let root = repo_root();
    [
        root.join("../shared/data/vega/flights-200k.json"),
        root.join("../../shared/data/vega/flights-200k.json"),
        PathBuf::from("/work/shared/data/vega/flights-200k.json"),
    ]
    .into_iter()
    .find(|p| p.exists())
}

async fn bench_flights(server: &Server, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let Some(path) = flights_path() else {
        rows.push(row(
            "bulk import, 200k flights",
            "skipped",
            "flights-200k.json not found (set FLIGHTS_JSON)",
        ));
        return Ok(());
    };
    let flights: Vec<Value> = serde_json::from_slice(&std::fs::read(&path)?)?;
    let schema = Schema::new().entity(
        "flights",
        EntityDef::new()
            .attr("delay", AttrDef::number().indexed())
            .attr("distance", AttrDef::number().indexed())
            .attr("time", AttrDef::number()),
    );
    let db = new_app(&server.url(), "flights", &schema).await?;
    let t0 = Instant::now();
    let steps = tx::steps(flights.iter().map(|f| {
        tx::entity("flights", Id::new())
            .update(json!({"delay": f["delay"], "distance": f["distance"], "time": f["time"]}))
    }))?;
    let opts = BatchOptions {
        max_steps: 1000,
        max_values: 10_000,
        ..BatchOptions::default()
    };
    let report = db.transact_batched(steps, opts, |_| {}).await?;
    let s = t0.elapsed().as_secs_f64();
    let check = db
        .query_raw(
            json!({"flights": {"$": {"where": {"delay": {"$gt": 300}}, "fields": ["delay"]}}}),
        )
        .await?;
    rows.push(row(
        "bulk import, 200k flights (`transact_batched`, 1,000 steps per tx)",
        format!("{:.0} entities/s", flights.len() as f64 / s),
        format!(
            "{} entities, 3 attrs each, {} transactions, {s:.1} s; then {} flights with delay > 300",
            flights.len(),
            report.tx_ids.len(),
            check["flights"].as_array().map(|a| a.len()).unwrap_or(0)
        ),
    ));
    Ok(())
}

async fn wait(sub: &mut instantdb::Subscription) -> Result<Value, BoxError> {
    match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
        Ok(Some(u)) => Ok(u?.data),
        _ => Err("no live update within 10 s".into()),
    }
}

async fn bench_live(server: &Server, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let db = new_app(&server.url(), "live", &items_schema()).await?;
    load_items(&db).await?;
    let mut sub = db.subscribe_query_raw(json!({"items": {"$": {"where": {"n": 0}}}}))?;
    wait(&mut sub).await?;
    let mut lat = Vec::new();
    for i in 1..=50u64 {
        let t0 = Instant::now();
        db.transact(tx::entity("items", item_id(0)).update(json!({"count": i})))
            .await?;
        loop {
            let data = wait(&mut sub).await?;
            if data["items"][0]["count"] == json!(i) {
                break;
            }
        }
        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    sub.close();
    lat.sort_by(|a, b| a.total_cmp(b));
    rows.push(row(
        "live-query latency (write → update seen by the subscriber)",
        format!("median {:.2} ms", lat[lat.len() / 2]),
        format!(
            "p95 {:.2} ms, max {:.2} ms over {} writes",
            lat[lat.len() * 95 / 100],
            lat[lat.len() - 1],
            lat.len()
        ),
    ));
    Ok(())
}

async fn suite() -> Result<String, BoxError> {
    let mut rows = Vec::new();
    let machine = machine();
    eprintln!("[suite] machine: {machine}");
    eprintln!("[suite] decode");
    bench_decode(&mut rows)?;

    let server = start_server().await?;
    eprintln!("[suite] server: {}", server.kind());
    eprintln!("[suite] round trips (instant-rs)");
    let ours = bench_round_trips(&server).await?;
    eprintln!("[suite] live-query latency");
    bench_live(&server, &mut rows).await?;
    eprintln!("[suite] bulk import");
    bench_flights(&server, &mut rows).await?;
    drop(server);

    eprintln!("[suite] round trips (@instantdb/admin via benches/js)");
    let bin = local_bin();
    let js = tokio::task::spawn_blocking(move || bench_js(bin.as_deref())).await?;
    let pairs = [
        (
            "query round trips, sequential",
            ours.query_seq,
            js.as_ref().ok().map(|j| j.query_seq),
        ),
        (
            "query round trips, 32 in flight",
            ours.query_conc,
            js.as_ref().ok().map(|j| j.query_conc),
        ),
        (
            "transact round trips, sequential",
            ours.transact_seq,
            js.as_ref().ok().map(|j| j.transact_seq),
        ),
        (
            "transact round trips, 32 in flight",
            ours.transact_conc,
            js.as_ref().ok().map(|j| j.transact_conc),
        ),
    ];
    let mut trip_rows = Vec::new();
    for (what, r, j) in pairs {
        let note = match (j, &js) {
            (Some(j), _) if j > 0.0 => format!(
                "@instantdb/admin 1.0.67: {j:.0}/s → instant-rs/JS = {:.2}x",
                r / j
            ),
            (_, Err(e)) => format!("JS comparison skipped: {e}"),
            _ => "JS comparison: no figure".into(),
        };
        trip_rows.push(row(what, format!("{r:.0}/s"), note));
    }
    trip_rows.extend(rows);

    let mut md = String::new();
    md.push_str(&format!(
        "Machine: {machine}. Server: {}.\n\n",
        if local_bin().is_some() {
            "instant-local release binary, separate process, in-memory SQLite (both clients)"
        } else {
            "instant-local in-process (no release binary found)"
        }
    ));
    md.push_str("| measurement | instant-rs | notes |\n|---|---|---|\n");
    for r in &trip_rows {
        md.push_str(&format!("| {} | {} | {} |\n", r.what, r.value, r.note));
    }
    Ok(md)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("suite: run with `cargo bench --bench suite` or benches/run.sh (skipped under cargo test)");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(suite()) {
        Ok(md) => {
            println!("\n{md}");
            let dir = repo_root().join("target/benchmarks");
            let _ = std::fs::create_dir_all(&dir);
            if let Err(e) = std::fs::write(dir.join("latest.md"), &md) {
                eprintln!("could not write target/benchmarks/latest.md: {e}");
            }
        }
        Err(e) => {
            eprintln!("suite failed: {e}");
            std::process::exit(1);
        }
    }
}
