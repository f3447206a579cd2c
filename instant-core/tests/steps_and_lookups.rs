//! InstaML steps, lookups, ids, dates and attribute values: round trips through
//! every accepted wire form (`instaml-steps.md` §2–§5) and typed errors for bad
//! input.

use instant_core::{
    tx, AttrValue, Date, EntityRef, Error, Id, LinkTargets, Lookup, Step, TransactRequest,
    UpdateOpts,
};
use serde_json::{json, Value};

const E: &str = "33333333-3333-4333-8333-333333333333";
const T: &str = "44444444-4444-4444-8444-444444444444";

fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

// ---- ids ----

#[test]
fn ids_are_lowercase_on_the_wire_and_parse_any_case() {
    let upper = "3C9E0B8A-ABCD-4111-8111-11111111111F";
    let parsed = Id::parse(upper).unwrap();
    assert_eq!(parsed.to_string(), upper.to_lowercase());
    assert_eq!(
        serde_json::to_value(parsed).unwrap(),
        json!(upper.to_lowercase())
    );
    // The server trims before parsing (instant.util.uuid/coerce).
    assert_eq!(Id::parse(&format!("  {upper}\n")).unwrap(), parsed);
    let back: Id = serde_json::from_value(json!(upper)).unwrap();
    assert_eq!(back, parsed);
}

#[test]
fn new_ids_are_random_v4() {
    let a = Id::new();
    let b = Id::new();
    assert_ne!(a, b);
    assert_eq!(a.as_uuid().get_version_num(), 4);
    assert_eq!(Id::parse(&a.to_string()).unwrap(), a);
    // Ids of any version parse (other clients may not use v4).
    let v5 = Id::from_name("fixture");
    assert_eq!(v5.as_uuid().get_version_num(), 5);
    assert_eq!(Id::parse(&v5.to_string()).unwrap(), v5);
}

#[test]
fn malformed_uuids_are_typed_errors() {
    for bad in [
        "",
        "abc",
        "33333333-3333-4333-8333-33333333333",    // 35 chars
        "33333333-3333-4333-8333-3333333333333",  // 37 chars
        "g3333333-3333-4333-8333-333333333333",   // not hex
        "33333333333343338333333333333333",       // simple form: java.util.UUID refuses it
        "{33333333-3333-4333-8333-333333333333}", // braced
        "urn:uuid:33333333-3333-4333-8333-333333333333",
        "33333333_3333_4333_8333_333333333333",
    ] {
        match Id::parse(bad) {
            Err(Error::InvalidId(s)) => assert_eq!(s, bad),
            other => panic!("{bad:?}: {other:?}"),
        }
        assert!(serde_json::from_value::<Id>(json!(bad)).is_err());
    }
    // The message is the server's.
    assert_eq!(
        Error::InvalidId("abc".into()).to_string(),
        "Invalid entity ID 'abc'. Entity IDs must be UUIDs or lookup references."
    );
    assert!(serde_json::from_value::<Id>(json!(5)).is_err());
}

// ---- dates and values ----

#[test]
fn dates_go_out_as_iso_ms_z_and_read_iso_or_epoch_ms() {
    let d = Date::from_millis(1_732_634_700_054).unwrap();
    assert_eq!(d.to_iso(), "2024-11-26T15:25:00.054Z");
    assert_eq!(
        serde_json::to_value(d).unwrap(),
        json!("2024-11-26T15:25:00.054Z")
    );
    assert_eq!(d.to_attr_json().unwrap(), json!("2024-11-26T15:25:00.054Z"));
    for v in [
        json!("2024-11-26T15:25:00.054Z"),
        json!(1_732_634_700_054_i64),
        json!(1_732_634_700_054.0),
        json!("2024-11-26T16:25:00.054+01:00"),
        json!("2024-11-26 15:25:00.054"),
        json!("2024-11-26T15:25:00.054"),
    ] {
        assert_eq!(Date::from_json(&v).unwrap(), d, "{v}");
    }
    // Server writes java.util.Date without milliseconds.
    assert_eq!(
        Date::from_json(&json!("2024-11-26T15:25:00Z"))
            .unwrap()
            .millis(),
        1_732_634_700_000
    );
    assert_eq!(
        Date::from_json(&json!("Tue, 26 Nov 2024 15:25:00 GMT"))
            .unwrap()
            .millis(),
        1_732_634_700_000
    );
    assert_eq!(
        Date::from_json(&json!("2025-01-01")).unwrap().to_iso(),
        "2025-01-01T00:00:00.000Z"
    );
    assert_eq!(
        Date::from_millis(0).unwrap().to_iso(),
        "1970-01-01T00:00:00.000Z"
    );
    assert_eq!(
        Date::from_millis(-1).unwrap().to_iso(),
        "1969-12-31T23:59:59.999Z"
    );
}

