//! Permission rules cannot crash, hang or burn the server: size and nesting
//! bounds checked before parsing, at every entry point (temporary and
//! Platform app creation, perms push, the perms-check routes'
//! `rules-override`, backup restore, rules stored by an older version), a
//! bounded evaluation cost (comprehension steps, the request's deadline), and
//! the official validation messages (`server/src/instant/model/rule.clj`
//! `validation-errors`, `bind-validation-errors`, `expr-validation-errors`).
//!
//! A rule that overflowed the stack aborted the whole process: before the
//! fix, the tests below that compile deep rules kill this test binary.

mod common;

use std::time::{Duration, Instant};

use common::env::{AppClient, TempApp};
use common::fixtures::{copy_backup, TempDir};
use instant_local::perms::{Action, NoRefs, Permissions, RuleContext, RuleError, StopSignal};
use instant_local::{Limits, LocalServer};
use serde_json::{json, Value};

const PAT: &str = "per_hardening_rules_token";
const TODO_ID: &str = "3c9e0b8a-1111-4111-8111-111111111111";

/// Pathological rule shapes of `n` terms (the adversarial pass's findings).
fn deep_shapes(n: usize) -> Vec<(&'static str, String)> {
    vec![
        ("plus", format!("{} > 0", vec!["1"; n].join(" + "))),
        ("times", format!("{} > 0", vec!["1"; n].join(" * "))),
        ("strings", format!("{} != ''", vec!["'a'"; n].join(" + "))),
        ("equals", vec!["1"; n].join(" == ")),
        ("select", format!("auth{} == 1", ".x".repeat(n))),
        ("index", format!("auth{} == 1", "[0]".repeat(n))),
        ("parens", format!("{}true{}", "(".repeat(n), ")".repeat(n))),
        ("unclosed", "(".repeat(n)),
        ("lists", format!("{}1{} != 0", "[".repeat(n), "]".repeat(n))),
        (
            "maps",
            format!("{}1{} != 0", "{1: ".repeat(n), "}".repeat(n)),
        ),
        (
            "conditional",
            format!("{}true", "true ? false : ".repeat(n)),
        ),
        ("not", format!("{}true", "!".repeat(n))),
        (
            "calls",
            format!("{}1{} > 0", "int(".repeat(n), ")".repeat(n)),
        ),
    ]
}

fn view_rules(code: &str) -> Value {
    json!({"todos": {"allow": {"view": code}}})
}

/// The issues of rules that must be refused.
fn refused(rules: &Value, limits: &Limits) -> Vec<(String, Vec<String>)> {
    match Permissions::from_json_with(rules, limits) {
        Ok(_) => panic!("rules should be refused"),
        Err(e) => e
            .issues()
            .iter()
            .map(|i| (i.message.clone(), i.path.clone()))
            .collect(),
    }
}

