//! Property tests: every decoder survives arbitrary input with a typed error
//! (never a panic), and structured values round-trip through their JSON.

use instant_core::{
    ApiError, AttrDef, Cursor, Date, EntityDef, EntityRef, Id, LinkDef, LinkSide, LinkTargets,
    Lookup, NamespaceRules, Op, Order, Query, QueryNode, Rules, Schema, Step, TransactRequest,
    UpdateOpts, ValueType, Where,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

// ---------- arbitrary JSON, biased towards the words decoders look for ----------

const WORDS: &[&str] = &[
    "",
    "$",
    "$$ruleParams",
    "where",
    "order",
    "limit",
    "first",
    "last",
    "offset",
    "after",
    "before",
    "afterInclusive",
    "beforeInclusive",
    "fields",
    "aggregate",
    "count",
    "asc",
    "desc",
    "and",
    "or",
    "$in",
    "in",
    "$ne",
    "$not",
    "$isNull",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$like",
    "$ilike",
    "$regex",
    "update",
    "create",
    "merge",
    "link",
    "unlink",
    "delete",
    "ruleParams",
    "add-attr",
    "delete-attr",
    "steps",
    "throw-on-missing-attrs?",
    "query",
    "inference?",
    "entities",
    "links",
    "rooms",
    "attrs",
    "valueType",
    "config",
    "forward",
    "reverse",
    "on",
    "has",
    "label",
    "one",
    "many",
    "onDelete",
    "cascade",
    "blobs",
    "refs",
    "schema",
    "id",
    "forward-identity",
    "reverse-identity",
    "value-type",
    "cardinality",
    "blob",
    "ref",
    "catalog",
    "system",
    "allow",
    "bind",
    "$default",
    "$rateLimits",
    "type",
    "message",
    "hint",
    "trace-id",
    "string",
    "number",
    "boolean",
    "date",
    "json",
    "email",
    "33333333-3333-4333-8333-333333333333",
    "lookup__email__\"a\"",
    "lookup__n__1",
    "lookup__x__{",
    "2024-11-26T15:25:00.054Z",
    "now",
    "goals",
    "todos",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(WORDS).prop_map(str::to_string),
        1 => ".{0,12}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        (-3i64..20).prop_map(Value::from),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((word(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Arbitrary JSON, sometimes placed where a decoder looks deeper.
fn arb_input() -> impl Strategy<Value = Value> {
    (arb_json(), 0..8u8).prop_map(|(v, shape)| match shape {
        0 => json!({"goals": {"$": {"where": v}}}),
        1 => json!({"goals": {"$": v}}),
        2 => json!(["update", "goals", v, {}]),
        3 => json!(["link", "goals", "33333333-3333-4333-8333-333333333333", {"todos": v}]),
        4 => json!({"entities": {"goals": {"attrs": {"t": v}}}, "links": {"l": v}}),
        5 => json!({"blobs": {"goals": {"t": v}}, "refs": {"k": v}}),
        6 => json!({"steps": [v], "throw-on-missing-attrs?": false}),
        _ => v,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoders_never_panic(v in arb_input()) {
        let _ = Query::from_json(&v);
        let _ = Step::from_json(0, &v);
        let _ = Step::list_from_json(&v);
        let _ = TransactRequest::from_json(&v);
        let _ = instant_core::QueryRequest::from_json(&v);
        let _ = instant_core::perms_check::QueryPermsCheckRequest::from_json(&v);
        let _ = instant_core::perms_check::TransactPermsCheckRequest::from_json(&v);
        let _ = Where::from_json(&v);
        let _ = Op::from_json(&["p".to_string()], &v);
        let _ = Schema::from_json(&v);
        let _ = Schema::from_pull(&v);
        let _ = Rules::from_json(&v);
        let _ = EntityRef::from_slot_json(&v);
        let _ = EntityRef::from_link_json(&v);
        let _ = LinkTargets::from_json(&v);
        let _ = Date::from_json(&v);
        let _ = Cursor::from_json(&[], &v);
        let _ = instant_core::schema::ServerAttr::from_json(&v);
        let _ = ApiError::from_response(400, v.to_string().as_bytes());
    }

    #[test]
    fn decoded_queries_reencode_stably(v in arb_input()) {
        // Whatever decodes re-encodes to JSON that decodes to the same model.
        if let Ok(q) = Query::from_json(&v) {
            let j = q.to_json();
            let again = Query::from_json(&j).expect("re-encoded query decodes");
            prop_assert_eq!(again.to_json(), j);
        }
        if let Ok(s) = Step::from_json(0, &v) {
            prop_assert_eq!(Step::from_json(0, &s.to_json()).expect("re-encoded step"), s);
        }
        if let Ok(s) = Schema::from_json(&v) {
            prop_assert_eq!(Schema::from_json(&s.to_json()).expect("re-encoded schema"), s);
        }
        if let Ok(r) = Rules::from_json(&v) {
            prop_assert_eq!(Rules::from_json(&r.to_json()).expect("re-encoded rules"), r);
        }
    }

    #[test]
    fn error_envelope_decoder_takes_any_bytes(
        status in any::<u16>(),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let e = ApiError::from_response(status, &body);
        prop_assert_eq!(e.status, status);
    }

    #[test]
    fn date_decoder_takes_any_string_or_number(s in ".{0,40}", n in any::<i64>(), f in any::<f64>()) {
        let _ = Date::parse(&s);
        let _ = Date::from_json(&json!(s));
        let _ = Date::from_json(&json!(n));
        let _ = Date::from_millis(n);
        if f.is_finite() {
            let _ = Date::from_json(&json!(f));
        }
    }

    #[test]
    fn id_decoder_takes_any_string(s in ".{0,40}") {
        if let Ok(id) = Id::parse(&s) {
            prop_assert_eq!(id.to_string(), s.trim().to_lowercase());
        }
    }
}

// ---------- structured generators that round-trip ----------

fn arb_id() -> impl Strategy<Value = Id> {
    any::<u128>().prop_map(|n| Id::from_uuid(uuid::Uuid::from_u128(n)))
}

/// Names usable everywhere, including in encoded lookups (no `__`, no
/// trailing `_`).
fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-zA-Z0-9_$.-]{0,10}"
        .prop_filter("encodable", |s| !s.contains("__") && !s.ends_with('_'))
}

/// Scalars without floats: lookup values travel through text (`lookup__…`),
/// where serde_json's default float parsing is not bit-exact.
fn exact_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![exact_scalar(), number()]
}

fn arb_lookup() -> impl Strategy<Value = Lookup> {
    (ident(), exact_scalar()).prop_map(|(a, v)| Lookup::new(a, v).expect("valid lookup"))
}

fn arb_ref() -> impl Strategy<Value = EntityRef> {
    prop_oneof![
        arb_id().prop_map(EntityRef::Id),
        arb_lookup().prop_map(EntityRef::Lookup),
    ]
}

fn arb_targets() -> impl Strategy<Value = LinkTargets> {
    prop_oneof![
        arb_ref().prop_map(LinkTargets::One),
        prop::collection::vec(arb_ref(), 0..4).prop_map(LinkTargets::Many),
    ]
}

fn arb_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(ident(), arb_json(), 0..4).prop_map(|m| m.into_iter().collect())
}

