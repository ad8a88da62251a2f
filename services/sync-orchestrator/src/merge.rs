//! Steps 4–6 for one record: filter (the conditions), merge (three-way, against the link's
//! shadow) and convert — pure, so every rule is tested without a network: given what both
//! sides hold now, the link's shadow and the integration's rules, decide the writes.

use std::collections::BTreeSet;

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use tandem_catalog::Rules;
use tandem_core::merge::Side as CoreSide;
use tandem_core::{ConflictPolicy, ConvertContext, MergePlan, Shadow, SideState, merge};

/// What a run was about to store for a linked pair when it sent writes to it: the shadow,
/// and which fields it wrote on each side. Recorded before the writes go out; read back by
/// the next run when the first did not commit.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PendingWrite {
    pub shadow: Shadow,
    /// Salesforce fields written.
    pub salesforce: BTreeSet<String>,
    /// monday columns written.
    pub monday: BTreeSet<String>,
}

/// The shadow, corrected for the writes of an earlier run that did not commit: where the
/// side that run wrote now holds exactly what it sent, the write landed, and the field counts
/// as agreed on what that run would have stored — so the run's own write is not mistaken for
/// a newer change (and a user's edit of the other side since still moves). Where the side
/// holds anything else, the old shadow stands.
pub fn with_landed_writes(
    shadow: &Shadow,
    pending: &PendingWrite,
    salesforce: &SideState,
    monday: &SideState,
    rules: &Rules,
) -> Shadow {
    let mut out = shadow.clone();
    for m in &rules.mappings {
        let (sk, mk) = (m.salesforce_key(), m.monday_key());
        let sent = |written: &BTreeSet<String>, key: &str, now: &SideState, sent: &Shadow, side| {
            let value = match side {
                CoreSide::Salesforce => sent.salesforce.get(key),
                CoreSide::Monday => sent.monday.get(key),
            };
            written.contains(key) && value.is_some() && now.values.get(key) == value
        };
        let landed = sent(
            &pending.salesforce,
            sk,
            salesforce,
            &pending.shadow,
            CoreSide::Salesforce,
        ) || sent(
            &pending.monday,
            mk,
            monday,
            &pending.shadow,
            CoreSide::Monday,
        );
        if landed {
            if let Some(v) = pending.shadow.salesforce.get(sk) {
                out.salesforce.insert(sk.to_owned(), v.clone());
            }
            if let Some(v) = pending.shadow.monday.get(mk) {
                out.monday.insert(mk.to_owned(), v.clone());
            }
        }
    }
    out
}

/// The decision for a record that has no partner yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Create it on `target` with `payload` (Salesforce sObject fields, or monday
    /// `column_values`); store `shadow` with the link once the create succeeded. `errors`
    /// are the fields that could not be converted, left out of the payload (a failed field
    /// fails that field, not the record; it is retried later).
    Create {
        target: CoreSide,
        payload: Map<String, Json>,
        shadow: Shadow,
        errors: Vec<(String, String)>,
    },
    /// Leave it alone, and say why (recorded in run history).
    Skip { reason: String },
    /// No field could be converted, by field (recorded as a per-record failure).
    Fail { errors: Vec<(String, String)> },
}

/// A linked pair: the three-way merge, where a side whose record no longer matches its
/// conditions is left out — its changes do not move (and stay un-agreed in the shadow, so
/// they move once it matches again), but the other side's still can. Nothing is deleted.
pub fn plan_linked(
    rules: &Rules,
    shadow: &Shadow,
    salesforce: SideState,
    monday: SideState,
    ctx: &ConvertContext<'_>,
) -> MergePlan {
    let salesforce = if rules.scope.allows_from(CoreSide::Salesforce)
        && rules.incoming.evaluate(&salesforce.values)
    {
        salesforce
    } else {
        SideState::default()
    };
    let monday =
        if rules.scope.allows_from(CoreSide::Monday) && rules.outgoing.evaluate(&monday.values) {
            monday
        } else {
            SideState::default()
        };
    merge(
        shadow,
        &salesforce,
        &monday,
        &rules.mappings,
        rules.policy,
        ctx,
    )
}

