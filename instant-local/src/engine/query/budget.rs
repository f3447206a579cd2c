//! [`Budget`]: what one query may spend — time (a [`Deadline`], the official
//! server's query timeout, `server/src/instant/jdbc/sql.clj:430`) and result size
//! (rows over every nesting level, estimated serialized bytes). Charged while the
//! result is built, so an exploding nested query stops at the bound instead of
//! after materialising its result.
//!
//! The official server has no result-size error of its own (its only query bound
//! is the statement timeout, `ex/throw-query-timeout!`,
//! `server/src/instant/util/exception.clj:467-469`); instant-local answers an
//! exceeded size bound with 400 `validation-failed`, naming the limit in the
//! message and in the hint (`{"limit": "max_result_rows", "max": n}`).

use instant_core::{ApiError, ErrorKind};
use serde_json::{json, Value};

use super::super::deadline::Deadline;
use crate::Limits;

/// The time and size budget of one query evaluation.
#[derive(Debug)]
pub struct Budget {
    deadline: Deadline,
    max_rows: usize,
    max_bytes: usize,
    rows: usize,
    bytes: usize,
}

impl Budget {
    /// A budget of `limits.max_result_rows` rows and `limits.max_result_bytes`
    /// estimated bytes, ending at `deadline`.
    pub fn new(deadline: &Deadline, limits: &Limits) -> Budget {
        Budget {
            deadline: deadline.clone(),
            max_rows: limits.max_result_rows,
            max_bytes: limits.max_result_bytes,
            rows: 0,
            bytes: 0,
        }
    }

    /// The deadline of this budget (loops that build no rows check it).
    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }

    /// `Ok` while time is left; else the 429 `timeout` error.
    pub fn check_time(&self) -> Result<(), ApiError> {
        self.deadline.check()
    }

    /// Charges one result row (an entity at any nesting level) of about
    /// `bytes` serialized bytes.
    ///
    /// # Errors
    /// 400 `validation-failed` once the rows exceed `max_result_rows` or the
    /// bytes exceed `max_result_bytes`; 429 `timeout` once the deadline passed
    /// (checked every 64 rows).
    pub fn row(&mut self, bytes: usize) -> Result<(), ApiError> {
        self.rows += 1;
        if self.rows > self.max_rows {
            return Err(too_large("max_result_rows", "rows", self.max_rows));
        }
        self.add_bytes(bytes)?;
        if self.rows % 64 == 0 {
            self.deadline.check()?;
        }
        Ok(())
    }

    /// Charges `bytes` more estimated result bytes (a field of a row).
    ///
    /// # Errors
    /// 400 `validation-failed` once the total exceeds `max_result_bytes`.
    pub fn add_bytes(&mut self, bytes: usize) -> Result<(), ApiError> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.max_bytes {
            return Err(too_large("max_result_bytes", "bytes", self.max_bytes));
        }
        Ok(())
    }
}

/// The error of a result over a size bound: 400 `validation-failed`, message and
/// hint naming the limit (`limit` is the [`Limits`] field, `unit` what it counts).
pub fn too_large(limit: &str, unit: &str, max: usize) -> ApiError {
    ApiError::new(
        ErrorKind::ValidationFailed,
        format!(
            "The query result is too large: it has more than {max} {unit} (the server's `{limit}` limit). Add `limit` to the query and its nested links, or narrow them with `where`."
        ),
    )
    .with_hint(json!({"limit": limit, "max": max}))
}

/// A cheap over-estimate of the serialized size of `v`, in bytes.
pub fn estimate(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 24,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(|x| estimate(x) + 1).sum::<usize>(),
        Value::Object(m) => {
            2 + m
                .iter()
                .map(|(k, x)| k.len() + 4 + estimate(x))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rows: usize, bytes: usize) -> Limits {
        Limits {
            max_result_rows: rows,
            max_result_bytes: bytes,
            ..Limits::default()
        }
    }

    #[test]
    fn rows_bound_names_the_limit() {
        let mut b = Budget::new(&Deadline::none(), &limits(2, usize::MAX));
        b.row(10).unwrap();
        b.row(10).unwrap();
        let e = b.row(10).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.kind, ErrorKind::ValidationFailed);
        assert!(e.message.contains("max_result_rows"), "{}", e.message);
    }

    #[test]
    fn bytes_bound_and_cancelled_deadline() {
        let mut b = Budget::new(&Deadline::none(), &limits(usize::MAX, 100));
        b.row(60).unwrap();
        assert!(b.add_bytes(60).is_err());
        let d = Deadline::none();
        d.cancel();
        let b = Budget::new(&d, &limits(10, 10));
        assert_eq!(b.check_time().unwrap_err().kind, ErrorKind::Timeout);
    }

    #[test]
    fn estimate_covers_the_serialization() {
        let v =
            json!({"id": "00000000-0000-4000-8000-000000000001", "n": 1.5, "tags": ["a", null]});
        assert!(estimate(&v) >= v.to_string().len());
    }
}
