//! The client schema JSON in both directions (`schema-and-platform.md` Part A),
//! pulled schemas (Part B), and permission rules (Part D).

use instant_core::schema::ServerAttr;
use instant_core::{
    AttrDef, EntityDef, Error, Has, LinkDef, LinkSide, NamespaceRules, OnDelete, Rules, Schema,
    ValueType,
};
use serde_json::{json, Value};

fn blog_schema() -> Schema {
    Schema::new()
        .entity(
            "profiles",
            EntityDef::new()
                .attr("handle", AttrDef::string().unique().indexed())
                .attr("bio", AttrDef::string().optional()),
        )
        .entity(
            "posts",
            EntityDef::new()
                .attr("title", AttrDef::string())
                .attr("n", AttrDef::number().indexed())
                .attr("done", AttrDef::boolean().optional())
                .attr("at", AttrDef::date())
                .attr("meta", AttrDef::json().optional()),
        )
        .link(
            "postAuthor",
            LinkDef::new(
                LinkSide::one("posts", "author").required().cascade(),
                LinkSide::many("profiles", "authoredPosts"),
            ),
        )
}

#[test]
fn attr_defs_match_the_i_builders() {
    // A.3: attributes are required by default; `.unique()` does not imply
    // `isIndexed`.
    assert_eq!(
        AttrDef::string().to_json(),
        json!({"valueType": "string", "required": true, "isIndexed": false,
               "config": {"indexed": false, "unique": false}, "metadata": {}})
    );
    assert_eq!(
        AttrDef::number().optional().unique().to_json(),
        json!({"valueType": "number", "required": false, "isIndexed": false,
               "config": {"indexed": false, "unique": true}, "metadata": {}})
    );
    assert_eq!(
        AttrDef::date().indexed().to_json(),
        json!({"valueType": "date", "required": true, "isIndexed": true,
               "config": {"indexed": true, "unique": false}, "metadata": {}})
    );
    for t in [
        ValueType::String,
        ValueType::Number,
        ValueType::Boolean,
        ValueType::Date,
        ValueType::Json,
    ] {
        assert_eq!(ValueType::parse(t.as_str()), Some(t));
    }
    // `i.any()` serialises as json; servers report untyped attrs as `any`.
    assert_eq!(ValueType::parse("any"), Some(ValueType::Json));
    assert!(!ValueType::Json.is_checked() && ValueType::Date.is_checked());
}

#[test]
fn link_def_matches_the_spec_example() {
    // A.4 postAuthor example.
    let l = blog_schema().links["postAuthor"].clone();
    assert_eq!(
        l.to_json(),
        json!({"forward": {"on": "posts", "has": "one", "label": "author", "required": true, "onDelete": "cascade"},
               "reverse": {"on": "profiles", "has": "many", "label": "authoredPosts"}})
    );
    assert_eq!(
        LinkDef::from_json("links.postAuthor", &l.to_json()).unwrap(),
        l
    );
    assert_eq!(l.derived_name(), "postsAuthor");
}

#[test]
fn schema_json_both_directions() {
    let s = blog_schema();
    let j = s.to_json();
    assert_eq!(j["rooms"], json!({}));
    // Each entity lists the links seen from it (both directions).
    assert_eq!(
        j["entities"]["posts"]["links"],
        json!({"author": {"entityName": "profiles", "cardinality": "one"}})
    );
    assert_eq!(
        j["entities"]["profiles"]["links"],
        json!({"authoredPosts": {"entityName": "posts", "cardinality": "many"}})
    );
    assert_eq!(Schema::from_json(&j).unwrap(), s);
    let via_serde: Schema = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
    assert_eq!(via_serde, s);
    s.validate().unwrap();
}

#[test]
fn schema_decoding_tolerates_what_i_schema_omits() {
    // `links`/`rooms` default to empty; `isIndexed` alone marks an index;
    // metadata is kept.
    let s = Schema::from_json(&json!({"entities": {"goals": {"attrs": {
        "title": {"valueType": "string", "required": true, "isIndexed": true,
                  "metadata": {"derivedType": "x"}}
    }}}}))
    .unwrap();
    let a = &s.entities["goals"].attrs["title"];
    assert!(a.indexed && a.required && !a.unique);
    assert_eq!(a.metadata, Some(json!({"derivedType": "x"})));
    let rooms = json!({"chat": {"presence": {"attrs": {}, "links": {}}}});
    let s = Schema::from_json(&json!({"entities": {}, "rooms": rooms})).unwrap();
    assert_eq!(s.to_json()["rooms"], rooms);
}