/// A record seen on `source` with no partner: create it on the other side if the scope and
/// the conditions let it go.
pub fn plan_unlinked(
    rules: &Rules,
    source: CoreSide,
    state: SideState,
    ctx: &ConvertContext<'_>,
) -> Decision {
    if !rules.scope.allows_from(source) {
        return Decision::Skip {
            reason: "the integration's scope does not create records from this side".to_owned(),
        };
    }
    let (condition, which) = match source {
        CoreSide::Salesforce => (&rules.incoming, "incoming"),
        CoreSide::Monday => (&rules.outgoing, "outgoing"),
    };
    if !condition.evaluate(&state.values) {
        return Decision::Skip {
            reason: format!("does not match the {which} conditions"),
        };
    }
    let empty = SideState::default();
    let (salesforce, monday, policy, target) = match source {
        CoreSide::Salesforce => (
            &state,
            &empty,
            ConflictPolicy::SalesforceWins,
            CoreSide::Monday,
        ),
        CoreSide::Monday => (
            &empty,
            &state,
            ConflictPolicy::MondayWins,
            CoreSide::Salesforce,
        ),
    };
    let plan = merge(
        &Shadow::default(),
        salesforce,
        monday,
        &rules.mappings,
        policy,
        ctx,
    );
    let errors: Vec<(String, String)> = plan
        .failures()
        .map(|(decision, error)| {
            // The field that could not be written, on the target.
            let field = match target {
                CoreSide::Salesforce => &decision.salesforce_field,
                CoreSide::Monday => &decision.monday_column,
            };
            (field.clone(), error.to_string())
        })
        .collect();
    let payload = match target {
        CoreSide::Monday => plan.monday_column_values(),
        CoreSide::Salesforce => plan.salesforce_payload(),
    };
    if payload.is_empty() && !errors.is_empty() {
        return Decision::Fail { errors };
    }
    if payload.is_empty() {
        return Decision::Skip {
            reason: "no mapped field has a value to create it with".to_owned(),
        };
    }
    Decision::Create {
        target,
        payload,
        shadow: plan.next_shadow,
        errors,
    }
}

