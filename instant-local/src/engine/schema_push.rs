//! Schema push (spec `schema-and-platform.md` C.1-C.3): diff a client schema
//! against an app's attrs into plan steps, and apply them. `add-attr` steps run
//! as one transaction; `update-attr` and flag steps (`index`, `unique`,
//! `required`, `check-data-type` and their removals) run as indexing jobs that
//! check the existing data first (a failing job is `errored` with the server's
//! error type and leaves the attr unchanged). Jobs finish during the apply call;
//! they are kept for `GET /dash/apps/:app_id/indexing-jobs/group/:group_id`.

use std::collections::HashMap;
use std::sync::Arc;

use instant_core::{ApiError, Schema, ValueType};
use rusqlite::params;
use serde_json::{json, Value};
use uuid::Uuid;

use super::attr::{attrs_from_schema, Attr};
use super::state::{vkey, AppState};
use super::{App, Engine};
use crate::http::errors::internal;

const DDL: &str = "CREATE TABLE IF NOT EXISTS local_indexing_jobs (id TEXT PRIMARY KEY, app_id BLOB NOT NULL, group_id TEXT NOT NULL, job TEXT NOT NULL);";

/// One plan step: its op, its wire params and the attr it produces.
#[derive(Debug, Clone)]
pub struct PlanStep {
    /// `add-attr`, `update-attr`, `index`, `remove-index`, ...
    pub op: &'static str,
    /// The step's params as sent to clients.
    pub params: Value,
    /// The attr after the step.
    pub attr: Attr,
}

fn ident(a: &Attr) -> Value {
    json!([a.fwd_ident.to_string(), a.ns, a.label])
}

fn type_name(t: Option<ValueType>) -> Value {
    let probe = Attr {
        checked: t,
        ..Attr::blob("x", "y")
    };
    probe.to_json()["checked-data-type"].clone()
}

/// Diffs `schema` against the app's attrs (C.1, background-updates mode).
pub fn plan(st: &AppState, schema: &Schema) -> Vec<PlanStep> {
    let mut steps = Vec::new();
    for want in attrs_from_schema(schema) {
        let Some(cur) = st.fwd_attr(&want.ns, &want.label).cloned() else {
            steps.push(PlanStep {
                op: "add-attr",
                params: want.to_json(),
                attr: want,
            });
            continue;
        };
        if cur.system || cur.is_id() {
            continue;
        }
        let flag = |op: &'static str, attr: Attr, extra: Option<Value>| {
            let mut p = json!({"attr-id": cur.id.to_string(), "forward-identity": ident(&cur)});
            if let Some(x) = extra {
                p["checked-data-type"] = x;
            }
            PlanStep {
                op,
                params: p,
                attr,
            }
        };
        if cur.is_ref {
            if cur.many != want.many
                || cur.unique != want.unique
                || cur.on_delete != want.on_delete
                || cur.on_delete_reverse != want.on_delete_reverse
            {
                let new = Attr {
                    many: want.many,
                    unique: want.unique,
                    on_delete: want.on_delete,
                    on_delete_reverse: want.on_delete_reverse,
                    ..cur.clone()
                };
                steps.push(PlanStep {
                    op: "update-attr",
                    params: new.to_json(),
                    attr: new,
                });
            }
        } else {
            if cur.indexed != want.indexed {
                let op = if want.indexed {
                    "index"
                } else {
                    "remove-index"
                };
                let a = Attr {
                    indexed: want.indexed,
                    ..cur.clone()
                };
                steps.push(flag(op, a, None));
            }
            if cur.unique != want.unique {
                let op = if want.unique {
                    "unique"
                } else {
                    "remove-unique"
                };
                let a = Attr {
                    unique: want.unique,
                    ..cur.clone()
                };
                steps.push(flag(op, a, None));
            }
            if cur.checked != want.checked {
                let a = Attr {
                    checked: want.checked,
                    ..cur.clone()
                };
                match want.checked {
                    Some(t) => steps.push(flag("check-data-type", a, Some(type_name(Some(t))))),
                    None => steps.push(flag("remove-data-type", a, None)),
                }
            }
        }
        if cur.required != want.required {
            let op = if want.required {
                "required"
            } else {
                "remove-required"
            };
            let a = Attr {
                required: want.required,
                ..cur.clone()
            };
            steps.push(flag(op, a, None));
        }
    }
    steps
}