#[test]
fn bad_schemas_are_typed_errors() {
    let cases = [
        (json!(1), ""),
        (json!({"entities": []}), "entities"),
        (json!({"entities": {"goals": 5}}), "entities.goals"),
        (
            json!({"entities": {"goals": {"attrs": []}}}),
            "entities.goals.attrs",
        ),
        (
            json!({"entities": {"goals": {"attrs": {"t": {}}}}}),
            "entities.goals.attrs.t",
        ),
        (
            json!({"entities": {"goals": {"attrs": {"t": {"valueType": "text"}}}}}),
            "entities.goals.attrs.t",
        ),
        (
            json!({"links": {"l": {"forward": {"on": "a", "has": "one", "label": "b"}}}}),
            "links.l",
        ),
        (
            json!({"links": {"l": {"forward": {"on": "a", "has": "some", "label": "b"},
                                "reverse": {"on": "b", "has": "one", "label": "a"}}}}),
            "links.l.forward",
        ),
        (
            json!({"links": {"l": {"forward": {"on": "a", "has": "one", "label": "b", "onDelete": "restrict"},
                                "reverse": {"on": "b", "has": "one", "label": "a"}}}}),
            "links.l.forward",
        ),
        (json!({"links": 3}), "links"),
        (json!({"rooms": 3}), "rooms"),
    ];
    for (v, want_path) in cases {
        match Schema::from_json(&v) {
            Err(Error::InvalidSchema { path, .. }) => assert_eq!(path, want_path, "{v}"),
            other => panic!("{v}: {other:?}"),
        }
    }
}

#[test]
fn validate_enforces_push_rules() {
    // Cascade only on a has-one side.
    let bad = Schema::new().link(
        "l",
        LinkDef::new(
            LinkSide::many("a", "bs").cascade(),
            LinkSide::many("b", "as"),
        ),
    );
    let err = bad.validate().unwrap_err();
    assert!(err
        .to_string()
        .contains("Cascade delete is only possible on links with `has: 'one'`"));
    // The reverse side may cascade when it is has-one.
    Schema::new()
        .link(
            "l",
            LinkDef::new(LinkSide::many("a", "bs"), LinkSide::one("b", "a").cascade()),
        )
        .validate()
        .unwrap();
    // One label per namespace, across attributes and links.
    let dup = Schema::new()
        .entity("a", EntityDef::new().attr("bs", AttrDef::string()))
        .link(
            "l",
            LinkDef::new(LinkSide::many("a", "bs"), LinkSide::many("b", "as")),
        );
    assert!(dup
        .validate()
        .unwrap_err()
        .to_string()
        .contains("Duplicate entry"));
}

