//! The Platform API: apps, schema and permissions as code.
//!
//! ```sh
//! cargo run --example platform
//! ```
//!
//! 1. A temporary app (no account needed) created with the schema of Rust types
//!    (`schema!`) and rules; the schema and rules are pulled back and compared.
//! 2. A long-lived app created with a personal access token: listed, its schema
//!    evolved (plan, then push), renamed, written to with its admin token, and
//!    deleted at the end.
//!
//! Runs against an in-process `instant-local` (started with a personal access
//! token) unless `INSTANT_PLATFORM_TOKEN` is set, in which case it uses that
//! token with Instant at `INSTANT_API_URI` (default `https://api.instantdb.com`).

#[path = "common/mod.rs"]
mod common;

use common::BoxError;
use instantdb::client::CreateApp;
use instantdb::typed::Transaction;
use instantdb::{
    schema, Client, Entity, Id, LocalServer, NamespaceRules, PlatformApi, Rules, Select,
};

/// A project.
#[derive(Entity, Debug, Clone)]
pub struct Project {
    /// Entity id.
    pub id: Id,
    /// Name (unique).
    #[instant(unique, indexed)]
    pub name: String,
    /// Archived?
    pub archived: Option<bool>,
}

/// A task.
#[derive(Entity, Debug, Clone)]
pub struct Task {
    /// Entity id.
    pub id: Id,
    /// Title.
    #[instant(indexed)]
    pub title: String,
    /// Priority (1 = highest).
    #[instant(indexed)]
    pub priority: f64,
}

schema! {
    entities {
        projects: Project,
        tasks: Task,
    }
    links {
        projectTasks: projects.tasks (many) <-> tasks.project (one, cascade),
    }
}

/// A project and its tasks.
#[derive(Select, Debug)]
#[instant(entity = projects)]
pub struct ProjectTasks {
    /// Name.
    pub name: String,
    /// Tasks.
    pub tasks: Vec<TaskTitle>,
}

/// A task title.
#[derive(Select, Debug)]
#[instant(entity = tasks)]
pub struct TaskTitle {
    /// Title.
    pub title: String,
}

fn rules() -> Rules {
    Rules::new()
        .namespace(
            "projects",
            NamespaceRules::new().allow("view", "auth.id != null"),
        )
        .namespace(
            "tasks",
            NamespaceRules::new()
                .allow("view", "auth.id != null")
                .allow("delete", "false"),
        )
}

fn admin_client(api_uri: &str, app_id: Id, token: instantdb::Secret) -> Result<Client, BoxError> {
    Ok(Client::builder()
        .app_id(app_id.to_string())
        .admin_token(token)
        .api_uri(api_uri)
        .build()?)
}

