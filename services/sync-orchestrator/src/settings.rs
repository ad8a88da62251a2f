//! Step 0 of a run: the integration's settings as a run applies them — its rules (from the
//! spec against the live board and object), the org's time zone, the people directory, the
//! coalescing window, the link key and the fields to read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_catalog::{Board, Object, Rules};
use tandem_core::{ConvertContext, MondayKind, SalesforceKind, UserMap};
use tandem_proto::v1 as pb;

use crate::coalesce::Window;
use crate::deps::{Catalog, Deps};
use crate::run::CycleError;

/// The fixed coalescing window when an integration sets none (the original app's 3 minutes).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(180);
/// The low-latency debounce when an integration sets none.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(5);
/// The poll interval when an integration sets none (the original app's 3 minutes).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(180);

/// What a run knows about its integration.
pub struct Settings {
    pub integration: pb::Integration,
    pub spec: pb::IntegrationSpec,
    pub rules: Rules,
    /// People ↔ User by email, read once per catalog when a mapping needs it.
    pub users: UserMap,
    /// The Salesforce org's default time zone (`TimeZoneSidKey`).
    pub time_zone: String,
    /// The country of the org's default locale (phone numbers without `+`).
    pub country: String,
    /// The Salesforce field that names a record (for run history), if the object has one.
    pub name_field: Option<String>,
}

/// The fields that name a record, in the order Salesforce objects use them.
const NAME_FIELDS: [&str; 4] = ["Name", "Subject", "CaseNumber", "Title"];

/// The field that names a record of `object`, if it has one.
fn name_field_of(object: &pb::DescribeObjectResponse) -> Option<String> {
    NAME_FIELDS
        .iter()
        .find(|n| object.fields.iter().any(|f| f.name == **n))
        .map(|n| (*n).to_owned())
}

/// (monday column, Salesforce field) whose equal values pair records never linked.
pub type LinkKey = (String, String);

impl Settings {
    pub fn id(&self) -> &str {
        &self.integration.id
    }

    /// The conversion context: the org's zone and the people directory.
    pub fn convert_context(&self) -> Result<ConvertContext<'_>, CycleError> {
        ConvertContext::for_org(&self.time_zone, &self.users)
            .map(|ctx| ctx.with_phone_country(&self.country))
            .map_err(|e| settings_error(self.id(), e.to_string()))
    }

    /// The link key: the requested one, else the integration's; `None` when neither has one.
    pub fn link_key(&self, requested: Option<LinkKey>) -> Option<LinkKey> {
        requested
            .filter(|(c, f)| !c.is_empty() && !f.is_empty())
            .or_else(|| {
                let (c, f) = (
                    &self.spec.link_monday_column_id,
                    &self.spec.link_salesforce_field,
                );
                (!c.is_empty() && !f.is_empty()).then(|| (c.clone(), f.clone()))
            })
    }

    /// The Salesforce fields and monday columns to read: the mapped ones and the link key's.
    pub fn fields_to_read(&self, link_key: Option<&LinkKey>) -> (Vec<String>, Vec<String>) {
        let mappings = &self.rules.mappings;
        let mut fields: Vec<String> = mappings.iter().map(|m| m.salesforce.name.clone()).collect();
        let mut columns: Vec<String> = mappings
            .iter()
            .map(|m| m.monday.id.clone())
            .filter(|c| c != "name")
            .collect();
        if let Some(name) = &self.name_field
            && !fields.contains(name)
        {
            fields.push(name.clone());
        }
        if let Some((column, field)) = link_key {
            if field != "Id" && !fields.contains(field) {
                fields.push(field.clone());
            }
            if column != "name" && !columns.contains(column) {
                columns.push(column.clone());
            }
        }
        (fields, columns)
    }

    /// The coalescing window the integration asked for.
    pub fn window(&self) -> Window {
        window_of(&self.integration)
    }
}

/// The coalescing window `integration` asked for.
pub fn window_of(integration: &pb::Integration) -> Window {
    let spec = integration.spec.clone().unwrap_or_default();
    let window = match spec.coalescing_window_seconds {
        0 => DEFAULT_WINDOW,
        s => Duration::from_secs(u64::from(s)),
    };
    let debounce = match spec.coalescing_mode() {
        pb::CoalescingMode::LowLatency => Some(match spec.debounce_seconds {
            0 => DEFAULT_DEBOUNCE,
            s => Duration::from_secs(u64::from(s)),
        }),
        pb::CoalescingMode::FixedWindow | pb::CoalescingMode::Unspecified => None,
    };
    Window { window, debounce }
}

/// How often `integration` is polled.
pub fn interval_of(integration: &pb::Integration) -> Duration {
    match integration
        .spec
        .as_ref()
        .map_or(0, |s| s.poll_interval_seconds)
    {
        0 => DEFAULT_INTERVAL,
        s => Duration::from_secs(u64::from(s)),
    }
}

pub fn settings_error(id: &str, reason: impl Into<String>) -> CycleError {
    CycleError::Settings {
        id: id.to_owned(),
        reason: reason.into(),
    }
}

