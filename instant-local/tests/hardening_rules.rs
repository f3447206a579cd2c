//! probe
use instant_local::perms::{Action, NoRefs, Permissions, RuleContext};
use serde_json::json;

#[test]
#[ignore]
fn probe() {
    let n: usize = std::env::var("PROBE_N").unwrap().parse().unwrap();
    let kind = std::env::var("PROBE_KIND").unwrap();
    let stack: usize = std::env::var("PROBE_STACK").unwrap().parse().unwrap();
    let eval = std::env::var("PROBE_EVAL").is_ok();
    let code = match kind.as_str() {
        "plus" => format!("{} > 0", vec!["1"; n].join(" + ")),
        "paren" => format!("{}true{}", "(".repeat(n), ")".repeat(n)),
        "dots" => format!("auth{} == 1", ".x".repeat(n)),
        "idx" => format!("[[1]]{} == 1", "[0]".repeat(n)),
        "tern" => format!("{}true", "true ? false : ".repeat(n)),
        "list" => format!("{}1{} != 0", "[".repeat(n), "]".repeat(n)),
        "bindchain" => String::new(),
        _ => panic!(),
    };
    let rules = if kind == "bindchain" {
        let mut bind = serde_json::Map::new();
        for i in 0..n { bind.insert(format!("b{i}"), json!(format!("b{}", i + 1))); }
        bind.insert(format!("b{n}"), json!("true"));
        json!({"t": {"allow": {"view": "b0"}, "bind": bind}})
    } else {
        json!({"t": {"allow": {"view": code}}})
    };
    let h = std::thread::Builder::new().stack_size(stack).spawn(move || {
        let t0 = std::time::Instant::now();
        let p = Permissions::from_json(&rules);
        eprintln!("compile {:?} ok={}", t0.elapsed(), p.is_ok());
        if let (Ok(p), true) = (p, eval) {
            let d = json!({"id": "3c9e0b8a-1111-4111-8111-111111111111"});
            let a = Action::View;
            let ctx = RuleContext::new("t", &a, &NoRefs).data(&d);
            let t0 = std::time::Instant::now();
            let r = p.check(&ctx);
            eprintln!("eval {:?} {:?}", t0.elapsed(), r.is_ok());
        }
    }).unwrap();
    h.join().unwrap();
}
