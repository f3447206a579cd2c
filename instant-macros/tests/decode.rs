//! Results decode straight from the response bytes, with errors naming the JSON
//! path; typed results equal the untyped path (serde_json::Value) read by hand.

#[path = "fixtures/model.rs"]
mod model;

use instant_core::typed::{decode, decode_value, Multi, Rows, TypedQuery};
use instant_core::{Date, Error, Id};
use model::*;
use serde_json::json;

fn ids() -> (Id, Id, Id) {
    (Id::new(), Id::new(), Id::new())
}

#[test]
fn nested_links_decode_from_bytes() {
    let (g, t, u) = ids();
    let body = json!({"goals": [{
        "id": g, "title": "Get fit", "unknownAttr": 1,
        "todos": [{"id": t, "title": "Run", "owner": {"id": u, "email": "a@b.co"}}]
    }]});
    let bytes = serde_json::to_vec(&body).unwrap();
    let rows: Rows<GoalCard> = decode(&bytes).unwrap();
    assert_eq!(
        rows.into_vec(),
        vec![GoalCard {
            id: g,
            title: "Get fit".into(),
            todos: vec![TodoWithOwner {
                id: t,
                title: "Run".into(),
                owner: Some(OwnerName {
                    email: "a@b.co".into()
                })
            }]
        }]
    );
    // Same answer through the Value path and through the TypedQuery output type.
    let via_value: <GoalCard as SelOut>::Out = decode_value(&body).unwrap();
    assert_eq!(via_value.len(), 1);
}

trait SelOut {
    type Out;
}
impl SelOut for GoalCard {
    type Out = <instant_core::typed::Query<GoalCard> as TypedQuery>::Output;
}

#[test]
fn has_one_accepts_object_null_array_and_absent() {
    let t = Id::new();
    for owner in [
        json!(null),
        json!([]),
        json!([{"email": "x@y.z"}]),
        json!({"email": "x@y.z"}),
    ] {
        let body = json!({"todos": [{"id": t, "title": "Run", "owner": owner.clone()}]});
        let rows: Rows<TodoWithOwner> = decode(body.to_string().as_bytes()).unwrap();
        let expect = match &owner {
            serde_json::Value::Null => None,
            serde_json::Value::Array(a) if a.is_empty() => None,
            _ => Some(OwnerName {
                email: "x@y.z".into(),
            }),
        };
        assert_eq!(rows[0].owner, expect, "{owner}");
    }
    let body = json!({"todos": [{"id": t, "title": "Run"}]});
    let rows: Rows<TodoWithOwner> = decode(body.to_string().as_bytes()).unwrap();
    assert_eq!(rows[0].owner, None);
}

#[test]
fn entity_struct_decodes_optional_dates_and_json() {
    let (t, _, _) = ids();
    let body = json!({"todos": [{
        "id": t, "title": "Run", "done": true, "createdAt": 0, "slug": "run",
        "due": "2024-01-02T03:04:05.000Z", "extra": {"k": [1]}
    }]});
    let rows: Rows<Todo> = decode(body.to_string().as_bytes()).unwrap();
    assert_eq!(rows[0].created_at, Date::from_millis(0).unwrap());
    assert_eq!(
        rows[0].due,
        Some(Date::parse("2024-01-02T03:04:05Z").unwrap())
    );
    assert_eq!(rows[0].meta, Some(json!({"k": [1]})));
    let body = json!({"todos": [{"id": t, "title": "Run", "done": true, "createdAt": 0, "slug": "run", "due": null}]});
    let rows: Rows<Todo> = decode(body.to_string().as_bytes()).unwrap();
    assert_eq!((rows[0].due, rows[0].meta.clone()), (None, None));
    let g = Id::new();
    let body = json!({"goals": [{"id": g, "title": "x", "metrics": {"progress": 0.5}}]});
    let rows: Rows<Goal> = decode(body.to_string().as_bytes()).unwrap();
    assert_eq!(rows[0].metrics.as_ref().map(|m| m.progress), Some(0.5));
    assert_eq!(rows[0].priority, None);
}

#[test]
fn errors_name_the_json_path() {
    let (g, t, _) = ids();
    let body = json!({"goals": [
        {"id": g, "title": "ok", "todos": []},
        {"id": g, "title": "ok", "todos": [{"id": t, "title": null}]}
    ]});
    let err = decode::<Rows<GoalCard>>(body.to_string().as_bytes()).unwrap_err();
    match err {
        Error::Decode { path, message } => {
            assert_eq!(path, "goals[1].todos[0].title");
            assert!(message.contains("expected a string"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let body = json!({"goals": [{"id": g, "todos": []}]});
    let err = decode::<Rows<GoalCard>>(body.to_string().as_bytes()).unwrap_err();
    assert!(err.to_string().contains("missing field `title`"), "{err}");
    let err = decode::<Rows<GoalCard>>(br#"{"todos": []}"#).unwrap_err();
    assert!(
        err.to_string().contains("missing namespace `goals`"),
        "{err}"
    );
}

#[test]
fn multi_namespace_output() {
    let (g, t, _) = ids();
    let body = json!({
        "todos": [{"id": t, "title": "Run", "done": false}],
        "goals": [{"id": g, "title": "Fit", "todos": []}]
    });
    type Q = (
        instant_core::typed::Query<GoalCard>,
        instant_core::typed::Query<TodoLine>,
    );
    let Multi((goals_, todos_)): <Q as TypedQuery>::Output =
        decode(body.to_string().as_bytes()).unwrap();
    assert_eq!(goals_[0].title, "Fit");
    assert_eq!(
        todos_[0],
        TodoLine {
            id: t,
            title: "Run".into(),
            done: false
        }
    );
}

#[test]
fn schema_json_matches_instant_shape() {
    let s = Schema::to_json();
    assert_eq!(
        s["entities"]["todos"]["attrs"]["createdAt"],
        json!({"valueType": "date", "required": true, "isIndexed": true,
               "config": {"indexed": true, "unique": false}, "metadata": {}})
    );
    assert_eq!(
        s["entities"]["todos"]["attrs"]["due"]["required"],
        json!(false)
    );
    assert_eq!(
        s["entities"]["todos"]["attrs"]["extra"]["valueType"],
        json!("json")
    );
    assert_eq!(
        s["entities"]["$users"]["attrs"]["email"]["config"],
        json!({"indexed": true, "unique": true})
    );
    assert_eq!(
        s["links"]["todoOwner"],
        json!({"forward": {"on": "todos", "has": "one", "label": "owner", "onDelete": "cascade"},
               "reverse": {"on": "$users", "has": "many", "label": "ownedTodos"}})
    );
    assert_eq!(
        s["links"]["goalTodos"]["reverse"],
        json!({"on": "todos", "has": "many", "label": "goals"})
    );
    // The exported schema is valid by Instant's own rules and round-trips.
    let core = Schema::instant_schema();
    core.validate().unwrap();
    assert_eq!(instant_core::Schema::from_json(&s).unwrap(), core);
}
