//! Restore an Instant backup into `instant-local` and query it.
//!
//! ```sh
//! cargo run --example restore
//! ```
//!
//! `examples/data/zeneca-backup/` is an unpacked official Instant backup
//! (`config.json` + `entities/*.jsonl`; a downloaded `instant-backup-*.zip`
//! works the same way). The restored app keeps the backup's entity ids,
//! creation times, schema and links; its data is then read with typed queries.
//! This example always uses the local server: restoring into a hosted app is done
//! with Instant's own tools.

#[path = "common/mod.rs"]
mod common;

use std::path::PathBuf;

use common::BoxError;
use instantdb::{schema, Date, Entity, Id, LocalServer, Select};

/// A reader.
#[derive(Entity, Debug, Clone)]
#[instant(rename_all = "camelCase")]
pub struct User {
    /// Entity id.
    pub id: Id,
    /// Handle (unique).
    #[instant(unique, indexed)]
    pub handle: String,
    /// Email (unique).
    #[instant(unique, indexed)]
    pub email: String,
    /// Full name.
    #[instant(indexed)]
    pub full_name: Option<String>,
    /// Sign-up time.
    #[instant(indexed)]
    pub created_at: Option<Date>,
}

/// A shelf of books.
#[derive(Entity, Debug, Clone)]
pub struct Bookshelf {
    /// Entity id.
    pub id: Id,
    /// Name: a string or a number in this dataset (untyped attribute).
    pub name: Option<serde_json::Value>,
    /// Description.
    pub desc: Option<String>,
    /// Position.
    #[instant(indexed)]
    pub order: Option<f64>,
}

/// A book.
#[derive(Entity, Debug, Clone)]
#[instant(rename_all = "camelCase")]
pub struct Book {
    /// Entity id.
    pub id: Id,
    /// Title.
    #[instant(indexed)]
    pub title: String,
    /// ISBN-13.
    #[instant(unique, indexed)]
    pub isbn13: Option<String>,
    /// Pages.
    #[instant(indexed)]
    pub page_count: Option<f64>,
}

schema! {
    entities {
        users: User,
        bookshelves: Bookshelf,
        books: Book,
    }
    links {
        usersBookshelves: users.bookshelves (many) <-> bookshelves.users (many),
        bookshelvesBooks: bookshelves.books (many) <-> books.bookshelves (many),
    }
}

/// A book title.
#[derive(Select, Debug)]
#[instant(entity = books)]
pub struct BookTitle {
    /// Title.
    pub title: String,
    /// Pages.
    pub page_count: Option<f64>,
}

/// A shelf with its books.
#[derive(Select, Debug)]
#[instant(entity = bookshelves)]
pub struct Shelf {
    /// Name.
    pub name: Option<serde_json::Value>,
    /// Its books.
    pub books: Vec<BookTitle>,
}

/// A reader with shelves and books.
#[derive(Select, Debug)]
#[instant(entity = users)]
pub struct Reader {
    /// Handle.
    pub handle: String,
    /// Full name.
    pub full_name: Option<String>,
    /// Shelves.
    pub bookshelves: Vec<Shelf>,
}

/// Where the backup lives in the repository.
pub fn backup_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/data/zeneca-backup")
}

/// Restores the backup and runs the queries; returns the number of books.
pub async fn run() -> Result<usize, BoxError> {
    let server = LocalServer::builder().start().await?;
    let app = server.restore("zeneca", backup_dir()).await?;
    let db = common::client_for(&server, &app)?;
    println!(
        "Restored {} into instant-local at {}",
        backup_dir().display(),
        server.url()
    );

    let readers = db
        .query_typed(&Reader::query().order(users::handle.asc()))
        .await?
        .into_vec();
    println!(
        "\n  {:<10} {:<22} {:>7} {:>6}",
        "handle", "name", "shelves", "books"
    );
    for r in &readers {
        let books: usize = r.bookshelves.iter().map(|s| s.books.len()).sum();
        println!(
            "  {:<10} {:<22} {:>7} {:>6}",
            r.handle,
            r.full_name.as_deref().unwrap_or("-"),
            r.bookshelves.len(),
            books
        );
    }

    let long = db
        .query_typed(
            &BookTitle::query()
                .filter(books::page_count.gte(800.0))
                .order(books::page_count.desc())
                .limit(5),
        )
        .await?
        .into_vec();
    println!("\nThe longest books (pageCount >= 800):");
    for b in &long {
        println!("  {:>5}  {}", b.page_count.unwrap_or(0.0), b.title);
    }

    let all = db.query_typed(&BookTitle::query()).await?.len();
    println!("\n{} users, {all} books restored", readers.len());
    if readers.len() != 4 || all != 392 {
        return Err(format!(
            "expected 4 users and 392 books, got {} and {all}",
            readers.len()
        )
        .into());
    }
    server.shutdown().await;
    Ok(all)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run().await.map(|_| ())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn restore_runs() {
        match super::run().await {
            Ok(n) => assert_eq!(n, 392),
            Err(e) => panic!("restore failed: {e}"),
        }
    }
}