fn type_ok(t: ValueType, v: &Value) -> bool {
    match (t, v) {
        (_, Value::Null) => true,
        (ValueType::String, Value::String(_)) => true,
        (ValueType::Number, Value::Number(_)) => true,
        (ValueType::Boolean, Value::Bool(_)) => true,
        (ValueType::Date, Value::Number(_)) => true,
        (ValueType::Date, Value::String(s)) => {
            chrono::DateTime::parse_from_rfc3339(s).is_ok()
                || chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
        }
        (ValueType::Json, _) => true,
        _ => false,
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
        _ => "json",
    }
}

/// Checks the data against a flag step; `Err((error type, extra job keys))`.
fn check_job(st: &AppState, step: &PlanStep) -> Result<(), (&'static str, Value)> {
    let a = &step.attr;
    let Some(id_attr) = st.id_attr(&a.ns).map(|x| x.id) else {
        return Ok(());
    };
    let members: Vec<Uuid> = st
        .members
        .get(&id_attr)
        .map(|m| m.iter().map(|(_, e)| *e).collect())
        .unwrap_or_default();
    match step.op {
        "unique" => {
            let mut seen: HashMap<String, Uuid> = HashMap::new();
            for e in &members {
                for t in st.values(*e, a.id) {
                    if seen.insert(vkey(&t.v), *e).is_some() {
                        return Err((
                            "triple-not-unique-error",
                            json!({"invalid_unique_value": t.v}),
                        ));
                    }
                }
            }
        }
        "required" => {
            let missing: Vec<Value> = members
                .iter()
                .filter(|e| st.values(**e, a.id).iter().all(|t| t.v.is_null()))
                .take(10)
                .map(|e| json!({"entity_id": e.to_string(), "value": null, "json_type": "null"}))
                .collect();
            if !missing.is_empty() {
                return Err((
                    "missing-required-error",
                    json!({"invalid_triples_sample": missing}),
                ));
            }
        }
        "check-data-type" => {
            let Some(t) = a.checked else { return Ok(()) };
            let bad: Vec<Value> = members
                .iter()
                .flat_map(|e| st.values(*e, a.id).iter().map(move |t| (*e, t)))
                .filter(|(_, tri)| !type_ok(t, &tri.v))
                .take(10)
                .map(|(e, tri)| {
                    json!({"entity_id": e.to_string(), "value": tri.v, "json_type": json_type(&tri.v)})
                })
                .collect();
            if !bad.is_empty() {
                return Err((
                    "invalid-triple-error",
                    json!({"invalid_triples_sample": bad}),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

impl Engine {
    /// Applies new attr definitions (same ids) as one committed change.
    fn commit_attr_updates(&self, app: &Arc<App>, attrs: Vec<Attr>) -> Result<(), ApiError> {
        if attrs.is_empty() {
            return Ok(());
        }
        let mut st = app.state.write();
        st.begin();
        for a in attrs {
            st.update_attr(a);
        }
        let (tx_id, topics) = self.commit(app, st)?;
        app.subs.notify(app, tx_id, topics, self);
        Ok(())
    }

    /// Applies a plan (C.3): returns `(transaction json, steps with job ids,
    /// indexing-jobs json or null)`.
    pub fn apply_plan(
        &self,
        app: &Arc<App>,
        steps: &[PlanStep],
    ) -> Result<(Value, Vec<Value>, Value), ApiError> {
        let adds: Vec<Value> = steps
            .iter()
            .filter(|s| s.op == "add-attr")
            .map(|s| json!(["add-attr", s.params]))
            .collect();
        let transaction = if adds.is_empty() {
            json!({})
        } else {
            let tx = self.transact(app, &Value::Array(adds), false)?;
            json!({"id": tx, "app_id": app.id().to_string(), "created_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})
        };
        let group = Uuid::new_v4();
        let mut jobs = Vec::new();
        let mut out_steps = Vec::new();
        for s in steps {
            if s.op == "add-attr" {
                out_steps.push(json!([s.op, s.params]));
                continue;
            }
            let job_id = Uuid::new_v4();
            let checked = check_job(&app.state.read(), s);
            if checked.is_ok() {
                // Apply only this step's change on top of the attr as it is now
                // (earlier steps may have changed other flags of the same attr).
                let cur = app.state.read().attrs.get(&s.attr.id).cloned();
                if let Some(mut a) = cur {
                    match s.op {
                        "index" | "remove-index" => a.indexed = s.attr.indexed,
                        "unique" | "remove-unique" => a.unique = s.attr.unique,
                        "required" | "remove-required" => a.required = s.attr.required,
                        "check-data-type" | "remove-data-type" => a.checked = s.attr.checked,
                        _ => a = s.attr.clone(),
                    }
                    self.commit_attr_updates(app, vec![a])?;
                }
            }
            let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let mut job = json!({
                "id": job_id.to_string(), "app_id": app.id().to_string(), "group_id": group.to_string(),
                "attr_id": s.attr.id.to_string(), "attr_name": format!("{}.{}", s.attr.ns, s.attr.label),
                "job_type": s.op, "job_status": if checked.is_ok() { "completed" } else { "errored" },
                "job_stage": Value::Null, "work_estimate": 1, "work_completed": 1,
                "error": Value::Null, "checked_data_type": s.params.get("checked-data-type").cloned().unwrap_or(Value::Null),
                "created_at": ts, "updated_at": ts, "done_at": ts,
                "invalid_unique_value": Value::Null, "invalid_triples_sample": [], "error_data": Value::Null,
            });
            if let Err((kind, extra)) = checked {
                job["error"] = json!(kind);
                if let Value::Object(m) = extra {
                    for (k, v) in m {
                        job[k] = v;
                    }
                }
            }
            let mut p = s.params.clone();
            if p.is_object() {
                p["job-id"] = json!(job_id.to_string());
            }
            out_steps.push(json!([s.op, p]));
            jobs.push(job);
        }
        if jobs.is_empty() {
            return Ok((transaction, out_steps, Value::Null));
        }
        {
            let conn = self.db();
            conn.execute_batch(DDL).map_err(internal)?;
            for j in &jobs {
                conn.execute(
                    "INSERT INTO local_indexing_jobs (id, app_id, group_id, job) VALUES (?1, ?2, ?3, ?4)",
                    params![j["id"].as_str().unwrap_or_default(), app.id().as_bytes().as_slice(), group.to_string(), j.to_string()],
                )
                .map_err(internal)?;
            }
        }
        let ij = json!({"group-id": group.to_string(), "jobs": jobs});
        Ok((transaction, out_steps, ij))
    }

    /// The indexing jobs of a group (C.2), oldest first.
    pub fn indexing_jobs(&self, app_id: Uuid, group_id: &str) -> Result<Vec<Value>, ApiError> {
        let conn = self.db();
        conn.execute_batch(DDL).map_err(internal)?;
        let mut stmt = conn
            .prepare("SELECT job FROM local_indexing_jobs WHERE app_id = ?1 AND group_id = ?2 ORDER BY rowid")
            .map_err(internal)?;
        let rows = stmt
            .query_map(params![app_id.as_bytes().as_slice(), group_id], |r| {
                r.get::<_, String>(0)
            })
            .map_err(internal)?;
        let mut out = Vec::new();
        for r in rows {
            let text = r.map_err(internal)?;
            out.push(serde_json::from_str(&text).map_err(internal)?);
        }
        Ok(out)
    }
}
