//! Step 1: connect both sides as a user would (monday by API token, Salesforce through OAuth
//! at the simulator, which approves at once) and create the integration from the suggested
//! mapping.

use anyhow::Context as _;
use tandem_proto::v1 as pb;

use super::ORG;
use super::api::Api;
use super::report;
use super::sides::Sides;

/// Connects both sides as the demo's user and creates the integration from the suggested
/// mapping.
pub async fn connect_and_map(api: &Api, sides: &Sides) -> anyhow::Result<pb::Integration> {
    report::section("Connect both sides");
    let mut config = api.config.clone();
    let monday = config
        .create_connection(api.req(pb::CreateConnectionRequest {
            kind: pb::ConnectionKind::Monday as i32,
            monday_token: sides.monday_token.clone(),
            ..Default::default()
        }))
        .await
        .context("connecting monday")?
        .into_inner()
        .connection
        .context("CreateConnection answered no connection")?;
    report::kv(
        "monday",
        &format!(
            "board \"{}\" with the account's API token ({})",
            sides.board_name,
            connection_state(monday.state)
        ),
    );
    let salesforce = tandem_stack::connect_simulated_org(&mut config, api.bearer(), ORG)
        .await
        .context("connecting the Salesforce org through OAuth")?;
    report::kv(
        "Salesforce",
        &format!(
            "org {} as {} through OAuth ({})",
            salesforce.salesforce_org_id,
            salesforce.salesforce_username,
            connection_state(salesforce.state)
        ),
    );

    let suggested = config
        .suggest_mapping(api.req(pb::SuggestMappingRequest {
            monday_connection_id: monday.id.clone(),
            board_id: sides.board_id.to_string(),
            salesforce_connection_id: salesforce.id.clone(),
            salesforce_object: "Opportunity".into(),
        }))
        .await
        .context("SuggestMapping")?
        .into_inner();
    report::section(&format!(
        "Suggested mapping: board \"{}\" ↔ Opportunity",
        sides.board_name
    ));
    // Two-way pairs only: a one-way suggestion (e.g. Company ← AccountId, a lookup shown as
    // text) would leave the sides different by design.
    let mut mappings = Vec::new();
    let mut left_out = Vec::new();
    let mut rows = Vec::new();
    for s in &suggested.suggestions {
        let Some(m) = s.mapping.as_ref() else {
            continue;
        };
        let title = sides.column_title(&m.monday_column_id).to_owned();
        if m.direction != pb::Direction::Both as i32 {
            left_out.push(format!(
                "{title} ↔ {} ({} only)",
                m.salesforce_field,
                direction(m.direction)
            ));
            continue;
        }
        mappings.push(m.clone());
        rows.push(vec![
            title,
            "↔".to_owned(),
            m.salesforce_field.clone(),
            direction(m.direction).to_owned(),
            format!("{:.2}", s.confidence),
            s.reason.clone(),
        ]);
    }
    report::table(&rows);
    if !left_out.is_empty() {
        report::note(&format!("left out (one-way): {}", left_out.join(", ")));
    }
    let suggested_columns: Vec<&str> = suggested
        .suggestions
        .iter()
        .filter_map(|s| s.mapping.as_ref())
        .map(|m| m.monday_column_id.as_str())
        .collect();
    let unmapped: Vec<&str> = sides
        .columns
        .iter()
        .filter(|(id, _)| !suggested_columns.contains(&id.as_str()))
        .map(|(_, c)| c.title.as_str())
        .collect();
    report::note(&format!(
        "no Opportunity field for: {}",
        unmapped.join(", ")
    ));
    if !suggested.unmatched_required_fields.is_empty() {
        anyhow::bail!(
            "no column suggested for the required Opportunity field(s) {}",
            suggested.unmatched_required_fields.join(", ")
        );
    }

    let spec = pb::IntegrationSpec {
        name: "Deals ↔ Opportunities".into(),
        monday_connection_id: monday.id,
        board_id: sides.board_id.to_string(),
        salesforce_connection_id: salesforce.id,
        salesforce_object: "Opportunity".into(),
        scope: pb::Scope::TwoWay as i32,
        mappings,
        conflict_policy: pb::ConflictPolicy::NewestWins as i32,
        ..Default::default()
    };
    let integration = config
        .create_integration(api.req(pb::CreateIntegrationRequest {
            spec: Some(spec),
            paused: false,
        }))
        .await
        .context("creating the integration")?
        .into_inner();
    report::kv(
        "integration",
        &format!(
            "\"{}\" created: two-way, newest edit wins on conflicts",
            integration.spec.as_ref().map_or("", |s| s.name.as_str())
        ),
    );
    Ok(integration)
}

fn connection_state(state: i32) -> &'static str {
    match pb::ConnectionState::try_from(state) {
        Ok(pb::ConnectionState::Active) => "active",
        Ok(pb::ConnectionState::Pending) => "pending",
        Ok(pb::ConnectionState::NeedsReauthentication) => "needs re-authentication",
        _ => "unknown",
    }
}

pub fn direction(d: i32) -> &'static str {
    match pb::Direction::try_from(d) {
        Ok(pb::Direction::Both) => "both ways",
        Ok(pb::Direction::MondayToSalesforce) => "monday → SF",
        Ok(pb::Direction::SalesforceToMonday) => "SF → monday",
        _ => "?",
    }
}
