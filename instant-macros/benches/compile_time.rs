//! Compile-time benchmark (a bench binary, run with
//! `cargo bench -p instant-macros --bench compile_time`): generates two crates
//! in a temp dir with the same 50 entities x 20 attributes and 30 selection
//! structs, one typed (`#[derive(Entity)]`, `schema!`, `#[derive(Select)]`) and
//! one with plain serde derives, builds their dependencies once, then times
//! `cargo build` of each crate alone (touching its source), several times.
//! Goal (typed-dsl.md §2.10): typed <= 2x plain.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const ENTITIES: usize = 50;
const ATTRS: usize = 20;
const SELECTS: usize = 30;
const RUNS: usize = 3;

fn attr_ty(j: usize) -> &'static str {
    match j % 6 {
        0 => "String",
        1 => "i64",
        2 => "f64",
        3 => "bool",
        4 => "Option<String>",
        _ => "Option<f64>",
    }
}

fn typed_src() -> String {
    let mut s = String::from(
        "#![allow(dead_code)]\nuse instant_core::Id;\nuse instant_macros::{schema, Entity, Select};\n\n",
    );
    for i in 0..ENTITIES {
        writeln!(
            s,
            "#[derive(Entity, Debug)]\npub struct E{i} {{\n    pub id: Id,"
        )
        .unwrap();
        for j in 0..ATTRS {
            let ix = if j % 4 == 0 {
                "    #[instant(indexed)]\n"
            } else {
                ""
            };
            writeln!(s, "{ix}    pub a{j}: {},", attr_ty(j)).unwrap();
        }
        s.push_str("}\n\n");
    }
    s.push_str("schema! {\n    entities {\n");
    for i in 0..ENTITIES {
        writeln!(s, "        e{i}: E{i},").unwrap();
    }
    s.push_str("    }\n    links {\n");
    for i in 0..ENTITIES - 1 {
        writeln!(s, "        e{i}.next (many) <-> e{}.prev (one),", i + 1).unwrap();
    }
    s.push_str("    }\n}\n\n");
    for k in 0..SELECTS {
        let (i, n) = (k, k + 1);
        writeln!(s, "#[derive(Select, Debug)]\n#[instant(entity = e{n})]\npub struct Leaf{k} {{\n    pub id: Id,").unwrap();
        for j in 0..5 {
            writeln!(s, "    pub a{j}: {},", attr_ty(j)).unwrap();
        }
        s.push_str("}\n\n");
        writeln!(s, "#[derive(Select, Debug)]\n#[instant(entity = e{i})]\npub struct Sel{k} {{\n    pub id: Id,").unwrap();
        for j in 0..10 {
            writeln!(s, "    pub a{j}: {},", attr_ty(j)).unwrap();
        }
        writeln!(s, "    pub next: Vec<Leaf{k}>,\n}}\n").unwrap();
    }
    s
}

fn plain_src() -> String {
    let mut s = String::from("#![allow(dead_code)]\nuse serde::{Deserialize, Serialize};\n\n");
    for i in 0..ENTITIES {
        writeln!(
            s,
            "#[derive(Serialize, Deserialize, Debug)]\npub struct E{i} {{\n    pub id: String,"
        )
        .unwrap();
        for j in 0..ATTRS {
            writeln!(s, "    pub a{j}: {},", attr_ty(j)).unwrap();
        }
        s.push_str("}\n\n");
    }
    for k in 0..SELECTS {
        writeln!(
            s,
            "#[derive(Serialize, Deserialize, Debug)]\npub struct Leaf{k} {{\n    pub id: String,"
        )
        .unwrap();
        for j in 0..5 {
            writeln!(s, "    pub a{j}: {},", attr_ty(j)).unwrap();
        }
        s.push_str("}\n\n");
        writeln!(
            s,
            "#[derive(Serialize, Deserialize, Debug)]\npub struct Sel{k} {{\n    pub id: String,"
        )
        .unwrap();
        for j in 0..10 {
            writeln!(s, "    pub a{j}: {},", attr_ty(j)).unwrap();
        }
        writeln!(s, "    pub next: Vec<Leaf{k}>,\n}}\n").unwrap();
    }
    s
}

fn write_crate(dir: &Path, name: &str, deps: &str, src: &str) {
    std::fs::create_dir_all(dir.join("src")).expect("create crate dir");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}\n\n[workspace]\n"),
    )
    .expect("write Cargo.toml");
    std::fs::write(dir.join("src/lib.rs"), src).expect("write lib.rs");
}

fn build(dir: &Path, target: &Path) -> Duration {
    let start = Instant::now();
    let st = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .status()
        .expect("run cargo");
    assert!(st.success(), "cargo build failed in {}", dir.display());
    start.elapsed()
}

fn touch(dir: &Path) {
    let p = dir.join("src/lib.rs");
    let s = std::fs::read_to_string(&p).expect("read lib.rs");
    std::fs::write(&p, s).expect("touch lib.rs");
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    // INSTANT_BENCH_DIR=<dir>: generate there and keep the crates (for profiling).
    let keep = std::env::var_os("INSTANT_BENCH_DIR");
    let tmp = match &keep {
        Some(d) => PathBuf::from(d),
        None => std::env::temp_dir().join(format!("instant-compile-bench-{}", std::process::id())),
    };
    let target = tmp.join("target");
    let typed = tmp.join("typed");
    let plain = tmp.join("plain");
    let core = root.join("instant-core");
    let macros = root.join("instant-macros");
    write_crate(
        &typed,
        "bench_typed",
        &format!(
            "instant-core = {{ path = {:?} }}\ninstant-macros = {{ path = {:?} }}\nserde = {{ version = \"1\", features = [\"derive\"] }}",
            core, macros
        ),
        &typed_src(),
    );
    write_crate(
        &plain,
        "bench_plain",
        "serde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"",
        &plain_src(),
    );
    let lines = |d: &Path| {
        std::fs::read_to_string(d.join("src/lib.rs"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    println!(
        "generated: {ENTITIES} entities x {ATTRS} attrs, {SELECTS} selections ({} lines typed, {} lines plain)",
        lines(&typed),
        lines(&plain)
    );
    if std::env::var_os("INSTANT_BENCH_GEN_ONLY").is_some() {
        return;
    }
    // Warm: dependencies and the first build.
    build(&typed, &target);
    build(&plain, &target);
    let mut t = Vec::new();
    let mut p = Vec::new();
    for _ in 0..RUNS {
        touch(&typed);
        t.push(build(&typed, &target));
        touch(&plain);
        p.push(build(&plain, &target));
    }
    let min = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let (tm, pm) = (min(&t), min(&p));
    println!(
        "typed crate build (min of {RUNS}): {:.2} s  runs: {t:?}",
        tm.as_secs_f64()
    );
    println!(
        "plain serde build (min of {RUNS}): {:.2} s  runs: {p:?}",
        pm.as_secs_f64()
    );
    println!(
        "ratio typed / plain: {:.2}x (goal <= 2x)",
        tm.as_secs_f64() / pm.as_secs_f64()
    );
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
