//! Real data: the 3,201 movies of `examples/data/movies.json` (vega-datasets)
//! imported into `movies`, `directors`, `distributors` and `genres` with links,
//! through typed batched transactions with a progress bar; then the typed
//! queries a user would ask, printed as tables.
//!
//! ```sh
//! cargo run --release --example movies
//! ```
//!
//! Runs against an in-process `instant-local` unless `INSTANT_APP_ID` /
//! `INSTANT_APP_ADMIN_TOKEN` (/ `INSTANT_API_URI`) name a real app.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::BoxError;
use indicatif::{ProgressBar, ProgressStyle};
use instantdb::client::BatchOptions;
use instantdb::typed::{add_attr_steps, Transaction};
use instantdb::{schema, Cursor, Date, Entity, Id, PageInfo, Select};
use serde_json::Value;

/// The dataset, embedded so the example needs no files at run time.
const MOVIES_JSON: &str = include_str!("data/movies.json");

/// A movie.
#[derive(Entity, Debug, Clone)]
#[instant(rename_all = "camelCase")]
pub struct Movie {
    /// Entity id.
    pub id: Id,
    /// Title.
    #[instant(indexed)]
    pub title: String,
    /// Release date.
    #[instant(indexed)]
    pub release_date: Option<Date>,
    /// IMDB rating (0-10).
    #[instant(indexed)]
    pub imdb_rating: Option<f64>,
    /// Rotten Tomatoes rating (0-100).
    #[instant(indexed)]
    pub rotten_tomatoes: Option<f64>,
    /// US gross, dollars.
    #[instant(indexed)]
    pub us_gross: Option<f64>,
    /// Production budget, dollars.
    pub budget: Option<f64>,
    /// MPAA rating (`PG-13`, ...).
    pub mpaa_rating: Option<String>,
    /// Running time, minutes.
    pub running_time: Option<f64>,
}

/// A director.
#[derive(Entity, Debug, Clone)]
pub struct Director {
    /// Name (unique).
    #[instant(unique, indexed)]
    pub name: String,
}

/// A distributor.
#[derive(Entity, Debug, Clone)]
pub struct Distributor {
    /// Name (unique).
    #[instant(unique, indexed)]
    pub name: String,
}

/// A genre.
#[derive(Entity, Debug, Clone)]
pub struct Genre {
    /// Name (unique).
    #[instant(unique, indexed)]
    pub name: String,
}

schema! {
    entities {
        movies: Movie,
        directors: Director,
        distributors: Distributor,
        genres: Genre,
    }
    links {
        movieDirector: movies.director (one) <-> directors.movies (many),
        movieDistributor: movies.distributor (one) <-> distributors.movies (many),
        movieGenre: movies.genre (one) <-> genres.movies (many),
    }
}

/// A movie row of a table.
#[derive(Select, Debug)]
#[instant(entity = movies)]
pub struct MovieRow {
    /// Title.
    pub title: String,
    /// Release date.
    pub release_date: Option<Date>,
    /// IMDB rating.
    pub imdb_rating: Option<f64>,
    /// Its genre.
    pub genre: Option<GenreName>,
}

/// A genre's name.
#[derive(Select, Debug)]
#[instant(entity = genres)]
pub struct GenreName {
    /// Name.
    pub name: String,
}

/// A director with films, best rated first.
#[derive(Select, Debug)]
#[instant(entity = directors)]
pub struct DirectorFilms {
    /// Name.
    pub name: String,
    /// Films, best IMDB rating first.
    #[instant(order(movies::imdb_rating.desc()))]
    pub movies: Vec<MovieRow>,
}

/// A movie id only (for counting).
#[derive(Select, Debug)]
#[instant(entity = movies)]
pub struct MovieId {
    /// Entity id.
    pub id: Id,
}

/// A genre and its films.
#[derive(Select, Debug)]
#[instant(entity = genres)]
pub struct GenreFilms {
    /// Name.
    pub name: String,
    /// Its movies.
    pub movies: Vec<MovieId>,
}

