//! The quickstart: Instant's goals-and-todos model in typed Rust.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! With no environment it starts an in-process `instant-local` server and
//! creates an app on it; set `INSTANT_APP_ID` and `INSTANT_APP_ADMIN_TOKEN`
//! (and optionally `INSTANT_API_URI`) to run the same code against a real app.
//!
//! It walks through: a schema from Rust types (`#[derive(Entity)]` +
//! `schema!`), typed transactions (create, update, link, lookup, delete), a
//! typed nested query, a live query that prints an update, and permission rules
//! seen through `as_user`.

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use common::BoxError;
use futures::StreamExt;
use instantdb::typed::{add_attr_steps, Rows, Transaction};
use instantdb::{schema, AsUser, Date, Entity, Id, NamespaceRules, PlatformApi, Rules, Select};

// 1. The schema: entities are structs, `schema!` names namespaces and links.

/// A goal (Instant docs: "Get fit!").
#[derive(Entity, Debug, Clone)]
#[instant(rename_all = "camelCase")]
pub struct Goal {
    /// Entity id.
    pub id: Id,
    /// Title.
    #[instant(indexed)]
    pub title: String,
}

/// A todo, part of one or more goals.
#[derive(Entity, Debug, Clone)]
#[instant(rename_all = "camelCase")]
pub struct Todo {
    /// Entity id.
    pub id: Id,
    /// Title.
    #[instant(indexed)]
    pub title: String,
    /// A unique handle, used as a lookup.
    #[instant(unique, indexed)]
    pub slug: String,
    /// Done yet?
    #[instant(indexed)]
    pub done: bool,
    /// When it was written down.
    #[instant(indexed)]
    pub created_at: Date,
}

schema! {
    entities {
        goals: Goal,
        todos: Todo,
    }
    links {
        goalsTodos: goals.todos (many) <-> todos.goals (many),
    }
}

// 2. Selections: what a screen needs, as structs (the struct is the query).

/// A todo line.
#[derive(Select, Debug)]
#[instant(entity = todos)]
pub struct TodoLine {
    /// Title.
    pub title: String,
    /// Done yet?
    pub done: bool,
}

/// A goal with its todos, newest first.
#[derive(Select, Debug)]
#[instant(entity = goals)]
pub struct GoalWithTodos {
    /// Entity id.
    pub id: Id,
    /// Title.
    pub title: String,
    /// Its todos, newest first.
    #[instant(order(todos::created_at.desc()))]
    pub todos: Vec<TodoLine>,
}

/// A goal title only.
#[derive(Select, Debug)]
#[instant(entity = goals)]
pub struct GoalTitle {
    /// Title.
    pub title: String,
}

fn todo(title: &str, slug: &str, minutes_ago: i64) -> Result<(Id, Todo), BoxError> {
    let id = Id::new();
    let now = Date::now().millis();
    Ok((
        id,
        Todo {
            id,
            title: title.into(),
            slug: slug.into(),
            done: false,
            created_at: Date::from_millis(now - minutes_ago * 60_000)?,
        },
    ))
}

fn print_goals(goals: &[GoalWithTodos]) {
    for g in goals {
        println!("  goal {:?}", g.title);
        for t in &g.todos {
            println!("    [{}] {}", if t.done { "x" } else { " " }, t.title);
        }
    }
}