fn arb_opts() -> impl Strategy<Value = Option<UpdateOpts>> {
    prop_oneof![
        Just(None),
        Just(Some(UpdateOpts { upsert: None })),
        any::<bool>().prop_map(|b| Some(UpdateOpts { upsert: Some(b) })),
    ]
}

fn arb_links() -> impl Strategy<Value = Vec<(String, LinkTargets)>> {
    prop::collection::btree_map(ident(), arb_targets(), 0..3).prop_map(|m| m.into_iter().collect())
}

fn arb_step() -> impl Strategy<Value = Step> {
    (
        ident(),
        arb_ref(),
        0..9u8,
        arb_object(),
        arb_opts(),
        arb_links(),
        arb_id(),
    )
        .prop_map(
            |(ns, entity, kind, attrs, opts, links, attr_id)| match kind {
                0 => Step::Create { ns, entity, attrs },
                1 => Step::Update {
                    ns,
                    entity,
                    attrs,
                    opts,
                },
                2 => Step::Merge {
                    ns,
                    entity,
                    attrs,
                    opts,
                },
                3 => Step::Link { ns, entity, links },
                4 => Step::Unlink { ns, entity, links },
                5 => Step::Delete { ns, entity },
                6 => Step::RuleParams {
                    ns,
                    entity,
                    params: attrs,
                },
                7 => Step::AddAttr(Value::Object(attrs)),
                _ => Step::DeleteAttr(attr_id),
            },
        )
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        scalar().prop_map(Op::Eq),
        prop::collection::vec(prop_oneof![scalar(), Just(Value::Null)], 0..4).prop_map(Op::In),
        scalar().prop_map(Op::Ne),
        any::<bool>().prop_map(Op::IsNull),
        scalar().prop_map(Op::Gt),
        scalar().prop_map(Op::Gte),
        scalar().prop_map(Op::Lt),
        scalar().prop_map(Op::Lte),
        ".{0,8}".prop_map(Op::Like),
        ".{0,8}".prop_map(Op::Ilike),
    ]
}