/// `"Jun 12 1998"` → a UTC date (the dataset's format).
fn parse_release(s: &str) -> Option<Date> {
    let mut it = s.split_whitespace();
    let (m, d, y) = (it.next()?, it.next()?, it.next()?);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|x| *x == m)? as i64 + 1;
    let day: i64 = d.parse().ok()?;
    let year: i64 = y.parse().ok()?;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Date::from_millis(days * 86_400_000).ok()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64().filter(|f| f.is_finite())
}

/// Builds the import transaction: one entity per movie, director, distributor
/// and genre (names deduplicated), and the links.
pub fn import_transaction(rows: &[Value]) -> Result<(Transaction, usize), BoxError> {
    let mut t = Transaction::new();
    let mut directors: BTreeMap<String, Id> = BTreeMap::new();
    let mut distributors: BTreeMap<String, Id> = BTreeMap::new();
    let mut genres: BTreeMap<String, Id> = BTreeMap::new();
    let mut count = 0;
    for row in rows {
        let Some(title) = text(&row["Title"]) else {
            continue;
        };
        let id = Id::new();
        let movie = Movie {
            id,
            title,
            release_date: row["Release Date"].as_str().and_then(parse_release),
            imdb_rating: num(&row["IMDB Rating"]),
            rotten_tomatoes: num(&row["Rotten Tomatoes Rating"]),
            us_gross: num(&row["US Gross"]),
            budget: num(&row["Production Budget"]),
            mpaa_rating: text(&row["MPAA Rating"]),
            running_time: num(&row["Running Time min"]),
        };
        t = t.add(tx::movies(id).create_from(&movie));
        count += 1;
        if let Some(name) = text(&row["Director"]) {
            let d = match directors.get(&name) {
                Some(d) => *d,
                None => {
                    let d = Id::new();
                    t = t.add(tx::directors(d).create(|a| a.set(directors::name, name.as_str())));
                    directors.insert(name, d);
                    d
                }
            };
            t = t.add(tx::movies(id).link(movies::director, d));
        }
        if let Some(name) = text(&row["Distributor"]) {
            let d = match distributors.get(&name) {
                Some(d) => *d,
                None => {
                    let d = Id::new();
                    t = t.add(
                        tx::distributors(d).create(|a| a.set(distributors::name, name.as_str())),
                    );
                    distributors.insert(name, d);
                    d
                }
            };
            t = t.add(tx::movies(id).link(movies::distributor, d));
        }
        if let Some(name) = text(&row["Major Genre"]) {
            let g = match genres.get(&name) {
                Some(g) => *g,
                None => {
                    let g = Id::new();
                    t = t.add(tx::genres(g).create(|a| a.set(genres::name, name.as_str())));
                    genres.insert(name, g);
                    g
                }
            };
            t = t.add(tx::movies(id).link(movies::genre, g));
        }
    }
    Ok((t, count))
}

fn fmt_date(d: &Option<Date>) -> String {
    d.as_ref()
        .map(|d| d.to_iso()[..10].to_string())
        .unwrap_or_else(|| "-".into())
}

fn fmt_rating(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.1}")).unwrap_or_else(|| "-".into())
}

fn print_movies(rows: &[MovieRow]) {
    println!("  {:<44} {:<10} {:>4}  genre", "title", "released", "imdb");
    for m in rows {
        let title: String = m.title.chars().take(44).collect();
        println!(
            "  {:<44} {:<10} {:>4}  {}",
            title,
            fmt_date(&m.release_date),
            fmt_rating(m.imdb_rating),
            m.genre.as_ref().map(|g| g.name.as_str()).unwrap_or("-")
        );
    }
}

/// One page of a typed query with its page info (`query_typed_page`: Instant
/// reports cursors only with live-query results, so the client reads the first
/// result of a short subscription).
async fn page(
    db: &instantdb::Client,
    q: &instantdb::typed::Query<MovieRow>,
) -> Result<(Vec<MovieRow>, PageInfo), BoxError> {
    let mut page = db.query_typed_page(q).await?;
    let info = page
        .page_info
        .remove("movies")
        .ok_or("the server sent no page info")?;
    Ok((page.data.into_vec(), info))
}

