//! Step 3c: people. Salesforce users a polled record points to (an owner) that the people
//! directory does not know — no monday user has their email — are read by Id, so a User field
//! mapped to a monday text or email column still carries their email (the original app's
//! documented fallback), and a people column says who was not matched.

use tandem_proto::v1 as pb;

use crate::deps::Deps;
use crate::history::Outcome;
use crate::pairs::Pair;
use crate::records;
use crate::run::CycleError;
use crate::settings::Settings;

/// Reads the unknown users of the pairs' Salesforce records into the settings' directory.
pub async fn learn_unknown_users(
    deps: &Deps,
    settings: &mut Settings,
    pairs: &[Pair],
    outcome: &mut Outcome,
) -> Result<(), CycleError> {
    let ids = records::unknown_user_ids(
        &settings.rules.mappings,
        pairs.iter().filter_map(|p| p.salesforce.as_ref()),
        &settings.users,
    );
    if ids.is_empty() {
        return Ok(());
    }
    let got = deps
        .peers
        .salesforce
        .clone()
        .get_records(pb::GetRecordsRequest {
            connection_id: settings.spec.salesforce_connection_id.clone(),
            object: "User".to_owned(),
            ids,
            fields: records::USER_FIELDS
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
        })
        .await?
        .into_inner();
    outcome.counters.salesforce_api_calls += u64::from(got.api_calls);
    records::add_users_by_id(&mut settings.users, &got.records);
    Ok(())
}
