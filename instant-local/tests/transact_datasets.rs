//! Loading the zeneca and movies datasets through `/admin/transact` (into temporary
//! apps created with their schemas) and querying them back.
mod common;
use common::env::*;
use serde_json::json;

#[tokio::test]
async fn zeneca_loads_and_answers() {
    let Some(env) = load_dataset("zeneca").await else {
        return;
    };
    let r = env
        .query(json!({"users": {}, "bookshelves": {}, "books": {}}))
        .await;
    assert_eq!(r["users"].as_array().unwrap().len(), 4);
    assert_eq!(r["bookshelves"].as_array().unwrap().len(), 45);
    assert_eq!(r["books"].as_array().unwrap().len(), 392);
    // Links: 45 shelves each with one user; 446 shelf-book links.
    let r = env
        .query(json!({"bookshelves": {"users": {}, "books": {"$": {"fields": []}}}}))
        .await;
    let shelves = r["bookshelves"].as_array().unwrap();
    assert!(shelves
        .iter()
        .all(|s| s["users"].as_array().unwrap().len() == 1));
    let links: usize = shelves
        .iter()
        .map(|s| s["books"].as_array().unwrap().len())
        .sum();
    assert_eq!(links, 446);
    // Type-sensitive equality on the untyped `name`.
    let n2013 = env
        .query(json!({"bookshelves": {"$": {"where": {"name": 2013}}}}))
        .await;
    let s2021 = env
        .query(json!({"bookshelves": {"$": {"where": {"name": "2021"}}}}))
        .await;
    assert!(!n2013["bookshelves"].as_array().unwrap().is_empty());
    assert_eq!(s2021["bookshelves"].as_array().unwrap().len(), 1);
    // Dotted path through two links, existential.
    let r = env.query(json!({"users": {"$": {"where": {"bookshelves.books.title": {"$like": "%Sapiens%"}}, "fields": ["handle"]}}})).await;
    assert!(!r["users"].as_array().unwrap().is_empty());
    // $not includes users with a shelf not named Poetry.
    let r = env
        .query(json!({"users": {"$": {"where": {"bookshelves.name": {"$not": "Poetry"}}}}}))
        .await;
    assert_eq!(r["users"].as_array().unwrap().len(), 4);
    // Indexed range + order + limit.
    let r = env.query(json!({"books": {"$": {"where": {"pageCount": {"$gt": 300}}, "order": {"pageCount": "desc"}, "limit": 5}}})).await;
    let pages: Vec<i64> = field(&r["books"], "pageCount")
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(pages.len(), 5);
    assert!(pages.windows(2).all(|w| w[0] >= w[1]) && pages[4] > 300);
    // Date comparisons on users.createdAt ("2021-01-07 18:51:23.742637", UTC).
    let r = env
        .query(json!({"users": {"$": {"where": {"createdAt": {"$lt": "2021-01-08"}}}}}))
        .await;
    assert!(r["users"].as_array().unwrap().len() >= 2);
}

#[tokio::test]
async fn movies_has_one_shapes() {
    let Some(env) = load_dataset("movies").await else {
        return;
    };
    let r = env.query_inf(json!({"movie": {"director": {}, "sequel": {}, "prequel": {}, "cast": {"$": {"fields": ["name"]}}}})).await;
    let movies = r["movie"].as_array().unwrap();
    assert_eq!(movies.len(), 20);
    assert!(movies.iter().all(|m| m["director"].is_object()));
    assert!(movies.iter().all(|m| m["cast"].is_array()));
    let with_sequel = movies.iter().filter(|m| m["sequel"].is_object()).count();
    let with_prequel = movies.iter().filter(|m| m["prequel"].is_object()).count();
    assert_eq!(with_sequel, 10);
    assert_eq!(with_prequel, 10);
    assert!(movies.iter().any(|m| m["sequel"].is_null()));
    let r = env.query(json!({"person": {"directedMovies": {}}})).await;
    let directed: usize = r["person"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["directedMovies"].as_array().unwrap().len())
        .sum();
    assert_eq!(directed, 20);
}