fn attr(id: &str, fwd: (&str, &str), extra: Value) -> Value {
    let mut a = json!({"id": id, "forward-identity": ["11111111-1111-4111-8111-111111111111", fwd.0, fwd.1],
                       "value-type": "blob", "cardinality": "one", "unique?": false, "index?": false,
                       "required?": false, "inferred-types": null, "catalog": "user"});
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

fn pulled() -> Value {
    let n = |i: u8| format!("{i:08x}-0000-4000-8000-000000000000");
    json!({"schema": {
        "blobs": {
            "posts": {
                "id": attr(&n(1), ("posts", "id"), json!({"unique?": true})),
                "title": attr(&n(2), ("posts", "title"), json!({"checked-data-type": "string", "required?": true, "index?": true})),
                "meta": attr(&n(3), ("posts", "meta"), json!({"inferred-types": ["json"]})),
                "at": attr(&n(4), ("posts", "at"), json!({"checked-data-type": "date", "required?": true}))
            },
            "profiles": {
                "id": attr(&n(5), ("profiles", "id"), json!({"unique?": true})),
                "handle": attr(&n(6), ("profiles", "handle"), json!({"checked-data-type": "string", "unique?": true, "index?": true, "required?": true}))
            },
            "$users": {
                "id": attr(&n(7), ("$users", "id"), json!({"unique?": true, "catalog": "system"})),
                "email": attr(&n(8), ("$users", "email"), json!({"unique?": true, "index?": true, "checked-data-type": "string", "catalog": "system"}))
            },
            "$files": {
                "id": attr(&n(9), ("$files", "id"), json!({"unique?": true, "catalog": "system"})),
                "path": attr(&n(10), ("$files", "path"), json!({"catalog": "system"}))
            }
        },
        "refs": {
            "[\"posts\" \"author\" \"profiles\" \"authoredPosts\"]": attr(&n(11), ("posts", "author"), json!({
                "value-type": "ref", "reverse-identity": ["22222222-2222-4222-8222-222222222222", "profiles", "authoredPosts"],
                "required?": true, "on-delete": "cascade"})),
            "profiles-user-$users-profile": attr(&n(12), ("profiles", "user"), json!({
                "value-type": "ref", "unique?": true,
                "reverse-identity": ["33333333-3333-4333-8333-333333333333", "$users", "profile"],
                "on-delete-reverse": "cascade"})),
            "system": attr(&n(13), ("$users", "linkedPrimaryUser"), json!({
                "value-type": "ref", "reverse-identity": ["44444444-4444-4444-8444-444444444444", "$users", "linkedGuestUsers"],
                "catalog": "system"}))
        }
    }})
}

#[test]
fn from_pull_converts_like_the_platform_sdk() {
    let s = Schema::from_pull(&pulled()).unwrap();
    let posts = &s.entities["posts"].attrs;
    assert!(!posts.contains_key("id"));
    assert_eq!(posts["title"], AttrDef::string().indexed());
    assert_eq!(posts["at"], AttrDef::date());
    // Untyped → json; required? false → optional.
    assert_eq!(posts["meta"], AttrDef::json().optional());
    assert_eq!(
        s.entities["profiles"].attrs["handle"],
        AttrDef::string().unique().indexed()
    );
    // (cardinality, unique?) → (forward.has, reverse.has): one,false → one,many.
    assert_eq!(
        s.links["postsAuthor"],
        LinkDef::new(
            LinkSide::one("posts", "author").required().cascade(),
            LinkSide::many("profiles", "authoredPosts")
        )
    );
    // one,true → one,one; the reverse cascade is kept.
    let user = &s.links["profilesUser"];
    assert_eq!((user.forward.has, user.reverse.has), (Has::One, Has::One));
    assert_eq!(user.reverse.on_delete, Some(OnDelete::Cascade));
    // System catalog attrs and links are left out; `$users` stays because a user
    // link points at it; `$files` (system attrs only) is dropped.
    assert!(s.entities["$users"].attrs.is_empty());
    assert!(!s.entities.contains_key("$files"));
    assert!(!s
        .links
        .values()
        .any(|l| l.forward.label == "linkedPrimaryUser"));
    // The inner object (without the `schema` wrapper) converts the same way.
    assert_eq!(Schema::from_pull(&pulled()["schema"]).unwrap(), s);
}

#[test]
fn pulled_and_pushed_schema_agree() {
    // A schema pushed and pulled back, through the server attr model of B.1.
    let s = blog_schema();
    let mut blobs = serde_json::Map::new();
    let mut i = 0u8;
    let mut next = || {
        i += 1;
        format!("{i:08x}-0000-4000-8000-000000000000")
    };
    for (ns, e) in &s.entities {
        let mut attrs = serde_json::Map::new();
        for (label, a) in &e.attrs {
            let mut extra =
                json!({"required?": a.required, "index?": a.indexed, "unique?": a.unique});
            if a.value_type.is_checked() {
                extra["checked-data-type"] = json!(a.value_type.as_str());
            }
            attrs.insert(label.clone(), attr(&next(), (ns, label), extra));
        }
        blobs.insert(ns.clone(), Value::Object(attrs));
    }
    let l = &s.links["postAuthor"];
    let link = attr(
        &next(),
        ("posts", "author"),
        json!({
        "value-type": "ref", "reverse-identity": [next(), "profiles", "authoredPosts"],
        "required?": true, "on-delete": "cascade"}),
    );
    let pulled = json!({"blobs": blobs, "refs": {"k": link}});
    let back = Schema::from_pull(&pulled).unwrap();
    assert_eq!(back.entities, s.entities);
    assert_eq!(back.links["postsAuthor"], *l);
}

#[test]
fn server_attr_examples_decode() {
    // B.1 examples.
    let blob = ServerAttr::from_json(&json!({"id": "6f1b0000-0000-4000-8000-000000000000",
        "forward-identity": ["a1c20000-0000-4000-8000-000000000000", "goals", "title"], "value-type": "blob",
        "cardinality": "one", "unique?": false, "index?": true, "required?": true,
        "checked-data-type": "string", "inferred-types": ["string"], "catalog": "user"}))
    .unwrap();
    assert!(!blob.is_ref() && !blob.is_system());
    assert_eq!(blob.forward_identity.etype(), "goals");
    assert_eq!(blob.forward_identity.label(), "title");
    assert_eq!(blob.to_attr_def(), AttrDef::string().indexed());
    let back = ServerAttr::from_json(&serde_json::to_value(&blob).unwrap()).unwrap();
    assert_eq!(back, blob);
    for bad in [json!({}), json!(1), json!({"id": "x"})] {
        assert!(matches!(
            ServerAttr::from_json(&bad),
            Err(Error::Decode { .. })
        ));
    }
}

#[test]
fn bad_pulls_are_typed_errors() {
    for bad in [
        json!(1),
        json!({"schema": 1}),
        json!({"blobs": []}),
        json!({"blobs": {"goals": 1}}),
        json!({"blobs": {"goals": {"title": {"id": "x"}}}}),
        json!({"refs": {"k": {}}}),
    ] {
        assert!(
            matches!(Schema::from_pull(&bad), Err(Error::InvalidSchema { .. })),
            "{bad}"
        );
    }
}

const RULES_D1: &str = r#"{
  "$default": {"allow": {"$default": "false"}},
  "attrs":    {"allow": {"create": "false"}},
  "todos": {
    "allow": {"view": "true", "create": "isOwner", "update": "isOwner", "delete": "isOwner", "$default": "false",
              "link": {"owner": "true"}, "unlink": {"owner": "true"}},
    "bind": ["isOwner", "auth.id != null && auth.id == data.ownerId"],
    "fields": {"email": "auth.id == data.id"}
  },
  "$files": {"allow": {"view": "true", "create": "isLoggedIn"}, "bind": {"isLoggedIn": "auth.id != null"}},
  "$rateLimits": {"perUser": {"limits": [{"capacity": 10, "refill": {"amount": 10, "period": "1 hour", "type": "greedy"}}]}}
}"#;

