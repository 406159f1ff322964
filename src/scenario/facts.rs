//! Warnings about the model facts a scenario relies on (docs/models.md): a burndown no
//! public source gives, a requests-per-minute limit on a model whose quota has none, a bare
//! model ID Bedrock refuses for a profile-only model. Found once while resolving; `check`
//! and `run` print them.

use super::{Pool, Workload};
use crate::quota::models::{BurndownStatus, PROFILE_PREFIXES, RpmEnforced, Table};
use crate::quota::{Counts, LimitSpec};

/// The warnings for `pools` (in file order), each model named once per reason.
pub(crate) fn warnings(
    pools: &[Pool],
    workloads: &[Workload],
    _account: &[LimitSpec],
    table: &Table,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut unconfirmed: Vec<(&str, Vec<&str>)> = Vec::new();
    for p in pools {
        let Some(row) = table.get(&p.model.preset) else {
            continue;
        };
        // A burndown set in the scenario is the user's own figure.
        if row.burndown_status == BurndownStatus::Unconfirmed
            && p.model.output_burndown == row.output_burndown
        {
            match unconfirmed.iter_mut().find(|(n, _)| *n == row.name) {
                Some((_, names)) => names.push(&p.name),
                None => unconfirmed.push((&row.name, vec![&p.name])),
            }
        }
        if row.rpm_enforced == RpmEnforced::No
            && let Some(l) = p.quota.limits.iter().find(|l| l.counts == Counts::Requests)
        {
            out.push(format!(
                "pool `{}` sets {} = {} for \"{}\", whose requests per minute Bedrock does not enforce (Claude 4.7 and later): real traffic is limited by tokens only, so this limit may throttle what Bedrock would admit",
                p.name, l.name, l.limit, row.name
            ));
        }
        for id in &p.model_ids {
            if PROFILE_PREFIXES.iter().any(|x| id.starts_with(x)) {
                continue;
            }
            if let Some(r) = table
                .rows
                .iter()
                .find(|r| r.profile_only && r.is_bare_id(id))
            {
                out.push(format!(
                    "pool `{}` lists the bare model ID \"{id}\": \"{}\" is reachable only through an inference profile (e.g. \"global.{id}\"), and Bedrock answers the bare ID with a 400 ValidationException (serve does too)",
                    p.name, r.name
                ));
            }
        }
    }
    if let Some(w) = history_warning(pools, workloads) {
        out.push(w);
    }
    for (name, pool_names) in unconfirmed {
        let burndown = table.get(name).map_or(0, |r| r.output_burndown);
        out.push(format!(
            "model \"{name}\" (pool {}): its output burndown {burndown} is unconfirmed, no public source gives it; quota figures rest on that guess (set model.output_burndown when you know it, see `quotasim models --format json`)",
            pool_names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}

/// One warning when a replayed invocation log names the bare ID of a profile-only model
/// that a pool serves through its profiles: the records are replayed on that pool (the log
/// is history), although Bedrock refuses the bare ID today.
fn history_warning(pools: &[Pool], workloads: &[Workload]) -> Option<String> {
    let mut found: Vec<(String, String, String)> = Vec::new();
    for w in workloads {
        let crate::workload::Arrivals::Trace(t) = &w.arrivals else {
            continue;
        };
        for p in pools.iter().filter(|p| p.model.profile_only) {
            for id in &p.model_ids {
                let Some(bare) = PROFILE_PREFIXES.iter().find_map(|x| id.strip_prefix(x)) else {
                    continue;
                };
                let listed = pools.iter().any(|q| q.model_ids.iter().any(|x| x == bare));
                if !listed
                    && t.info.model_keys.contains(&crate::trace::model_key(bare))
                    && !found.iter().any(|(b, _, _)| b == bare)
                {
                    found.push((bare.to_string(), p.name.clone(), t.file.clone()));
                }
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "the replayed log names bare model IDs that Bedrock now refuses on demand (profile-only models): {}; its records are replayed on the pool serving the model's profiles, as they were served then",
        found
            .iter()
            .map(|(b, p, f)| format!("\"{b}\" in {f} → pool `{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}
