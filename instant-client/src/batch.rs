//! Large transactions in batches ([`Client::transact_batched`]).
//!
//! The server caps the parameters of one transaction (400
//! `parameter-limit-exceeded`, "There are too many parameters in the transaction or
//! query."), so imports send their steps in several transactions, in order, one at
//! a time. Batches are never retried: a failure stops the import and reports what
//! was committed ([`Error::Batch`]).

use instant_core::{IntoSteps, LinkTargets, Step};

use crate::{Client, Error, TransactOptions};

/// Options of [`Client::transact_batched`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Most steps in one transaction. Default 100.
    pub max_steps: usize,
    /// Most "values" in one transaction, counting one per step plus one per
    /// attribute value and link target. Default 1000.
    pub max_values: usize,
    /// `throw-on-missing-attrs?` for every batch (`None`: the client default).
    pub throw_on_missing_attrs: Option<bool>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            max_steps: 100,
            max_values: 1000,
            throw_on_missing_attrs: None,
        }
    }
}

/// Progress after each committed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchProgress {
    /// Index (0-based) of the batch just committed.
    pub batch: usize,
    /// Number of batches in all.
    pub batches: usize,
    /// Steps committed so far.
    pub steps_done: usize,
    /// Steps in all.
    pub steps_total: usize,
    /// Transaction id of the batch just committed.
    pub tx_id: i64,
}

/// The outcome of a batched transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// Transaction ids, one per batch, in order.
    pub tx_ids: Vec<i64>,
    /// Steps committed.
    pub steps: usize,
}

fn weight(step: &Step) -> usize {
    let links = |l: &[(String, LinkTargets)]| -> usize {
        l.iter()
            .map(|(_, t)| match t {
                LinkTargets::One(_) => 1,
                LinkTargets::Many(v) => v.len(),
            })
            .sum()
    };
    1 + match step {
        Step::Create { attrs, .. } | Step::Update { attrs, .. } | Step::Merge { attrs, .. } => {
            attrs.len()
        }
        Step::Link { links: l, .. } | Step::Unlink { links: l, .. } => links(l),
        Step::RuleParams { params, .. } => params.len(),
        _ => 0,
    }
}

/// Splits `steps` into batches of at most `max_steps` steps and `max_values`
/// values (a single step heavier than `max_values` gets a batch of its own).
pub fn plan_batches(steps: &[Step], opts: &BatchOptions) -> Vec<std::ops::Range<usize>> {
    let max_steps = opts.max_steps.max(1);
    let mut out = Vec::new();
    let (mut start, mut w) = (0usize, 0usize);
    for (i, s) in steps.iter().enumerate() {
        let sw = weight(s);
        if i > start && (i - start >= max_steps || w + sw > opts.max_values) {
            out.push(start..i);
            start = i;
            w = 0;
        }
        w += sw;
    }
    if start < steps.len() {
        out.push(start..steps.len());
    }
    out
}

impl Client {
    /// Applies `steps` as several transactions (see [`BatchOptions`]), one after the
    /// other, calling `on_progress` after each committed batch. Use it for imports;
    /// each batch is atomic, the whole is not.
    ///
    /// `on_progress` can forward to a channel for a UI elsewhere:
    /// ```no_run
    /// # async fn demo(db: instant_client::Client, steps: Vec<instant_core::Step>) -> Result<(), instant_client::Error> {
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    /// tokio::spawn(async move {
    ///     while let Some(p) = rx.recv().await {
    ///         let p: instant_client::BatchProgress = p;
    ///         println!("{}/{} steps", p.steps_done, p.steps_total);
    ///     }
    /// });
    /// let report = db
    ///     .transact_batched(steps, Default::default(), move |p| { let _ = tx.send(*p); })
    ///     .await?;
    /// # let _ = report; Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Core`] when a step cannot be built (nothing sent);
    /// [`Error::Batch`] when a batch fails, naming what was committed before it.
    pub async fn transact_batched(
        &self,
        steps: impl IntoSteps,
        opts: BatchOptions,
        mut on_progress: impl FnMut(&BatchProgress),
    ) -> Result<BatchReport, Error> {
        let steps = steps.into_steps()?;
        let plan = plan_batches(&steps, &opts);
        let topts = TransactOptions {
            throw_on_missing_attrs: opts.throw_on_missing_attrs,
        };
        let mut report = BatchReport {
            tx_ids: Vec::with_capacity(plan.len()),
            steps: 0,
        };
        for (i, range) in plan.iter().enumerate() {
            let n = range.len();
            match self.transact_steps(&steps[range.clone()], topts).await {
                Ok(tx_id) => {
                    report.tx_ids.push(tx_id);
                    report.steps += n;
                    on_progress(&BatchProgress {
                        batch: i,
                        batches: plan.len(),
                        steps_done: report.steps,
                        steps_total: steps.len(),
                        tx_id,
                    });
                }
                Err(e) => {
                    return Err(Error::Batch {
                        failed_batch: i,
                        committed_batches: i,
                        committed_steps: report.steps,
                        tx_ids: report.tx_ids,
                        source: Box::new(e),
                    })
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use instant_core::{tx, Id};
    use serde_json::json;

    #[test]
    fn plans_by_steps_and_values() {
        let steps: Vec<Step> = (0..250)
            .flat_map(|i| {
                tx::entity("t", Id::new())
                    .update(json!({"n": i}))
                    .into_steps()
                    .unwrap()
            })
            .collect();
        let p = plan_batches(&steps, &BatchOptions::default());
        assert_eq!(p, vec![0..100, 100..200, 200..250]);
        let p = plan_batches(
            &steps,
            &BatchOptions {
                max_values: 10,
                ..Default::default()
            },
        );
        assert_eq!(p.len(), 50);
        assert!(p.iter().all(|r| r.len() == 5));
        assert!(plan_batches(&[], &BatchOptions::default()).is_empty());
    }
}