fn arb_path() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            &[
                "title",
                "n",
                "id",
                "owner",
                "owner.email",
                "todos.title",
                "and",
                "or"
            ][..]
        )
        .prop_map(str::to_string),
        ident(),
    ]
}

fn arb_where() -> impl Strategy<Value = Where> {
    let leaf =
        (arb_path(), arb_op()).prop_map(|(path, op)| Where::Cond(instant_core::Cond { path, op }));
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Where::And),
            prop::collection::vec(inner, 1..4).prop_map(Where::Or),
        ]
    })
}

/// Number of conditions, with `or` branches counted separately.
fn leaves(w: &Where) -> usize {
    match w {
        Where::Cond(_) => 1,
        Where::And(v) | Where::Or(v) => v.iter().map(leaves).sum(),
        _ => 0,
    }
}

fn arb_cursor() -> impl Strategy<Value = Cursor> {
    (arb_id(), arb_id(), scalar(), any::<i64>())
        .prop_map(|(e, a, v, t)| Cursor(json!([e, a, v, t])))
}

fn arb_node(top: bool) -> impl Strategy<Value = QueryNode> {
    (
        prop::option::of(arb_where()),
        prop::option::of((ident(), any::<bool>())),
        0..4u8,
        1..1000u64,
        prop::option::of(0..100u64),
        prop::option::of((arb_cursor(), any::<bool>())),
        prop::option::of((arb_cursor(), any::<bool>())),
        prop::option::of(prop::collection::vec(ident(), 0..3)),
    )
        .prop_map(move |(w, order, size, n, offset, after, before, fields)| {
            let mut node = QueryNode::new();
            if let Some(w) = w {
                // The canonical form of the filter (what a decoder would produce).
                node = node.filter(Where::from_json(&w.to_json()).expect("valid filter"));
            }
            if let Some((f, asc)) = order {
                node = node.order(if asc { Order::asc(f) } else { Order::desc(f) });
            }
            node = match size {
                1 => node.limit(n),
                2 => node.first(n),
                3 => node.last(n),
                _ => node,
            };
            if top {
                if let Some(o) = offset {
                    node = node.offset(o);
                }
                if let Some((c, inc)) = after {
                    node = node.after(c, inc);
                }
                if let Some((c, inc)) = before {
                    node = node.before(c, inc);
                }
            }
            if let Some(f) = fields {
                node = node.fields(f);
            }
            node
        })
}

fn arb_query() -> impl Strategy<Value = Query> {
    let child = arb_node(false);
    let top = (
        arb_node(true),
        prop::collection::btree_map(ident(), child, 0..3),
    )
        .prop_map(|(mut node, children)| {
            node.children = children.into_iter().collect();
            node
        });
    (
        prop::collection::btree_map(
            ident().prop_filter("not the rule params key", |s| {
                s != "$$ruleParams" && s != "$"
            }),
            top,
            0..3,
        ),
        prop::option::of(arb_object()),
    )
        .prop_map(|(nss, rp)| {
            let mut q = Query::new();
            q.namespaces = nss.into_iter().collect();
            q.rule_params = rp;
            q
        })
}

fn arb_attr_def() -> impl Strategy<Value = AttrDef> {
    (
        proptest::sample::select(
            &[
                ValueType::String,
                ValueType::Number,
                ValueType::Boolean,
                ValueType::Date,
                ValueType::Json,
            ][..],
        ),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(arb_object().prop_filter("non-empty", |m| !m.is_empty())),
    )
        .prop_map(|(t, required, indexed, unique, meta)| AttrDef {
            value_type: t,
            required,
            indexed,
            unique,
            metadata: meta.map(Value::Object),
        })
}

