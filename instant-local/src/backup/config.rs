//! `config.json` (backup-format.md §2): app metadata, counts, schema, rules.

use std::collections::BTreeMap;

use instant_core::{Id, Rules, Schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::BackupError;

/// A custom email template (`emailTemplates[*]`). The official restore re-creates
/// subject/name/body; the sender (`email`) is not restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailTemplate {
    /// `type`, e.g. `"magic-code"`.
    #[serde(rename = "type")]
    pub template_type: String,
    /// `subject` (may contain `{code}`, `{app_title}`).
    pub subject: String,
    /// `body` (HTML).
    pub body: String,
    /// `name`: the sender display name.
    #[serde(default)]
    pub name: Option<String>,
    /// `email`: the sender address.
    #[serde(default)]
    pub email: Option<String>,
}

/// An OAuth redirect origin (`authorizedRedirectOrigins[*]`), e.g.
/// `{"service": "generic", "params": ["example.com"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectOrigin {
    /// `generic`, `vercel`, `netlify`, `custom-scheme`, ...
    pub service: String,
    /// Service parameters (`generic`: `[host]`).
    #[serde(default)]
    pub params: Vec<String>,
}

/// A webhook definition (`webhooks[*]`). Kept for information only: the official
/// restore ignores webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Namespaces it fires for.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// `sink.url`.
    pub sink: WebhookSink,
    /// `"active"` or `"disabled"`.
    #[serde(default)]
    pub status: Option<String>,
    /// `create` / `update` / `delete`.
    #[serde(default)]
    pub actions: Vec<String>,
}

/// Where a webhook posts to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSink {
    /// The target URL.
    pub url: String,
}

/// The decoded `config.json`.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub counts: Option<BTreeMap<String, u64>>,
    pub triple_count: Option<u64>,
    pub schema: Schema,
    pub rules: Option<Rules>,
    pub webhooks: Vec<Webhook>,
    pub email_templates: Vec<EmailTemplate>,
    pub redirect_origins: Vec<RedirectOrigin>,
    pub title: String,
    pub app_id: Option<Id>,
    pub backup_at: Option<String>,
    pub isn: Option<String>,
    pub description: Option<String>,
}

fn bad(msg: impl Into<String>) -> BackupError {
    BackupError::BadConfig(msg.into())
}

fn list<T: serde::de::DeserializeOwned>(
    m: &Map<String, Value>,
    key: &str,
) -> Result<Vec<T>, BackupError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| bad(format!("`{key}`: {e}"))),
    }
}

fn opt_str(m: &Map<String, Value>, key: &str) -> Result<Option<String>, BackupError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(format!("`{key}` must be a string, got {other}"))),
    }
}

impl Config {
    /// Parses `config.json` bytes. Unknown keys are ignored; every key but
    /// `schema` may be absent (old-format backups lack `appId`, `backupAt`, ...).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Config, BackupError> {
        let v: Value =
            serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let m = v
            .as_object()
            .ok_or_else(|| bad("config.json must be a JSON object"))?;
        let schema_json = match m.get("schema") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => {
                return Err(bad("config.json has no `schema`"))
            }
            Some(s) => s,
        };
        let schema = Schema::from_json(schema_json).map_err(|e| bad(format!("`schema`: {e}")))?;
        let rules = match m.get("rules") {
            None | Some(Value::Null) => None,
            Some(r) => Some(Rules::from_json(r).map_err(|e| bad(format!("`rules`: {e}")))?),
        };
        let counts = match m.get("counts") {
            None | Some(Value::Null) => None,
            Some(Value::Object(c)) => {
                let mut out = BTreeMap::new();
                for (ns, n) in c {
                    let n = n.as_u64().ok_or_else(|| {
                        bad(format!(
                            "`counts.{ns}` must be a non-negative integer, got {n}"
                        ))
                    })?;
                    out.insert(ns.clone(), n);
                }
                Some(out)
            }
            Some(other) => return Err(bad(format!("`counts` must be an object, got {other}"))),
        };
        let triple_count = match m.get("tripleCount") {
            None | Some(Value::Null) => None,
            Some(n) => Some(n.as_u64().ok_or_else(|| {
                bad(format!(
                    "`tripleCount` must be a non-negative integer, got {n}"
                ))
            })?),
        };
        let app_id = match opt_str(m, "appId")? {
            None => None,
            Some(s) => Some(Id::parse(&s).map_err(|_| bad(format!("`appId` is not a UUID: {s}")))?),
        };
        Ok(Config {
            counts,
            triple_count,
            schema,
            rules,
            webhooks: list(m, "webhooks")?,
            email_templates: list(m, "emailTemplates")?,
            redirect_origins: list(m, "authorizedRedirectOrigins")?,
            title: opt_str(m, "title")?.unwrap_or_default(),
            app_id,
            backup_at: opt_str(m, "backupAt")?,
            isn: opt_str(m, "isn")?,
            description: opt_str(m, "description")?,
        })
    }
}