fn path(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

#[test]
fn deep_rules_are_refused_without_overflowing() {
    let limits = Limits::default();
    // 5,000 terms (the finding) and 10x the depth limit, within the size limit.
    for n in [5_000, limits.max_rule_depth * 10, limits.max_rule_depth + 8] {
        for (shape, code) in deep_shapes(n) {
            if code.len() > limits.max_rule_bytes {
                continue;
            }
            let t0 = Instant::now();
            let issues = refused(&view_rules(&code), &limits);
            let took = t0.elapsed();
            assert_eq!(issues.len(), 1, "{shape} {n}: {issues:?}");
            assert_eq!(issues[0].1, path(&["todos", "allow", "view"]), "{shape}");
            assert!(
                issues[0].0.contains("recursion limit exceeded"),
                "{shape} {n}: {}",
                issues[0].0
            );
            if n == 5_000 {
                eprintln!("{shape} x5000 ({} bytes) refused in {took:?}", code.len());
            }
        }
    }
    // Larger than the size limit (10x): refused before anything else.
    for (shape, code) in deep_shapes(limits.max_rule_bytes * 10 / 4) {
        assert!(code.len() > limits.max_rule_bytes, "{shape}");
        let issues = refused(&view_rules(&code), &limits);
        assert!(
            issues[0].0.contains("size exceeds limit"),
            "{shape}: {}",
            issues[0].0
        );
    }
    // The finding's 5,000-term rules with a size limit that lets them reach
    // the depth check (worst case of the refusal).
    let mut roomy = Limits::default();
    roomy.max_rule_bytes = 1024 * 1024;
    for (shape, code) in deep_shapes(5_000) {
        let t0 = Instant::now();
        let issues = refused(&view_rules(&code), &roomy);
        let took = t0.elapsed();
        assert!(issues[0].0.contains("recursion limit exceeded"), "{shape}");
        eprintln!("{shape} x5000 ({} bytes) refused in {took:?}", code.len());
    }
    // A whole document over its limit.
    let mut big = serde_json::Map::new();
    for i in 0..(limits.max_rules_doc_bytes / 1000 + 10) {
        big.insert(
            format!("ns{i}"),
            view_rules(&"x".repeat(990))["todos"].clone(),
        );
    }
    let issues = refused(&Value::Object(big), &limits);
    assert!(issues[0].0.contains("too large"), "{issues:?}");
}

#[test]
fn deep_binds_fields_and_link_rules_are_refused() {
    let limits = Limits::default();
    let deep = deep_rule();
    let cases = [
        (
            json!({"todos": {"allow": {"view": "b"}, "bind": ["b", deep.clone()]}}),
            path(&["todos", "bind", "b"]),
        ),
        (
            json!({"todos": {"fields": {"title": deep.clone()}}}),
            path(&["todos", "fields", "title"]),
        ),
        (
            json!({"todos": {"allow": {"link": {"owner": deep.clone()}}}}),
            path(&["todos", "allow", "link", "owner"]),
        ),
        (
            json!({"$default": {"allow": {"$default": deep.clone()}}}),
            path(&["$default", "allow", "$default"]),
        ),
    ];
    for (rules, at) in cases {
        let issues = refused(&rules, &limits);
        assert_eq!(issues[0].1, at);
        assert!(issues[0].0.contains("recursion limit exceeded"));
    }
    // Shallow binds chained through each other: the expanded rule (one
    // `cel.bind` per bind) is bounded too (10x the depth limit of binds).
    let mut bind = serde_json::Map::new();
    let n = limits.max_rule_depth * 10;
    for i in 0..n {
        bind.insert(format!("b{i}"), json!(format!("b{}", i + 1)));
    }
    bind.insert(format!("b{n}"), json!("true"));
    let issues = refused(
        &json!({"todos": {"allow": {"view": "b0"}, "bind": bind}}),
        &limits,
    );
    assert_eq!(issues[0].1, path(&["todos", "allow", "view"]));
    assert!(
        issues[0].0.contains("recursion limit exceeded"),
        "{}",
        issues[0].0
    );
}

fn eval_view(p: &Permissions) -> Result<bool, RuleError> {
    let data = json!({"id": TODO_ID, "n": 1});
    let act = Action::View;
    let ctx = RuleContext::new("todos", &act, &NoRefs).data(&data);
    p.check(&ctx)
}

#[test]
fn rules_at_the_depth_limit_compile_evaluate_and_drop_on_small_stacks() {
    let limits = Limits::default();
    // Just within the limit for every shape: accepted, evaluated on this
    // thread (the rule runs on the rule stack), dropped on a 256 KiB thread.
    let mut accepted = 0;
    for n in (1..limits.max_rule_depth).rev() {
        let mut all = true;
        for (shape, code) in deep_shapes(n) {
            if shape == "unclosed" {
                continue;
            }
            match Permissions::from_json_with(&view_rules(&code), &limits) {
                Ok(p) => {
                    accepted += 1;
                    let _ = eval_view(&p);
                    std::thread::Builder::new()
                        .stack_size(256 * 1024)
                        .spawn(move || drop(p))
                        .expect("spawn")
                        .join()
                        .expect("drop");
                }
                Err(_) => all = false,
            }
        }
        if all {
            break;
        }
    }
    assert!(accepted >= 12, "{accepted}");
    // 40 binds used by one rule are fine.
    let mut bind = serde_json::Map::new();
    for i in 0..40 {
        bind.insert(format!("b{i}"), json!(format!("b{} && data.n == 1", i + 1)));
    }
    bind.insert("b40".into(), json!("true"));
    let p = Permissions::from_json_with(
        &json!({"todos": {"allow": {"view": "b0"}, "bind": bind}}),
        &limits,
    )
    .expect("40 binds");
    assert_eq!(eval_view(&p), Ok(true));
}

#[test]
fn non_string_rules_are_refused_with_the_official_message() {
    // rule.clj `expr-validation-errors`: anything but CEL text fails with
    // "There was an unexpected error evaluating the rules" at its path.
    let limits = Limits::default();
    for (rules, at) in [
        (
            json!({"todos": {"allow": {"view": 5}}}),
            path(&["todos", "allow", "view"]),
        ),
        (
            json!({"todos": {"allow": {"update": ["x"]}}}),
            path(&["todos", "allow", "update"]),
        ),
        (
            json!({"todos": {"fields": {"title": 5}}}),
            path(&["todos", "fields", "title"]),
        ),
    ] {
        assert_eq!(
            refused(&rules, &limits),
            vec![(
                "There was an unexpected error evaluating the rules".to_string(),
                at
            )]
        );
    }
    // Booleans and null stay accepted (`patch-code`; a nil rule is no rule).
    assert!(
        Permissions::from_json(&json!({"todos": {"allow": {"view": true, "update": null}}}))
            .is_ok()
    );
}

/// A rule like the adversarial pass's 1.2 KB one of nested comprehensions:
/// 80^5 iterations (22 CPU-seconds per entity before the fix).
fn nested_comprehension_rule() -> String {
    let list = format!(
        "[{}]",
        (1..=80)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let s = format!(
        "{list}.all(a, {list}.all(b, {list}.all(c, {list}.all(d, {list}.exists(e, a + b + c + d + e < 0) || true))))"
    );
    assert!(s.len() > 1_200, "{}", s.len());
    s
}

#[test]
fn nested_comprehensions_run_out_of_steps_and_deny() {
    let p = Permissions::from_json(&view_rules(&nested_comprehension_rule())).expect("valid");
    let t0 = Instant::now();
    let cpu0 = cpu_time();
    let r = eval_view(&p);
    eprintln!(
        "nested-comprehension rule: {:?} wall, {:?} CPU per entity",
        t0.elapsed(),
        cpu_time().saturating_sub(cpu0)
    );
    match r {
        Err(RuleError::Evaluation { message, .. }) => {
            assert!(message.contains("evaluation steps"), "{message}")
        }
        other => panic!("expected an evaluation error, got {other:?}"),
    }
    // A budget that suffices lets the same kind of rule pass.
    let small = "[1,2,3].all(a, [1,2,3].exists(b, a + b > 0))";
    assert_eq!(
        eval_view(&Permissions::from_json(&view_rules(small)).unwrap()),
        Ok(true)
    );
    // With a smaller configured budget, a smaller rule is cut.
    let mut limits = Limits::default();
    limits.max_rule_eval_steps = 10;
    let p = Permissions::from_json_with(&view_rules(small), &limits).unwrap();
    assert!(matches!(eval_view(&p), Err(RuleError::Evaluation { .. })));
}

/// A stop signal that has already fired (a passed deadline).
struct Fired;

impl StopSignal for Fired {
    fn should_stop(&self) -> bool {
        true
    }
    fn clone_signal(&self) -> Box<dyn StopSignal> {
        Box::new(Fired)
    }
}

#[test]
fn a_fired_stop_signal_interrupts_evaluation() {
    let p = Permissions::from_json(&view_rules(&nested_comprehension_rule())).unwrap();
    let data = json!({"id": TODO_ID});
    let act = Action::View;
    let ctx = RuleContext::new("todos", &act, &NoRefs)
        .data(&data)
        .stop(&Fired);
    assert_eq!(p.check(&ctx), Err(RuleError::Interrupted));
    let body = RuleError::Interrupted
        .to_api_error("rule", Value::Null)
        .to_body();
    assert_eq!(body["type"], "timeout");
}

/// This process's CPU time (Linux `/proc/self/stat` utime + stime).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

// ---- HTTP entry points ---------------------------------------------------

async fn server_with(limits: Limits) -> LocalServer {
    LocalServer::builder()
        .platform_token(PAT)
        .limits(limits)
        .start()
        .await
        .expect("start")
}

/// 3,000 terms: within the size limit, far over the depth limit.
fn deep_rule() -> String {
    format!("{} > 0", vec!["1"; 3_000].join(" + "))
}

/// Asserts a 400 `validation-failed` of `data_type` whose first error is at `at`.
fn assert_refused(status: u16, body: &Value, data_type: &str, at: &[&str]) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["type"], "validation-failed", "{body}");
    assert_eq!(body["hint"]["data-type"], data_type, "{body}");
    assert_eq!(body["hint"]["errors"][0]["in"], json!(at), "{body}");
}