fn arb_side() -> impl Strategy<Value = LinkSide> {
    (
        ident(),
        ident(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(on, label, one, required, cascade)| {
            let mut s = if one {
                LinkSide::one(on, label)
            } else {
                LinkSide::many(on, label)
            };
            if required {
                s = s.required();
            }
            if cascade {
                s = s.cascade();
            }
            s
        })
}

fn arb_schema() -> impl Strategy<Value = Schema> {
    (
        prop::collection::btree_map(
            ident(),
            prop::collection::btree_map(ident(), arb_attr_def(), 0..4),
            0..4,
        ),
        prop::collection::btree_map(ident(), (arb_side(), arb_side()), 0..3),
    )
        .prop_map(|(ents, links)| {
            let mut s = Schema::new();
            for (ns, attrs) in ents {
                s = s.entity(ns, EntityDef { attrs });
            }
            for (name, (f, r)) in links {
                s = s.link(name, LinkDef::new(f, r));
            }
            s
        })
}

fn arb_ns_rules() -> impl Strategy<Value = NamespaceRules> {
    (
        prop::collection::btree_map(
            proptest::sample::select(&["view", "create", "update", "delete", "$default"][..])
                .prop_map(str::to_string),
            ".{0,10}",
            0..4,
        ),
        prop::option::of(arb_object()),
        prop::collection::btree_map(ident(), ".{0,10}", 0..3),
        prop::collection::btree_map(
            ident().prop_filter("not id", |s| s != "id"),
            ".{0,10}",
            0..3,
        ),
    )
        .prop_map(|(allow, link, bind, fields)| {
            let mut r = NamespaceRules::new();
            r.allow = allow;
            if let Some(l) = link {
                r.allow_extra.insert("link".into(), Value::Object(l));
            }
            r.bind = bind.into_iter().collect();
            r.fields = fields;
            r
        })
}

fn arb_rules() -> impl Strategy<Value = Rules> {
    (
        prop::collection::btree_map(
            ident().prop_filter("not $rateLimits", |s| s != "$rateLimits"),
            arb_ns_rules(),
            0..4,
        ),
        prop::option::of(arb_json()),
    )
        .prop_map(|(namespaces, rl)| Rules {
            namespaces,
            rate_limits: rl,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn steps_round_trip(steps in prop::collection::vec(arb_step(), 0..6), throw in any::<bool>()) {
        for (i, s) in steps.iter().enumerate() {
            prop_assert_eq!(&Step::from_json(i, &s.to_json()).expect("step decodes"), s);
        }
        let req = TransactRequest::new(steps).with_throw_on_missing_attrs(throw);
        prop_assert_eq!(TransactRequest::from_json(&req.to_json()).expect("body decodes"), req.clone());
        let text = serde_json::to_string(&req).expect("serialises");
        let back: TransactRequest = serde_json::from_str(&text).expect("deserialises");
        prop_assert_eq!(back.to_json(), req.to_json());
    }

    #[test]
    fn lookups_round_trip(l in arb_lookup()) {
        prop_assert_eq!(Lookup::decode(&l.encode()).expect("decodes"), l.clone());
        let r = EntityRef::Lookup(l);
        prop_assert_eq!(EntityRef::from_slot_json(&r.to_slot_json()).expect("slot"), r.clone());
        prop_assert_eq!(EntityRef::from_link_json(&r.to_link_json()).expect("link"), r);
    }

    #[test]
    fn ids_and_dates_round_trip(id in arb_id(), ms in -8_000_000_000_000i64..250_000_000_000_000i64) {
        prop_assert_eq!(Id::parse(&id.to_string()).expect("id"), id);
        prop_assert_eq!(Id::parse(&id.to_string().to_uppercase()).expect("upper id"), id);
        let d = Date::from_millis(ms).expect("in range");
        prop_assert_eq!(Date::from_json(&json!(d.to_iso())).expect("iso"), d);
        prop_assert_eq!(Date::from_json(&json!(ms)).expect("ms"), d);
        prop_assert!(d.to_iso().ends_with('Z'));
    }

    #[test]
    fn where_encoding_keeps_every_condition(w in arb_where()) {
        prop_assert!(w.validate().is_ok());
        let j = w.to_json();
        let back = Where::from_json(&j).expect("encoded where decodes");
        // No condition is lost or merged by the one-operator-per-path encoding.
        prop_assert_eq!(leaves(&back), leaves(&w));
        // Encoding the decoded filter is a fixed point.
        prop_assert_eq!(back.to_json(), j);
    }

    #[test]
    fn queries_round_trip(q in arb_query()) {
        prop_assert!(q.validate().is_ok(), "{}", q.to_json());
        let j = q.to_json();
        prop_assert_eq!(Query::from_json(&j).expect("query decodes"), q.clone());
        let body = instant_core::QueryRequest::new(q).with_inference(true);
        let text = serde_json::to_string(&body).expect("serialises");
        let back: instant_core::QueryRequest = serde_json::from_str(&text).expect("deserialises");
        prop_assert_eq!(back.to_json(), body.to_json());
    }

    #[test]
    fn schemas_round_trip(s in arb_schema()) {
        prop_assert_eq!(Schema::from_json(&s.to_json()).expect("schema decodes"), s);
    }

    #[test]
    fn rules_round_trip(r in arb_rules()) {
        prop_assert_eq!(Rules::from_json(&r.to_json()).expect("rules decode"), r);
    }
}