#[test]
fn rules_example_round_trips() {
    let v: Value = serde_json::from_str(RULES_D1).unwrap();
    let r = Rules::from_json(&v).unwrap();
    let todos = &r.namespaces["todos"];
    assert_eq!(todos.allow["create"], "isOwner");
    assert_eq!(todos.allow_extra["link"], json!({"owner": "true"}));
    assert_eq!(
        todos.bind,
        vec![(
            "isOwner".to_string(),
            "auth.id != null && auth.id == data.ownerId".to_string()
        )]
    );
    assert_eq!(todos.fields["email"], "auth.id == data.id");
    assert_eq!(
        r.rate_limits.as_ref().unwrap()["perUser"]["limits"][0]["capacity"],
        10
    );
    // Re-encoding: identical except `bind` objects become the array form.
    let mut expected = v.clone();
    expected["$files"]["bind"] = json!(["isLoggedIn", "auth.id != null"]);
    assert_eq!(r.to_json(), expected);
    assert_eq!(Rules::from_json(&r.to_json()).unwrap(), r);
    let via_serde: Rules = serde_json::from_str(RULES_D1).unwrap();
    assert_eq!(via_serde, r);
}

#[test]
fn rule_lookup_order() {
    // ns.allow.<action> → ns.allow.$default → $default.allow.<action> →
    // $default.allow.$default.
    let r = Rules::from_json(&serde_json::from_str(RULES_D1).unwrap()).unwrap();
    assert_eq!(r.rule_for("todos", "view"), Some("true"));
    assert_eq!(r.rule_for("todos", "link"), Some("false"));
    assert_eq!(r.rule_for("goals", "view"), Some("false"));
    let r2 = Rules::new()
        .namespace(
            "$default",
            NamespaceRules::new()
                .allow("view", "a")
                .allow("$default", "b"),
        )
        .namespace("goals", NamespaceRules::new().allow("update", "c"));
    assert_eq!(r2.rule_for("goals", "update"), Some("c"));
    assert_eq!(r2.rule_for("goals", "view"), Some("a"));
    assert_eq!(r2.rule_for("goals", "delete"), Some("b"));
    assert_eq!(Rules::new().rule_for("goals", "view"), None);
}