/// The idempotency key of the create of `source_id` from `source` in `integration`: the same
/// on every retry and after a crash, so the connectors' idempotent creates never make a
/// second record for one source.
pub fn idempotency_key(integration: &str, source: CoreSide, source_id: &str) -> String {
    let side = crate::store::Side::from(source).prefix();
    let digest = Sha256::digest(format!("{integration}\u{1f}{side}\u{1f}{source_id}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("tdm-{hex}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tandem_catalog::Scope;
    use tandem_core::merge::Action;
    use tandem_core::{
        Condition, Direction, FieldMapping, MappingOptions, MondayColumn, Operator,
        SalesforceField, UserMap, Value,
    };

    use super::*;

    fn mappings() -> Vec<FieldMapping> {
        let stage = SalesforceField::from_describe(&json!({
            "name": "StageName", "type": "picklist", "updateable": true, "createable": true, "restrictedPicklist": true,
            "picklistValues": [
                {"value": "Prospecting", "label": "Prospecting", "active": true},
                {"value": "Closed Won", "label": "Closed Won", "active": true}]}))
        .unwrap();
        let status = MondayColumn::from_api(
            "status",
            "Stage",
            "status",
            Some(&json!(r#"{"labels":{"0":"Prospecting","1":"Closed Won"}}"#)),
        );
        let name = SalesforceField::from_describe(&json!({
            "name": "Name", "type": "string", "length": 120, "updateable": true, "createable": true}))
        .unwrap();
        let item_name = MondayColumn::from_api("name", "Name", "name", None);
        vec![
            FieldMapping::validated(stage, status, Direction::Both, MappingOptions::default())
                .unwrap(),
            FieldMapping::validated(name, item_name, Direction::Both, MappingOptions::default())
                .unwrap(),
        ]
    }

    fn rules(scope: Scope) -> Rules {
        Rules {
            mappings: mappings(),
            scope,
            policy: ConflictPolicy::NewestWins,
            incoming: Condition::Any,
            outgoing: Condition::Any,
            sensitive: Default::default(),
        }
    }

    fn sf(stage: &str, name: &str) -> SideState {
        SideState::new(
            [
                ("StageName".to_owned(), Value::labels([stage])),
                ("Name".to_owned(), Value::text(name)),
            ]
            .into(),
            None,
        )
    }

    fn mo(stage: &str, name: &str) -> SideState {
        SideState::new(
            [
                ("status".to_owned(), Value::labels([stage])),
                ("name".to_owned(), Value::text(name)),
            ]
            .into(),
            None,
        )
    }

    fn agreed(stage: &str, name: &str) -> Shadow {
        Shadow {
            salesforce: sf(stage, name).values,
            monday: mo(stage, name).values,
        }
    }

    #[test]
    fn a_salesforce_edit_moves_to_monday_and_its_echo_moves_nothing() {
        let users = UserMap::new();
        let ctx = ConvertContext::for_org("UTC", &users).unwrap();
        let r = rules(Scope::TwoWay);
        let shadow = agreed("Prospecting", "Acme");
        let plan = plan_linked(
            &r,
            &shadow,
            sf("Closed Won", "Acme"),
            mo("Prospecting", "Acme"),
            &ctx,
        );
        assert_eq!(
            Json::Object(plan.monday_column_values()),
            json!({"status": {"label": "Closed Won"}})
        );
        assert!(plan.salesforce_payload().is_empty());
        // Our own write comes back on the next poll equal to the new shadow.
        let echo = plan_linked(
            &r,
            &plan.next_shadow,
            sf("Closed Won", "Acme"),
            mo("Closed Won", "Acme"),
            &ctx,
        );
        assert!(echo.is_noop(), "{echo:?}");
    }

    #[test]
    fn a_record_that_stops_matching_keeps_its_changes_but_the_other_side_still_moves() {
        let users = UserMap::new();
        let ctx = ConvertContext::for_org("UTC", &users).unwrap();
        let mut r = rules(Scope::TwoWay);
        r.incoming = Condition::rule(
            "StageName",
            Operator::Equals,
            Value::labels(["Prospecting"]),
        );
        let shadow = agreed("Prospecting", "Acme");
        // Salesforce moved out of the condition and renamed; monday renamed too (newer).
        let mut monday = mo("Prospecting", "Acme Corp");
        monday.record_changed_at =
            Some(tandem_core::jiff::Timestamp::from_second(2_000_000_000).unwrap());
        let plan = plan_linked(&r, &shadow, sf("Closed Won", "Acme Inc"), monday, &ctx);
        assert!(
            plan.monday_column_values().is_empty(),
            "nothing goes to monday"
        );
        assert_eq!(
            Json::Object(plan.salesforce_payload()),
            json!({"Name": "Acme Corp"})
        );
        // The Salesforce stage was not agreed on: it moves once the record matches again.
        assert_eq!(
            plan.next_shadow.salesforce["StageName"],
            Value::labels(["Prospecting"])
        );
    }

    #[test]
    fn one_way_scope_never_pushes_against_it() {
        let users = UserMap::new();
        let ctx = ConvertContext::for_org("UTC", &users).unwrap();
        let r = rules(Scope::SalesforceToMonday);
        let shadow = agreed("Prospecting", "Acme");
        let plan = plan_linked(
            &r,
            &shadow,
            sf("Prospecting", "Acme"),
            mo("Closed Won", "Acme Corp"),
            &ctx,
        );
        assert!(plan.salesforce_payload().is_empty());
        assert!(
            plan.fields
                .iter()
                .all(|f| !matches!(f.action, Action::PushToSalesforce { .. }))
        );
    }

    #[test]
    fn an_unlinked_record_is_created_on_the_other_side_when_scope_and_conditions_allow() {
        let users = UserMap::new();
        let ctx = ConvertContext::for_org("UTC", &users).unwrap();
        match plan_unlinked(
            &rules(Scope::TwoWay),
            CoreSide::Salesforce,
            sf("Closed Won", "Acme"),
            &ctx,
        ) {
            Decision::Create {
                target,
                payload,
                shadow,
                errors,
            } => {
                assert!(errors.is_empty(), "{errors:?}");
                assert_eq!(target, CoreSide::Monday);
                assert_eq!(
                    Json::Object(payload),
                    json!({"status": {"label": "Closed Won"}, "name": "Acme"})
                );
                assert_eq!(shadow.monday["name"], Value::text("Acme"));
            }
            other => panic!("expected a create, got {other:?}"),
        }
        match plan_unlinked(
            &rules(Scope::TwoWay),
            CoreSide::Monday,
            mo("Prospecting", "Beta"),
            &ctx,
        ) {
            Decision::Create {
                target, payload, ..
            } => {
                assert_eq!(target, CoreSide::Salesforce);
                assert_eq!(
                    Json::Object(payload),
                    json!({"StageName": "Prospecting", "Name": "Beta"})
                );
            }
            other => panic!("expected a create, got {other:?}"),
        }
        let skipped = plan_unlinked(
            &rules(Scope::MondayToSalesforce),
            CoreSide::Salesforce,
            sf("Closed Won", "Acme"),
            &ctx,
        );
        assert!(
            matches!(skipped, Decision::Skip { ref reason } if reason.contains("scope")),
            "{skipped:?}"
        );
        let mut r = rules(Scope::TwoWay);
        r.outgoing = Condition::rule("status", Operator::Equals, Value::labels(["Closed Won"]));
        let skipped = plan_unlinked(&r, CoreSide::Monday, mo("Prospecting", "Beta"), &ctx);
        assert!(
            matches!(skipped, Decision::Skip { ref reason } if reason.contains("outgoing")),
            "{skipped:?}"
        );
    }

    #[test]
    fn an_unconvertible_value_fails_its_field_and_the_others_still_cross() {
        let users = UserMap::new();
        let ctx = ConvertContext::for_org("UTC", &users).unwrap();
        let created = plan_unlinked(
            &rules(Scope::TwoWay),
            CoreSide::Monday,
            mo("Lost", "Gamma"),
            &ctx,
        );
        match created {
            Decision::Create {
                payload,
                errors,
                shadow,
                ..
            } => {
                assert_eq!(errors.len(), 1, "{errors:?}");
                assert_eq!(
                    errors[0].0, "StageName",
                    "the field it could not be written to"
                );
                assert_eq!(Json::Object(payload), json!({"Name": "Gamma"}));
                assert!(
                    !shadow.monday.contains_key("status"),
                    "the failed field is not agreed, so it is tried again"
                );
            }
            other => panic!("expected a create without the failed field, got {other:?}"),
        }
        let mut only_status = rules(Scope::TwoWay);
        only_status.mappings.retain(|m| m.monday.id == "status");
        let failed = plan_unlinked(&only_status, CoreSide::Monday, mo("Lost", "Gamma"), &ctx);
        assert!(
            matches!(failed, Decision::Fail { ref errors } if errors[0].0 == "StageName"),
            "{failed:?}"
        );
    }

    #[test]
    fn a_linked_pair_with_one_unconvertible_field_still_moves_the_others() {
        let users = UserMap::new();
        let ctx = ConvertContext::for_org("UTC", &users).unwrap();
        let shadow = agreed("Prospecting", "Acme");
        let plan = plan_linked(
            &rules(Scope::TwoWay),
            &shadow,
            sf("Prospecting", "Acme"),
            mo("Lost", "Acme Corp"),
            &ctx,
        );
        assert_eq!(plan.failures().count(), 1);
        assert_eq!(
            Json::Object(plan.salesforce_payload()),
            json!({"Name": "Acme Corp"})
        );
        assert_eq!(
            plan.next_shadow.monday["status"],
            Value::labels(["Prospecting"]),
            "the failed field keeps its old shadow"
        );
    }

    #[test]
    fn an_earlier_runs_landed_write_is_its_own_not_a_newer_change() {
        let users = UserMap::new();
        let ctx = ConvertContext::for_org("UTC", &users).unwrap();
        let r = rules(Scope::TwoWay);
        // Agreed on Acme; the user renamed it on monday to "Acme 1"; a run wrote "Acme 1" to
        // Salesforce and failed before committing; then the user renamed it to "Acme 2".
        let shadow = agreed("Prospecting", "Acme");
        let pending = PendingWrite {
            shadow: agreed("Prospecting", "Acme 1"),
            salesforce: ["Name".to_owned()].into(),
            monday: BTreeSet::new(),
        };
        let (sf_now, mo_now) = (sf("Prospecting", "Acme 1"), mo("Prospecting", "Acme 2"));
        let corrected = with_landed_writes(&shadow, &pending, &sf_now, &mo_now, &r);
        let plan = plan_linked(&r, &corrected, sf_now.clone(), mo_now.clone(), &ctx);
        assert_eq!(
            Json::Object(plan.salesforce_payload()),
            json!({"Name": "Acme 2"}),
            "the user's newer edit moves"
        );
        assert!(
            plan.monday_column_values().is_empty(),
            "nothing goes back to monday"
        );
        // Without the correction, both sides look changed and the older write could win.
        let naive = plan_linked(&r, &shadow, sf_now, mo_now, &ctx);
        assert!(naive.fields.iter().any(|d| d.conflict.is_some()));
        // A write that never landed leaves the old shadow.
        let not_landed = with_landed_writes(
            &shadow,
            &pending,
            &sf("Prospecting", "Acme"),
            &mo("Prospecting", "Acme 2"),
            &r,
        );
        assert_eq!(not_landed, shadow);
    }

    #[test]
    fn idempotency_keys_are_stable_and_distinct() {
        let a = idempotency_key("int-1", CoreSide::Salesforce, "006A");
        assert_eq!(a, idempotency_key("int-1", CoreSide::Salesforce, "006A"));
        assert_ne!(a, idempotency_key("int-2", CoreSide::Salesforce, "006A"));
        assert_ne!(a, idempotency_key("int-1", CoreSide::Monday, "006A"));
        assert!(a.starts_with("tdm-") && a.len() == 36);
    }
}