#[test]
fn bad_dates_are_typed_errors() {
    for v in [
        json!("now"),
        json!("today"),
        json!("tomorrow"),
        json!("yesterday"),
        json!(""),
        json!("2024-13-01"),
        json!(true),
        json!(null),
        json!([1]),
        json!({"ms": 1}),
        json!(1e300),
        json!(-1e300),
        json!(i64::MAX),
        json!(u64::MAX),
    ] {
        assert!(
            matches!(Date::from_json(&v), Err(Error::InvalidDate(_))),
            "{v}"
        );
    }
    assert!(Date::from_millis(i64::MIN).is_err());
    assert!(serde_json::from_value::<Date>(json!("now")).is_err());
}

#[test]
fn attr_values_refuse_nan_and_infinities() {
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(f.to_attr_json(), Err(Error::NonFiniteNumber(_))));
        assert!(matches!(
            (f as f32).to_attr_json(),
            Err(Error::NonFiniteNumber(_))
        ));
        assert!(Lookup::new("n", f).is_err());
        assert!(tx::lookup("goals", "n", f).delete().into_steps().is_err());
    }
    assert_eq!(1.5_f64.to_attr_json().unwrap(), json!(1.5));
    assert_eq!(u64::MAX.to_attr_json().unwrap(), json!(u64::MAX));
    assert_eq!(None::<i32>.to_attr_json().unwrap(), Value::Null);
    assert_eq!(Some("a").to_attr_json().unwrap(), json!("a"));
    assert_eq!(id(E).to_attr_json().unwrap(), json!(E));
    assert_eq!(instant_core::value::json_type_name(&json!({})), "object");
    assert_eq!(instant_core::value::json_type_name(&json!(1)), "number");
}

// ---- lookups ----