/// Runs both parts; returns the pulled schema's entity names of part 1.
pub async fn run() -> Result<(), BoxError> {
    // The Platform API and, locally, the server that answers it.
    let (api_uri, pat, local) = match std::env::var("INSTANT_PLATFORM_TOKEN") {
        Ok(t) if !t.is_empty() => (
            std::env::var("INSTANT_API_URI").unwrap_or_else(|_| "https://api.instantdb.com".into()),
            t,
            None,
        ),
        _ => {
            let pat = format!("per_{}", Id::new().to_string().replace('-', ""));
            let server = LocalServer::builder()
                .platform_token(pat.as_str())
                .start()
                .await?;
            (server.url(), pat, Some(server))
        }
    };
    println!("Platform API at {api_uri}");
    let ours = Schema::instant_schema();

    // 1. A temporary app with the Rust schema and rules.
    let anon = PlatformApi::builder().api_uri(api_uri.as_str()).build()?;
    let tmp = anon
        .create_temporary_app("platform-example", Some(&ours), Some(&rules()))
        .await?;
    let token = tmp.app.admin_token.clone().ok_or("no admin token")?;
    println!(
        "Temporary app {} (expires at {:?} ms)",
        tmp.app.id, tmp.expires_ms
    );
    // The app's admin token also works on the Platform API, for that app.
    let app_api = PlatformApi::builder()
        .api_uri(api_uri.as_str())
        .token(token.clone())
        .build()?;
    let pulled = app_api.pull_schema(tmp.app.id).await?;
    let mut same = true;
    for (ns, def) in &ours.entities {
        let back = pulled.entities.get(ns);
        let ok = back == Some(def);
        same &= ok;
        println!(
            "  entity {ns:<10} {}",
            if ok {
                "pulled back identical"
            } else {
                "DIFFERS"
            }
        );
        if !ok {
            println!("    pushed {def:?}\n    pulled {back:?}");
        }
    }
    // Instant names pulled links after their forward side (`projectsTasks`), so
    // links are compared by content.
    for (name, def) in &ours.links {
        let back = pulled.links.iter().find(|(_, d)| *d == def).map(|(n, _)| n);
        same &= back.is_some();
        match back {
            Some(n) => {
                println!("  link   {name:<10} pulled back identical (named {n:?} by the server)")
            }
            None => println!(
                "  link   {name:<10} DIFFERS: pulled links {:?}",
                pulled.links
            ),
        }
    }
    let perms = app_api.pull_perms(tmp.app.id).await?;
    let perms_same = perms.as_ref() == Some(&rules());
    println!(
        "  rules             {}",
        if perms_same {
            "pulled back identical"
        } else {
            "DIFFER"
        }
    );
    if !same || !perms_same {
        return Err("the pulled schema or rules differ from the pushed ones".into());
    }

    // 2. A long-lived app, with a personal access token.
    let platform = PlatformApi::builder()
        .api_uri(api_uri.as_str())
        .token(pat.as_str())
        .build()?;
    let app = platform
        .create_app(&CreateApp {
            title: "platform-example (long-lived)".into(),
            schema: Some(ours.clone()),
            perms: Some(rules()),
            org_id: None,
        })
        .await?;
    let admin_token = app.admin_token.clone().ok_or("no admin token")?;
    println!("Created app {} {:?}", app.id, app.title);
    let listed = platform.list_apps(false, false).await?;
    println!(
        "  list_apps: {} app(s), ours listed: {}",
        listed.len(),
        listed.iter().any(|a| a.id == app.id)
    );

    // Evolve the schema: a new optional attribute. Plan first, then push.
    let mut next = ours.clone();
    if let Some(tasks_def) = next.entities.get_mut("tasks") {
        tasks_def.attrs.insert(
            "dueDate".into(),
            instantdb::AttrDef::date().optional().indexed(),
        );
    }
    let plan = platform.plan_schema_push(app.id, &next).await?;
    println!(
        "  schema plan: {:?}",
        plan.steps.iter().map(|s| s.op.as_str()).collect::<Vec<_>>()
    );
    let pushed = platform.push_schema(app.id, &next, |_| {}).await?;
    let has_due = pushed
        .schema
        .entities
        .get("tasks")
        .is_some_and(|t| t.attrs.contains_key("dueDate"));
    println!(
        "  pushed: {} step(s), {} indexing job(s); tasks.dueDate present: {has_due}",
        pushed.steps.len(),
        pushed.jobs.len()
    );
    if !has_due {
        return Err("the pushed attribute is missing from the pulled schema".into());
    }
    let renamed = platform
        .rename_app(app.id, "platform-example (renamed)")
        .await?;
    println!("  renamed to {:?}", renamed.title);

    // Use the app: typed writes and reads with its admin token.
    let db = admin_client(&api_uri, app.id, admin_token)?;
    let (p, t1, t2) = (Id::new(), Id::new(), Id::new());
    db.transact_strict(
        Transaction::new()
            .add(tx::projects(p).create(|a| a.set(projects::name, "launch")))
            .add(
                tx::tasks(t1)
                    .create(|a| a.set(tasks::title, "write docs").set(tasks::priority, 1.0)),
            )
            .add(tx::tasks(t2).create(|a| a.set(tasks::title, "ship").set(tasks::priority, 2.0)))
            .add(tx::projects(p).link(projects::tasks, [t1, t2])),
    )
    .await?;
    let rows = db.query_typed(&ProjectTasks::query()).await?.into_vec();
    println!(
        "  data: project {:?} with {} tasks",
        rows[0].name,
        rows[0].tasks.len()
    );

    platform.delete_app(app.id).await?;
    println!("Deleted app {}", app.id);
    if let Some(s) = local {
        s.shutdown().await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run().await
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn platform_runs() {
        if let Err(e) = super::run().await {
            panic!("platform failed: {e}");
        }
    }
}