#[test]
fn rules_values_the_server_tolerates() {
    // Booleans become CEL strings; null = unset; `null` document = no rules.
    let r = Rules::from_json(&json!({"goals": {"allow": {"view": true, "update": null}}})).unwrap();
    assert_eq!(
        r.namespaces["goals"].allow.get("view").map(String::as_str),
        Some("true")
    );
    assert!(!r.namespaces["goals"].allow.contains_key("update"));
    assert_eq!(Rules::from_json(&Value::Null).unwrap(), Rules::new());
    // A namespace with only binds encodes without an empty `allow`.
    let only_bind = json!({"goals": {"bind": ["a", "true"]}});
    assert_eq!(Rules::from_json(&only_bind).unwrap().to_json(), only_bind);
}

#[test]
fn bad_rules_are_typed_errors() {
    for bad in [
        json!(1),
        json!({"goals": 1}),
        json!({"goals": {"allow": 1}}),
        json!({"goals": {"bind": ["a"]}}),
        json!({"goals": {"bind": ["a", 1]}}),
        json!({"goals": {"bind": ["a", "x", "a", "y"]}}),
        json!({"goals": {"bind": 1}}),
        json!({"goals": {"bind": {"a": 1}}}),
        json!({"goals": {"fields": {"id": "true"}}}),
        json!({"goals": {"fields": {"title": 1}}}),
        json!({"goals": {"fields": []}}),
    ] {
        assert!(
            matches!(Rules::from_json(&bad), Err(Error::InvalidSchema { .. })),
            "{bad}"
        );
    }
}

#[test]
fn rules_validate_document_level_restrictions() {
    Rules::from_json(&serde_json::from_str(RULES_D1).unwrap())
        .unwrap()
        .validate()
        .unwrap();
    let ok = json!({"$users": {"allow": {"view": "auth.id == data.id", "delete": "false"}},
                    "$streams": {"allow": {"view": "true"}}});
    Rules::from_json(&ok).unwrap().validate().unwrap();
    for bad in [
        json!({"$users": {"allow": {"delete": "true"}}}),
        json!({"$magicCodes": {"allow": {"view": "true"}}}),
    ] {
        let r = Rules::from_json(&bad).unwrap();
        assert!(
            matches!(r.validate(), Err(Error::InvalidSchema { .. })),
            "{bad}"
        );
    }
}

#[test]
fn value_types_check_values_like_the_server() {
    use ValueType::*;
    let accepted = [
        (String, json!("a")),
        (Number, json!(1.5)),
        (Boolean, json!(false)),
        (Date, json!(0)),
        (Date, json!("2024-01-01T00:00:00.000Z")),
        (Date, json!("2025-01-15 20:53:08")),
        (Json, json!({"a": [1]})),
        (String, Value::Null),
        (Date, Value::Null),
    ];
    for (t, v) in accepted {
        t.check(&v).unwrap_or_else(|e| panic!("{t:?} {v}: {e}"));
    }
    let refused = [
        (
            String,
            json!(1),
            "Value must be a string but the provided value type is number.",
        ),
        (
            Number,
            json!("1"),
            "Value must be a number but the provided value type is string.",
        ),
        (
            Boolean,
            json!(1),
            "Value must be a boolean but the provided value type is number.",
        ),
        (
            Date,
            json!("tomorrow"),
            "Value must be a date but the provided value type is string.",
        ),
        (
            Date,
            json!(true),
            "Value must be a date but the provided value type is boolean.",
        ),
        (
            String,
            json!({}),
            "Value must be a string but the provided value type is object.",
        ),
    ];
    for (t, v, msg) in refused {
        match t.check(&v) {
            Err(Error::InvalidValue(m)) => assert_eq!(m, msg),
            other => panic!("{t:?} {v}: {other:?}"),
        }
    }
}