#[test]
fn lookup_encoding_keeps_the_value_json() {
    // instaml-steps.md §3.2 form 3: strings keep their quotes, numbers/booleans bare.
    let cases = [
        (
            Lookup::new("email", "a@b.co").unwrap(),
            r#"lookup__email__"a@b.co""#,
        ),
        (Lookup::new("number", 15).unwrap(), "lookup__number__15"),
        (Lookup::new("flag", true).unwrap(), "lookup__flag__true"),
        (Lookup::new("x", 1.5).unwrap(), "lookup__x__1.5"),
        // A value containing `__` survives: parts 2..n are re-joined.
        (
            Lookup::new("handle", "a__b").unwrap(),
            r#"lookup__handle__"a__b""#,
        ),
        (
            Lookup::new("owner.id", E).unwrap(),
            &format!(r#"lookup__owner.id__"{E}""#),
        ),
    ];
    for (l, enc) in cases {
        assert_eq!(l.encode(), enc);
        assert_eq!(Lookup::decode(enc).unwrap(), l);
        assert!(Lookup::is_encoded(enc));
    }
}

#[test]
fn empty_or_malformed_lookups_are_typed_errors() {
    assert!(matches!(Lookup::new("", "x"), Err(Error::InvalidLookup(_))));
    assert!(matches!(
        Lookup::new("a__b", "x"),
        Err(Error::InvalidLookup(_))
    ));
    assert!(matches!(
        Lookup::new("a_", "x"),
        Err(Error::InvalidLookup(_))
    ));
    assert!(matches!(
        Lookup::new("email", None::<String>),
        Err(Error::InvalidLookup(_))
    ));
    assert!(matches!(
        Lookup::new("meta", json!({"a": 1})),
        Err(Error::InvalidLookup(_))
    ));
    assert!(matches!(
        Lookup::new("tags", json!(["a"])),
        Err(Error::InvalidLookup(_))
    ));
    for bad in [
        "lookup__",
        "lookup____\"x\"",
        "lookup__email",
        "lookup__email__",
        "lookup__email__not json",
        "lookup__email__null",
        "email__\"x\"",
    ] {
        assert!(
            matches!(Lookup::decode(bad), Err(Error::InvalidLookup(_))),
            "{bad}"
        );
    }
    assert!(tx::lookup("users", "", "x")
        .update(json!({}))
        .into_steps()
        .is_err());
}

#[test]
fn entity_slot_accepts_all_three_lookup_forms() {
    let l = EntityRef::Lookup(Lookup::new("email", "a@b.co").unwrap());
    for slot in [
        json!(["email", "a@b.co"]),
        json!({"email": "a@b.co"}),
        json!(r#"lookup__email__"a@b.co""#),
    ] {
        assert_eq!(EntityRef::from_slot_json(&slot).unwrap(), l, "{slot}");
    }
    // The JS SDK sends the pair; that is what the encoder writes.
    assert_eq!(l.to_slot_json(), json!(["email", "a@b.co"]));
    assert_eq!(l.to_link_json(), json!(r#"lookup__email__"a@b.co""#));
    assert_eq!(
        EntityRef::from_slot_json(&json!(E)).unwrap(),
        EntityRef::Id(id(E))
    );
}

#[test]
fn bad_entity_slots_are_typed_errors() {
    for (slot, want_lookup_error) in [
        (json!("abc"), false),
        (json!(1), false),
        (json!(null), false),
        (json!(true), false),
        (json!([]), false),
        (json!(["email"]), false),
        (json!(["email", "a", "b"]), false),
        (json!([1, "a"]), false),
        (json!({}), true),
        (json!({"a": 1, "b": 2}), true),
        (json!(["", "x"]), true),
        (json!(["email", null]), true),
        (json!(["email", {"a": 1}]), true),
        (json!("lookup__email__{"), true),
    ] {
        let err = EntityRef::from_slot_json(&slot).unwrap_err();
        if want_lookup_error {
            assert!(matches!(err, Error::InvalidLookup(_)), "{slot}: {err:?}");
        } else {
            assert!(matches!(err, Error::InvalidId(_)), "{slot}: {err:?}");
        }
    }
    assert_eq!(
        EntityRef::from_slot_json(&json!({"a": 1, "b": 2}))
            .unwrap_err()
            .to_string(),
        "invalid lookup: lookup must be an object with a single unique attr and value."
    );
}

#[test]
fn link_values_accept_the_server_forms() {
    // instaml-steps.md §3.3 and expand-link in server/src/instant/admin/model.clj:
    // an array is always a list of targets; each element may be an id, an encoded
    // lookup, a pair or a single-entry object; an object is one lookup per entry.
    let email = |e: &str| EntityRef::Lookup(Lookup::new("email", e).unwrap());
    let cases = [
        (json!(T), LinkTargets::One(EntityRef::Id(id(T)))),
        (json!([T]), LinkTargets::Many(vec![EntityRef::Id(id(T))])),
        (json!(r#"lookup__email__"x""#), LinkTargets::One(email("x"))),
        (
            json!([["email", "x"], ["email", "y"]]),
            LinkTargets::Many(vec![email("x"), email("y")]),
        ),
        (
            json!([{"email": "x"}, T]),
            LinkTargets::Many(vec![email("x"), EntityRef::Id(id(T))]),
        ),
        (json!({"email": "x"}), LinkTargets::One(email("x"))),
        (
            json!({"email": "x", "handle": "h"}),
            LinkTargets::Many(vec![
                email("x"),
                EntityRef::Lookup(Lookup::new("handle", "h").unwrap()),
            ]),
        ),
        (json!([]), LinkTargets::Many(vec![])),
    ];
    for (wire, want) in cases {
        let got = LinkTargets::from_json(&wire).unwrap();
        assert_eq!(got, want, "{wire}");
        // Encoding is canonical and decodes to the same targets.
        assert_eq!(LinkTargets::from_json(&got.to_json()).unwrap(), want);
    }
    // A pair as a whole link value is a list of two ids ("email", "x"): invalid.
    assert!(matches!(
        LinkTargets::from_json(&json!(["email", "x"])),
        Err(Error::InvalidId(_))
    ));
    for bad in [
        json!(1),
        json!(null),
        json!([1]),
        json!({"email": null}),
        json!([{}]),
    ] {
        assert!(LinkTargets::from_json(&bad).is_err(), "{bad}");
    }
}

// ---- steps ----

fn all_step_kinds() -> Vec<Step> {
    let g = id(E);
    let t = id(T);
    let mut steps = tx::steps([
        tx::entity("goals", g)
            .create(json!({"title": "a", "n": null}))
            .update(json!({"title": "b"}))
            .update_with(json!({"title": "c"}), UpdateOpts { upsert: Some(true) })
            .merge(json!({"meta": {"a": null}}))
            .merge_with(json!({"meta": {}}), UpdateOpts::NO_UPSERT)
            .link("todos", t)
            .link("todos", vec![t, g])
            .unlink("owner", Lookup::new("email", "a@b.co").unwrap())
            .rule_params(json!({"knownDocId": E}))
            .delete(),
        tx::lookup("users", "email", "a@b.co").update(json!({})),
    ])
    .unwrap();
    steps.push(Step::AddAttr(
        json!({"id": E, "forward-identity": [T, "goals", "x"],
        "value-type": "blob", "cardinality": "one", "unique?": false, "index?": false}),
    ));
    steps.push(Step::DeleteAttr(t));
    steps
}

#[test]
fn every_step_kind_round_trips() {
    let steps = all_step_kinds();
    let wire = Value::Array(steps.iter().map(Step::to_json).collect());
    assert_eq!(Step::list_from_json(&wire).unwrap(), steps);
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(Step::from_json(i, &s.to_json()).unwrap(), *s);
        let via_serde: Step = serde_json::from_value(serde_json::to_value(s).unwrap()).unwrap();
        assert_eq!(&via_serde, s);
    }
    let req = TransactRequest::new(steps);
    let back: TransactRequest =
        serde_json::from_value(serde_json::to_value(&req).unwrap()).unwrap();
    assert_eq!(back, req);
    assert_eq!(
        wire[2],
        json!(["update", "goals", E, {"title": "c"}, {"upsert": true}])
    );
    assert_eq!(wire[6], json!(["link", "goals", E, {"todos": [T, E]}]));
    assert_eq!(
        wire[7],
        json!(["unlink", "goals", E, {"owner": "lookup__email__\"a@b.co\""}])
    );
}

#[test]
fn step_accessors() {
    let steps = all_step_kinds();
    assert_eq!(steps[0].namespace(), Some("goals"));
    assert_eq!(steps[0].entity(), Some(&EntityRef::Id(id(E))));
    let last = steps.last().unwrap();
    assert_eq!(last.action(), "delete-attr");
    assert_eq!(last.namespace(), None);
    assert_eq!(last.entity(), None);
}

#[test]
fn lenient_forms_the_server_accepts() {
    // delete: `["delete", ns, id]` or any trailing junk.
    for wire in [
        json!(["delete", "goals", E]),
        json!(["delete", "goals", E, null, 1, 2]),
    ] {
        assert_eq!(
            Step::from_json(0, &wire).unwrap(),
            Step::Delete {
                ns: "goals".into(),
                entity: EntityRef::Id(id(E))
            }
        );
    }
    // update opts: null, {"upsert": null}, unknown keys ignored.
    for opts in [
        json!(null),
        json!({"upsert": null}),
        json!({"upsert": null, "mode": "x"}),
    ] {
        let s = Step::from_json(0, &json!(["update", "goals", E, {}, opts])).unwrap();
        let Step::Update { opts, .. } = s else {
            panic!()
        };
        assert!(opts.is_none_or(|o| o.upsert.is_none()));
    }
    // `in` a step: ids in any case and lookup objects.
    let s = Step::from_json(0, &json!(["merge", "goals", E.to_uppercase(), {"a": 1}])).unwrap();
    assert_eq!(s.entity(), Some(&EntityRef::Id(id(E))));
}

#[test]
fn bad_steps_are_typed_errors_naming_the_step() {
    let cases = [
        json!("update"),
        json!([]),
        json!([1, "goals", E, {}]),
        json!(["upsert", "goals", E, {}]),
        json!(["update-attr", {"id": E}]),
        json!(["update", 1, E, {}]),
        json!(["update", "goals"]),
        json!(["update", "goals", E]),
        json!(["update", "goals", E, [1]]),
        json!(["update", "goals", E, {}, {"upsert": "yes"}]),
        json!(["update", "goals", E, {}, 5]),
        json!(["update", "goals", E, {}, {}, {}]),
        json!(["create", "goals", E, {}, {"upsert": true}]),
        json!(["link", "goals", E, {"todos": 5}]),
        json!(["link", "goals", E, {"todos": "not-a-uuid"}]),
        json!(["link", "goals", E, "x"]),
        json!(["ruleParams", "goals", E, null]),
        json!(["add-attr"]),
        json!(["add-attr", {}, {}]),
        json!(["add-attr", "x"]),
        json!(["delete-attr", "x"]),
        json!(["delete-attr"]),
    ];
    for wire in cases {
        let body = json!({"steps": [["delete", "goals", E], wire.clone()]});
        let err = TransactRequest::from_json(&body).unwrap_err();
        match err {
            Error::InvalidStep { index, .. } => assert_eq!(index, 1, "{wire}"),
            Error::InvalidId(_) | Error::InvalidLookup(_) => {}
            other => panic!("{wire}: {other:?}"),
        }
    }
    // Entity-slot problems carry the server's "Invalid entity ID" error.
    assert!(matches!(
        Step::from_json(3, &json!(["update", "goals", "abc", {}])),
        Err(Error::InvalidId(_))
    ));
}

#[test]
fn bad_transact_bodies_are_typed_errors() {
    for body in [
        json!({}),
        json!(null),
        json!([]),
        json!({"steps": {}}),
        json!({"steps": [], "throw-on-missing-attrs?": "yes"}),
    ] {
        assert!(TransactRequest::from_json(&body).is_err(), "{body}");
    }
    let ok = TransactRequest::from_json(&json!({"steps": [], "extra": 1})).unwrap();
    assert!(ok.steps.is_empty() && !ok.throw_on_missing_attrs);
}

#[test]
fn builder_refuses_non_object_args() {
    for chain in [
        tx::entity("goals", id(E)).update(json!([1])),
        tx::entity("goals", id(E)).create(json!("x")),
        tx::entity("goals", id(E)).merge(json!(null)),
        tx::entity("goals", id(E)).rule_params(json!(1)),
    ] {
        assert!(matches!(chain.into_steps(), Err(Error::InvalidValue(_))));
    }
    // The first error wins and later calls are ignored.
    let chain = tx::entity("goals", id(E)).update(json!(1)).delete();
    assert!(chain.into_steps().is_err());
}

#[test]
fn transact_response_decodes_tx_id() {
    let r: instant_core::TransactResponse =
        serde_json::from_value(json!({"tx-id": 1234567})).unwrap();
    assert_eq!(r.tx_id, 1234567);
    assert_eq!(serde_json::to_value(r).unwrap(), json!({"tx-id": 1234567}));
}

#[test]
fn numbers_survive_a_round_trip_through_text() {
    // instant-core enables serde_json's `float_roundtrip`: without it the parser
    // may return a neighbouring f64 (found by the proptests).
    for f in [
        1.642_071_133_700_182e109,
        0.1 + 0.2,
        5e-324,
        f64::MAX,
        -2.2250738585072014e-308,
    ] {
        let step = tx::entity("goals", id(E))
            .update(json!({"n": f}))
            .into_steps()
            .unwrap();
        let text = serde_json::to_string(&TransactRequest::new(step.clone())).unwrap();
        let back: TransactRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(back.steps, step, "{f:e}");
    }
}

#[test]
fn several_labels_in_one_link_step() {
    // JS `db.tx.goals[g].link({todos: [t1, t2], owner: lookup('email', 'a@b.c')})`
    // (instaml-steps.md §4.5 second example).
    let owner = Lookup::new("email", "a@b.c").unwrap();
    let steps = tx::entity("goals", id(E))
        .link_all([
            ("todos", LinkTargets::from(vec![id(T), id(E)])),
            ("owner", LinkTargets::from(owner.clone())),
        ])
        .unlink_all([("todos", id(T)), ("todos", id(E))])
        .into_steps()
        .unwrap();
    assert_eq!(
        steps[0].to_json(),
        json!(["link", "goals", E, {"todos": [T, E], "owner": "lookup__email__\"a@b.c\""}])
    );
    // A repeated label keeps its last targets, as a JSON object would.
    assert_eq!(
        steps[1].to_json(),
        json!(["unlink", "goals", E, {"todos": E}])
    );
    assert_eq!(
        Step::list_from_json(&json!([steps[0].to_json(), steps[1].to_json()])).unwrap(),
        steps
    );
}

#[test]
fn api_error_display() {
    let e = instant_core::ApiError::from_response(502, b"Bad gateway");
    assert_eq!(e.to_string(), "HTTP 502: Bad gateway");
}

/// Date strings in the forms upstream `server/src/instant/db/model/triple.clj`
/// (`date-parsers`) accepts: zoned ISO with an hour-only offset, JS
/// `toDateString()`/`toString()`, RFC-1123, and a JSON-quoted date.
#[test]
fn date_parse_accepts_the_upstream_server_forms() {
    use instant_core::Date;
    let cases = [
        ("Sat, 05 Apr 2025 18:00:31 GMT", 1_743_876_031_000_i64),
        ("Wed Jul 09 2025", 1_752_019_200_000),
        (
            "Wed Jul 09 2025 02:00:00 GMT+0200 (Central European Summer Time)",
            1_752_019_200_000,
        ),
        ("2025-01-02T00:00:00-08", 1_735_804_800_000),
        ("\"2025-01-15 20:53:08\"", 1_736_974_388_000),
        ("2025-01-15 20:53:09.5", 1_736_974_389_500),
    ];
    for (text, ms) in cases {
        assert_eq!(Date::parse(text).map(|d| d.millis()), Ok(ms), "{text}");
    }
    for bad in ["now", "today", "\"\"", "Wed Jul 32 2025", "2025-13-01"] {
        assert!(Date::parse(bad).is_err(), "{bad}");
    }
}