/// Whether a run may start on an integration in `state`: a cycle or a writing import only on
/// an active one; a dry run on a paused one too (it writes nothing, and a user previews an
/// import before resuming).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Active,
    AnyState,
}

/// Reads the integration from mapping-config; refused when `needs` an active one and it is
/// paused.
pub async fn integration(
    deps: &Deps,
    id: &str,
    needs: Needs,
) -> Result<pb::Integration, CycleError> {
    let integration = deps
        .peers
        .mapping_config
        .clone()
        .get_integration(pb::GetIntegrationRequest { id: id.to_owned() })
        .await?
        .into_inner();
    if needs == Needs::Active && integration.state() != pb::IntegrationState::Active {
        return Err(CycleError::Paused(
            id.to_owned(),
            integration.state_reason.clone(),
        ));
    }
    Ok(integration)
}

/// What the integration's rules need from both remotes (reused from the catalog while
/// fresh), with the integration.
pub async fn load(deps: &Deps, integration: pb::Integration) -> Result<Settings, CycleError> {
    let id = integration.id.clone();
    let id = id.as_str();
    let spec = integration
        .spec
        .clone()
        .ok_or_else(|| settings_error(id, "it has no settings"))?;
    let catalog = match deps.catalogs.fresh(id, integration.version) {
        Some(catalog) => catalog,
        None => {
            let mut catalog = read_catalog(deps, id, &spec).await?;
            catalog.version = integration.version;
            let catalog = Arc::new(catalog);
            deps.catalogs.put(id, catalog.clone());
            catalog
        }
    };
    let rules = rules_of(id, &spec, &catalog)?;
    Ok(Settings {
        integration,
        spec,
        rules,
        users: catalog.users.clone(),
        time_zone: catalog.time_zone.clone(),
        country: catalog.country.clone(),
        name_field: name_field_of(&catalog.object),
    })
}

fn rules_of(id: &str, spec: &pb::IntegrationSpec, catalog: &Catalog) -> Result<Rules, CycleError> {
    Rules::from_spec(
        spec,
        &Object::from_proto(&catalog.object),
        &Board::from_proto(&catalog.board),
    )
    .map_err(|e| settings_error(id, e.to_string()))
}

/// Reads what a run needs to know about both sides: the object's describe, the board, the
/// org's time zone (the connectors cache the first and third), and the people directory.
async fn read_catalog(
    deps: &Deps,
    id: &str,
    spec: &pb::IntegrationSpec,
) -> Result<Catalog, CycleError> {
    let (mut salesforce, mut monday) = (deps.peers.salesforce.clone(), deps.peers.monday.clone());
    let mut org = salesforce.clone();
    let (object, board, org) = tokio::try_join!(
        salesforce.describe_object(pb::DescribeObjectRequest {
            connection_id: spec.salesforce_connection_id.clone(),
            object: spec.salesforce_object.clone(),
        }),
        monday.get_board(pb::GetBoardRequest {
            connection_id: spec.monday_connection_id.clone(),
            board_id: spec.board_id.clone(),
        }),
        // Dates and datetimes convert in the org's default zone.
        org.get_organization(pb::GetOrganizationRequest {
            connection_id: spec.salesforce_connection_id.clone(),
        }),
    )?;
    let org = org.into_inner();
    let mut catalog = Catalog {
        read_at: Instant::now(),
        version: 0,
        object: object.into_inner(),
        board: board.into_inner(),
        time_zone: org.time_zone,
        country: org.country,
        users: UserMap::new(),
    };
    let rules = rules_of(id, spec, &catalog)?;
    catalog.users = user_directory(deps, spec, &rules).await?;
    Ok(catalog)
}

/// The people of both sides matched by email, when a mapping involves a Salesforce user
/// field or a monday people column: monday's users, and the active Salesforce Users with
/// those emails (one query).
async fn user_directory(
    deps: &Deps,
    spec: &pb::IntegrationSpec,
    rules: &Rules,
) -> Result<UserMap, CycleError> {
    let mut users = UserMap::new();
    let needed = rules
        .mappings
        .iter()
        .any(|m| m.salesforce.kind == SalesforceKind::User || m.monday.kind == MondayKind::People);
    if !needed {
        return Ok(users);
    }
    let monday_users = deps
        .peers
        .monday
        .clone()
        .list_users(pb::ListUsersRequest {
            connection_id: spec.monday_connection_id.clone(),
        })
        .await?
        .into_inner()
        .users;
    let emails: Vec<String> = monday_users
        .iter()
        .map(|u| u.email.clone())
        .filter(|e| !e.is_empty())
        .collect();
    for user in &monday_users {
        if let Ok(id) = user.id.parse::<u64>() {
            users.add_monday_user(id, &user.email);
        }
    }
    if !emails.is_empty() {
        let salesforce_users = deps
            .peers
            .salesforce
            .clone()
            .find_users(pb::FindUsersRequest {
                connection_id: spec.salesforce_connection_id.clone(),
                emails,
            })
            .await?
            .into_inner()
            .users;
        for user in salesforce_users.iter().filter(|u| u.active) {
            users.add_salesforce_user(user.id.clone(), &user.email);
        }
    }
    Ok(users)
}