/// The whole quickstart; `main` and the test both call it.
pub async fn run() -> Result<(), BoxError> {
    let backend = common::connect("quickstart").await?;
    let db = &backend.db;
    println!("Connected to {}", backend.describe());

    // The schema's attributes and links, created on the app (the same steps the
    // server derives from a pushed schema).
    db.transact(add_attr_steps(&Schema::instant_schema()))
        .await?;
    println!("Schema: namespaces goals, todos; link goals.todos <-> todos.goals");

    // 3. Typed transactions.
    let fit = Id::new();
    let (run_id, run) = todo("Go on a run", "run", 30)?;
    let (code_id, code) = todo("Code a bunch", "code", 20)?;
    let (drink_id, drink) = todo("Drink a protein shake", "shake", 10)?;
    db.transact_strict(
        Transaction::new()
            .add(tx::goals(fit).create(|a| a.set(goals::title, "Get fit!")))
            .add(tx::todos(run_id).create_from(&run))
            .add(tx::todos(code_id).create_from(&code))
            .add(tx::todos(drink_id).create_from(&drink))
            .add(tx::goals(fit).link(goals::todos, [run_id, drink_id])),
    )
    .await?;
    let focus = Id::new();
    db.transact_strict(
        Transaction::new()
            .add(tx::goals(focus).create(|a| a.set(goals::title, "Get focused")))
            // A lookup addresses an entity by a unique attribute instead of its id.
            .add(tx::goals(focus).link(goals::todos, todos::slug.lookup("code"))),
    )
    .await?;
    // Update through a lookup.
    db.transact_strict(tx::todos(todos::slug.lookup("run")).update(|a| a.set(todos::done, true)))
        .await?;
    println!("Wrote 2 goals and 3 todos, linked them, marked \"Go on a run\" done");

    // 4. A typed nested query.
    let goals_now = db.query_typed(&GoalWithTodos::query()).await?;
    println!("Goals with their todos (typed nested query):");
    print_goals(&goals_now);
    let open = db
        .query_typed(
            &TodoLine::query()
                .filter(todos::done.eq(false))
                .order(todos::created_at.asc()),
        )
        .await?;
    let open_titles: Vec<&str> = open.iter().map(|t| t.title.as_str()).collect();
    println!("Open todos, oldest first: {open_titles:?}");
    if open_titles != ["Code a bunch", "Drink a protein shake"] {
        return Err(format!("unexpected open todos {open_titles:?}").into());
    }

    // 5. A live query: the first result, then an update after a write.
    let mut live =
        db.subscribe_typed(&GoalWithTodos::query().filter(goals::title.eq("Get fit!")))?;
    let first = next_update(&mut live).await?.data.into_vec();
    println!(
        "Live query started: {} todo(s) under \"Get fit!\"",
        first[0].todos.len()
    );
    let stretch = Id::new();
    let (_, s) = todo("Stretch", "stretch", 0)?;
    db.transact_strict(
        Transaction::new()
            .add(tx::todos(stretch).create_from(&Todo { id: stretch, ..s }))
            .add(tx::goals(fit).link(goals::todos, stretch)),
    )
    .await?;
    let mut seen = first[0].todos.len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen == first[0].todos.len() {
        if tokio::time::Instant::now() > deadline {
            return Err("the live query did not see the new todo within 10 s".into());
        }
        let goals_live = next_update(&mut live).await?.data.into_vec();
        seen = goals_live[0].todos.len();
        if seen != first[0].todos.len() {
            println!("Live update: \"Get fit!\" now has {seen} todos:");
            print_goals(&goals_live);
        }
    }
    live.close();

    // Delete (by lookup) and check it is gone.
    db.transact_strict(tx::todos(todos::slug.lookup("shake")).delete())
        .await?;
    let left = db.query_typed(&TodoLine::query()).await?;
    println!(
        "Deleted \"Drink a protein shake\"; {} todos left",
        left.len()
    );
    if left.iter().any(|t| t.title == "Drink a protein shake") {
        return Err("deleted todo still there".into());
    }

    // 6. Permission rules, seen through `as_user`.
    rules_demo(db.api_uri()).await?;

    backend.shutdown().await;
    Ok(())
}

/// The next decoded result of a typed live query.
async fn next_update(
    live: &mut instantdb::TypedSubscription<Rows<GoalWithTodos>>,
) -> Result<instantdb::Page<Rows<GoalWithTodos>>, BoxError> {
    match tokio::time::timeout(Duration::from_secs(10), live.next()).await {
        Ok(Some(u)) => Ok(u?),
        Ok(None) => Err("live query closed".into()),
        Err(_) => Err("no live update within 10 s".into()),
    }
}

/// A temporary app with the schema and rules "only signed-in users see goals";
/// a guest (impersonated with `as_user`) should then see none.
async fn rules_demo(api_uri: &str) -> Result<(), BoxError> {
    let platform = PlatformApi::builder().api_uri(api_uri).build()?;
    let rules = Rules::new().namespace(
        "goals",
        NamespaceRules::new().allow("view", "auth.id != null"),
    );
    let tmp = platform
        .create_temporary_app(
            "quickstart-rules",
            Some(&Schema::instant_schema()),
            Some(&rules),
        )
        .await?;
    let token = tmp
        .app
        .admin_token
        .ok_or("the temporary app came back without an admin token")?;
    let admin = instantdb::Client::builder()
        .app_id(tmp.app.id.to_string())
        .admin_token(token)
        .api_uri(api_uri)
        .build()?;
    admin
        .transact(tx::goals(Id::new()).create(|a| a.set(goals::title, "Private goal")))
        .await?;
    let as_admin = admin.query_typed(&GoalTitle::query()).await?.len();
    let as_guest = admin
        .as_user(AsUser::guest())
        .query_typed(&GoalTitle::query())
        .await?
        .len();
    // A signed-in user (created by minting a token for the email).
    admin.auth().create_token("alyssa@example.com").await?;
    let as_alyssa = admin
        .as_user(AsUser::email("alyssa@example.com"))
        .query_typed(&GoalTitle::query())
        .await?
        .len();
    println!(
        "Rules (goals: view if auth.id != null): admin sees {as_admin} goal(s), \
         alyssa@example.com sees {as_alyssa}, a guest sees {as_guest}"
    );
    if as_guest != 0 || as_alyssa != 1 {
        return Err("the server did not apply the permission rules".into());
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
    async fn quickstart_runs() {
        if let Err(e) = super::run().await {
            panic!("quickstart failed: {e}");
        }
    }
}
