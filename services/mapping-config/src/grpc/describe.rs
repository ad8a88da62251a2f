//! DescribeMappings: an integration's mappings as the live board and object describe them,
//! with the compatibility matrix's conversion and what each direction loses. The web console
//! shows it as the mapping table.

use tandem_core::Flow;
use tandem_core::matrix;
use tandem_proto::v1 as pb;
use tandem_service::Identity;
use tonic::Status;

use super::integrity::{monday_side, salesforce_side};
use super::{State, User, integrations};

fn flow(flow: Flow) -> &'static str {
    match flow {
        Flow::No => "no",
        Flow::Lossless => "lossless",
        Flow::Lossy => "lossy",
    }
}

pub async fn describe(
    state: &State,
    user: User,
    id: &str,
) -> Result<pb::DescribeMappingsResponse, Status> {
    let who = Identity::User {
        account: user.account.clone(),
        email: user.email.clone(),
    };
    let integration = integrations::get(state, &who, id).await?;
    if !tandem_service::same_email(&integration.owner, &user.email) {
        return Err(Status::permission_denied(format!(
            "integration {id} belongs to {}; only its owner sees its mapping",
            integration.owner
        )));
    }
    let spec = integration.spec.unwrap_or_default();
    // Read as the owner, through the integration's own connections.
    let (monday, salesforce) = tokio::join!(
        monday_side(state, &who, &spec),
        salesforce_side(state, &who, &spec)
    );
    let (board, mut problems) = monday?;
    let (object, salesforce_problems) = salesforce?;
    problems.extend(salesforce_problems);
    let mappings = spec
        .mappings
        .iter()
        .map(|m| {
            let column = board
                .as_ref()
                .and_then(|b| b.columns.get(&m.monday_column_id));
            let field = object
                .as_ref()
                .and_then(|o| o.fields.get(&m.salesforce_field));
            let rule = column
                .zip(field)
                .and_then(|(c, f)| matrix::lookup(&f.kind, &c.kind));
            pb::MappingDescription {
                mapping: Some(m.clone()),
                monday_title: column.map(|c| c.title.clone()).unwrap_or_default(),
                monday_kind: column.map(|c| c.kind.to_string()).unwrap_or_default(),
                salesforce_label: field.map(|f| f.label.clone()).unwrap_or_default(),
                salesforce_kind: field.map(|f| f.kind.to_string()).unwrap_or_default(),
                salesforce_required: field.is_some_and(|f| f.required),
                conversion: rule.map(|r| r.conversion.to_string()).unwrap_or_default(),
                conversion_description: rule
                    .map(|r| r.conversion.describe().to_owned())
                    .unwrap_or_default(),
                to_monday: rule
                    .map(|r| flow(r.to_monday).to_owned())
                    .unwrap_or_default(),
                to_salesforce: rule
                    .map(|r| flow(r.to_salesforce).to_owned())
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(pb::DescribeMappingsResponse {
        mappings,
        problems: problems
            .into_iter()
            .map(|p| pb::ValidationProblem {
                field: p.field,
                message: p.message,
            })
            .collect(),
    })
}