async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut r = http.post(url).json(&body);
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    let r = r.send().await.expect("send");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_entry_point_refuses_deep_rules_with_a_400() {
    let server = server_with(Limits::default()).await;
    let url = server.url();
    let http = reqwest::Client::new();
    let deep = view_rules(&deep_rule());

    // Temporary app creation (no auth): `ephemeral_app.clj`, data type `rule`.
    let (s, b) = post(
        &http,
        &format!("{url}/dash/apps/ephemeral"),
        None,
        json!({"title": "deep", "rules": {"code": deep}}),
    )
    .await;
    assert_refused(s, &b, "rule", &["todos", "allow", "view"]);
    assert!(b["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("Validation failed for rule: "));

    // Platform app creation with perms: `superadmin/routes.clj`, `perms`.
    let (s, b) = post(
        &http,
        &format!("{url}/superadmin/apps"),
        Some(PAT),
        json!({"title": "deep", "perms": deep}),
    )
    .await;
    assert_refused(s, &b, "perms", &["todos", "allow", "view"]);

    // Perms push: `rule`.
    let app = AppClient::create_temp(&url, json!({"title": "ok"})).await;
    let push = format!("{url}/superadmin/apps/{}/perms", app.app_id);
    let (s, b) = post(&http, &push, Some(PAT), json!({"code": deep})).await;
    assert_refused(s, &b, "rule", &["todos", "allow", "view"]);
    // `"view": 5` is refused when stored.
    let (s, b) = post(
        &http,
        &push,
        Some(PAT),
        json!({"code": {"todos": {"allow": {"view": 5}}}}),
    )
    .await;
    assert_refused(s, &b, "rule", &["todos", "allow", "view"]);
    assert_eq!(
        b["hint"]["errors"][0]["message"],
        "There was an unexpected error evaluating the rules"
    );
    // Nothing was stored.
    let r = http
        .get(&push)
        .header("authorization", format!("Bearer {PAT}"))
        .send()
        .await
        .unwrap();
    let got: Value = r.json().await.unwrap();
    assert_eq!(got["perms"], Value::Null, "{got}");

    // The perms-check routes' `rules-override` (`admin/routes.clj`): `rule`.
    for route in ["/admin/query_perms_check", "/admin/transact_perms_check"] {
        let (s, b) = app
            .post(
                route,
                true,
                &[("as-guest", "true")],
                json!({"query": {"todos": {}}, "steps": [], "rules-override": deep}),
            )
            .await;
        assert_refused(s, &b, "rule", &["todos", "allow", "view"]);
    }
    // And the server is still up.
    let (s, _) = app
        .post("/admin/query", true, &[], json!({"query": {"todos": {}}}))
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn perms_push_refuses_repeated_bind_names() {
    // rule.clj `bind-validation-errors`.
    let server = server_with(Limits::default()).await;
    let url = server.url();
    let http = reqwest::Client::new();
    let app = AppClient::create_temp(&url, json!({"title": "binds"})).await;
    let push = format!("{url}/superadmin/apps/{}/perms", app.app_id);
    let (s, b) = post(
        &http,
        &push,
        Some(&app.token),
        json!({"code": {"todos": {"allow": {"view": "a"}, "bind": ["a", "true", "a", "false"]}}}),
    )
    .await;
    assert_refused(s, &b, "rule", &["todos", "bind", "a"]);
    assert_eq!(
        b["hint"]["errors"][0]["message"],
        "bind should only contain a given variable name once"
    );
    assert_eq!(
        b["message"],
        "Validation failed for rule: bind should only contain a given variable name once"
    );
}

#[tokio::test]
async fn rule_evaluation_cost_is_bounded_over_http() {
    let mut limits = Limits::default();
    limits.max_rule_eval_steps = 1_000;
    let rules = view_rules(&nested_comprehension_rule());
    let app = TempApp::on(
        server_with(limits).await,
        json!({"title": "cpu", "rules": {"code": rules}}),
    )
    .await;
    let (s, _) = app
        .post(
            "/admin/transact",
            true,
            &[],
            json!({"steps": [["update", "todos", TODO_ID, {"title": "t"}]]}),
        )
        .await;
    assert_eq!(s, 200);
    // Out of steps: refused (never allowed), `permission-evaluation-failed`.
    let (s, b) = app
        .post(
            "/admin/query",
            true,
            &[("as-guest", "true")],
            json!({"query": {"todos": {}}}),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["type"], "permission-evaluation-failed", "{b}");
    assert_eq!(b["hint"]["rule"], json!(["todos", "view"]), "{b}");

    // With steps to spare but a short query timeout: 429 `timeout`.
    let mut limits = Limits::default();
    limits.max_rule_eval_steps = u64::MAX;
    limits.query_timeout = Duration::from_millis(200);
    let app = TempApp::on(
        server_with(limits).await,
        json!({"title": "slow", "rules": {"code": view_rules(&nested_comprehension_rule())}}),
    )
    .await;
    app.post(
        "/admin/transact",
        true,
        &[],
        json!({"steps": [["update", "todos", TODO_ID, {"title": "t"}]]}),
    )
    .await;
    let t0 = Instant::now();
    let (s, b) = app
        .post(
            "/admin/query_perms_check",
            true,
            &[("as-guest", "true")],
            json!({"query": {"todos": {}}}),
        )
        .await;
    assert_eq!(s, 429, "{b}");
    assert_eq!(b["type"], "timeout", "{b}");
    // Generous: the rule alone would take minutes.
    assert!(t0.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn invalid_rules_stored_by_an_older_version_deny_with_a_typed_error() {
    let dir = TempDir::new("hardening-rules-db");
    let db = dir.join("local.sqlite");
    let start = || async {
        LocalServer::builder()
            .db_path(&db)
            .platform_token(PAT)
            .start()
            .await
            .expect("start")
    };
    let server = start().await;
    let http = reqwest::Client::new();
    let (s, b) = post(
        &http,
        &format!("{}/superadmin/apps", server.url()),
        Some(PAT),
        json!({"title": "old", "perms": view_rules("true")}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let app_id = b["app"]["id"].as_str().unwrap().to_string();
    let token = b["app"]["admin-token"].as_str().unwrap().to_string();
    server.shutdown().await;

    for stored in [
        view_rules(&deep_rule()).to_string(),
        view_rules("5").to_string().replace("\"5\"", "5"),
        "not json".to_string(),
    ] {
        {
            let conn = rusqlite::Connection::open(&db).expect("open db");
            let id = uuid::Uuid::parse_str(&app_id).unwrap();
            let n = conn
                .execute(
                    "UPDATE apps SET rules = ?1 WHERE id = ?2",
                    rusqlite::params![stored, id.as_bytes().as_slice()],
                )
                .expect("update rules");
            assert_eq!(n, 1);
        }
        // Startup survives the stored rules.
        let server = start().await;
        let app = AppClient::new(&server.url(), &app_id, &token);
        let (s, b) = app
            .post(
                "/admin/query",
                true,
                &[("as-guest", "true")],
                json!({"query": {"todos": {}}}),
            )
            .await;
        assert_eq!(s, 400, "{stored:.40}: {b}");
        assert_eq!(b["type"], "validation-failed", "{b}");
        assert_eq!(b["hint"]["data-type"], "perms", "{b}");
        // Admin requests bypass rules and still work.
        let (s, _) = app
            .post("/admin/query", true, &[], json!({"query": {"todos": {}}}))
            .await;
        assert_eq!(s, 200);
        server.shutdown().await;
    }
}

#[tokio::test]
async fn restore_refuses_a_backup_with_deep_rules() {
    let tmp = TempDir::new("hardening-rules-restore");
    copy_backup(&common::data::dataset_dir("movies").join("backup"), &tmp.0);
    let cfg_path = tmp.join("config.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    cfg["rules"] = view_rules(&deep_rule());
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let server = LocalServer::builder().start().await.expect("start");
    let e = server
        .restore("deep", &tmp.0)
        .await
        .expect_err("deep rules refused");
    assert!(matches!(e, instant_local::LocalError::Backup(_)), "{e:?}");
    assert!(e.to_string().contains("recursion limit exceeded"), "{e}");
    assert!(server.create_app("still up").await.is_ok());
}