/// The whole example; `main` and the test both call it. Returns the number of
/// movies imported.
pub async fn run(show_progress: bool) -> Result<usize, BoxError> {
    let backend = common::connect("movies").await?;
    let db = &backend.db;
    println!("Connected to {}", backend.describe());
    db.transact(add_attr_steps(&Schema::instant_schema()))
        .await?;

    // Import.
    let rows: Vec<Value> = serde_json::from_str(MOVIES_JSON)?;
    let (t, n_movies) = import_transaction(&rows)?;
    let steps = instantdb::IntoSteps::into_steps(t)?;
    let total = steps.len();
    let bar = if show_progress {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} importing [{bar:40}] {pos}/{len} steps ({per_sec})",
        )?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let report = db
        .transact_batched(steps, BatchOptions::default(), |p| {
            bar.set_position(p.steps_done as u64)
        })
        .await?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "Imported {n_movies} of {} movies ({} without a title skipped; {total} steps) in {} transactions, {secs:.2} s ({:.0} steps/s)",
        rows.len(),
        rows.len() - n_movies,
        report.tx_ids.len(),
        total as f64 / secs
    );

    // A director's films by rating.
    let q = DirectorFilms::query().filter(directors::name.eq("Steven Spielberg"));
    let spielberg = db.query_typed(&q).await?.into_vec();
    let films = spielberg
        .first()
        .map(|d| d.movies.as_slice())
        .unwrap_or(&[]);
    println!(
        "\nSteven Spielberg's films, best IMDB rating first ({}):",
        films.len()
    );
    print_movies(&films[..films.len().min(10)]);
    if films.is_empty() {
        return Err("no films for Steven Spielberg".into());
    }

    // Genres by count of films.
    let mut genres: Vec<(String, usize)> = db
        .query_typed(&GenreFilms::query())
        .await?
        .into_vec()
        .into_iter()
        .map(|g| (g.name, g.movies.len()))
        .collect();
    genres.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("\nGenres by number of films:");
    println!("  {:<22} {:>5}", "genre", "films");
    for (g, n) in &genres {
        println!("  {g:<22} {n:>5}");
    }

    // Movies released 1995-1999 rated 8.0 or better, by rating, pages of 5.
    let from = parse_release("Jan 1 1995").ok_or("date")?;
    let to = parse_release("Jan 1 2000").ok_or("date")?;
    let base = MovieRow::query()
        .filter(
            movies::release_date.gte(from)
                & movies::release_date.lt(to)
                & movies::imdb_rating.gte(8.0),
        )
        .order(movies::imdb_rating.desc())
        .first(5);
    let mut after: Option<Cursor> = None;
    let mut seen = 0;
    for n in 1..=3 {
        let q = match &after {
            Some(c) => base.clone().after(c.clone(), false),
            None => base.clone(),
        };
        let (rows, info) = page(db, &q).await?;
        seen += rows.len();
        println!("\nReleased 1995-1999, IMDB >= 8.0, page {n}:");
        print_movies(&rows);
        if !info.has_next_page {
            break;
        }
        after = info.end_cursor;
    }
    if seen == 0 {
        return Err("no movies in the date and rating range".into());
    }

    backend.shutdown().await;
    Ok(n_movies)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(true).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_release_dates() {
        let d = super::parse_release("Jun 12 1998").unwrap();
        assert_eq!(d.to_iso(), "1998-06-12T00:00:00.000Z");
        assert!(super::parse_release("Smarch 1 1998").is_none());
    }

    #[tokio::test]
    async fn movies_runs() {
        match super::run(false).await {
            // 3,201 rows, one of which has no title.
            Ok(n) => assert_eq!(n, 3200),
            Err(e) => panic!("movies failed: {e}"),
        }
    }
}
