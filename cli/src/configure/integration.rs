//! `tandem integration create|get|list|update|delete|validate|transfer`.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use tandem_proto::v1 as pb;

use tandem_proto::v1::mapping_config_client::MappingConfigClient;

use super::client::{Answer as _, Authed, ClientArgs, Session};
use super::output;
use super::spec_file;

#[derive(clap::Args)]
pub struct IntegrationArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: IntegrationCommand,
}

/// The settings file and the connection ids that may stand in for the file's.
#[derive(clap::Args)]
struct FileArgs {
    /// The integration file (YAML, or JSON for a `.json` file); see examples/integration.yaml.
    #[arg(long, short)]
    file: PathBuf,
    /// Use this monday connection instead of the file's `monday_connection_id`.
    #[arg(long, value_name = "ID")]
    monday_connection: Option<String>,
    /// Use this Salesforce connection instead of the file's `salesforce_connection_id`.
    #[arg(long, value_name = "ID")]
    salesforce_connection: Option<String>,
}

impl FileArgs {
    fn spec(&self) -> anyhow::Result<pb::IntegrationSpec> {
        Ok(spec_file::read(&self.file)?
            .with_connections(
                self.monday_connection.clone(),
                self.salesforce_connection.clone(),
            )
            .into_spec())
    }
}

#[derive(clap::Subcommand)]
enum IntegrationCommand {
    /// Create an integration from a file; prints it with its new id.
    Create {
        #[command(flatten)]
        file: FileArgs,
        /// Create it paused: nothing syncs until `tandem sync resume ID`, so you can preview
        /// the initial import first (`tandem import ID --dry-run`).
        #[arg(long)]
        paused: bool,
    },
    /// Show one integration.
    Get {
        /// The integration id.
        id: String,
    },
    /// The integrations of your account.
    List {
        /// Only those syncing this monday board.
        #[arg(long)]
        board: Option<String>,
    },
    /// Replace an integration's settings with a file's.
    Update {
        /// The integration id.
        id: String,
        #[command(flatten)]
        file: FileArgs,
        /// Fail if the integration changed since this version (default: its current one).
        #[arg(long, value_name = "VERSION")]
        expect_version: Option<i64>,
    },
    /// Delete an integration (its run history stays until it expires).
    Delete {
        /// The integration id.
        id: String,
    },
    /// Check settings against the live board and object without saving; prints every
    /// problem with the setting it names and exits non-zero when there is one.
    Validate {
        /// Check an existing integration's stored settings instead of a file.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        id: Option<String>,
        /// The integration file to check.
        #[arg(long, short)]
        file: Option<PathBuf>,
        #[arg(long, value_name = "ID", requires = "file")]
        monday_connection: Option<String>,
        #[arg(long, value_name = "ID", requires = "file")]
        salesforce_connection: Option<String>,
    },
    /// Hand an integration to another user of the account.
    Transfer {
        /// The integration id.
        id: String,
        /// The new owner's email.
        #[arg(long, value_name = "EMAIL")]
        to: String,
        /// Fail if the integration changed since this version (default: its current one).
        #[arg(long, value_name = "VERSION")]
        expect_version: Option<i64>,
    },
}

pub async fn run(args: IntegrationArgs) -> anyhow::Result<()> {
    // A bad file is reported before anything is contacted.
    let spec = match &args.command {
        IntegrationCommand::Create { file, .. } | IntegrationCommand::Update { file, .. } => {
            Some(file.spec()?)
        }
        IntegrationCommand::Validate {
            file: Some(path),
            monday_connection,
            salesforce_connection,
            ..
        } => Some(
            spec_file::read(path)?
                .with_connections(monday_connection.clone(), salesforce_connection.clone())
                .into_spec(),
        ),
        _ => None,
    };
    let session = Session::new(&args.client).await?;
    let mut config = session.mapping_config().await?;
    let show = |integration: &pb::Integration| {
        if session.json() {
            output::print_json(&output::integration_json(integration));
        } else {
            output::print_integration(integration);
        }
    };
    match args.command {
        IntegrationCommand::Create { paused, .. } => {
            // Warnings (e.g. polling that would spend the monday plan's daily calls) are
            // shown on stderr; they do not stop the create.
            if let Some(spec) = &spec {
                let checked = config
                    .validate_integration(pb::ValidateIntegrationRequest {
                        spec: Some(spec.clone()),
                    })
                    .await
                    .answer()?;
                for w in &checked.warnings {
                    eprintln!("warning: {}: {}", w.field, w.message);
                }
            }
            let created = config
                .create_integration(pb::CreateIntegrationRequest { spec, paused })
                .await
                .answer()?;
            show(&created);
        }
        IntegrationCommand::Get { id } => {
            show(
                &config
                    .get_integration(pb::GetIntegrationRequest { id })
                    .await
                    .answer()?,
            );
        }
        IntegrationCommand::List { board } => {
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = config
                    .list_integrations(pb::ListIntegrationsRequest {
                        page: Some(pb::PageRequest {
                            page_size: None,
                            page_token,
                        }),
                        active_only: false,
                        board_id: board.clone().unwrap_or_default(),
                        ..Default::default()
                    })
                    .await
                    .answer()?;
                all.extend(page.integrations);
                page_token = page.page.map(|p| p.next_page_token).unwrap_or_default();
                if page_token.is_empty() {
                    break;
                }
            }
            if session.json() {
                output::print_json(&serde_json::Value::Array(
                    all.iter().map(output::integration_json).collect(),
                ));
            } else {
                output::integrations_table(&all).print();
            }
        }
        IntegrationCommand::Update {
            id, expect_version, ..
        } => {
            let version = version_of(&mut config, &id, expect_version).await?;
            let updated = config
                .update_integration(pb::UpdateIntegrationRequest { id, spec, version })
                .await
                .answer()?;
            show(&updated);
        }
        IntegrationCommand::Delete { id } => {
            config
                .delete_integration(pb::DeleteIntegrationRequest { id: id.clone() })
                .await
                .answer()?;
            if session.json() {
                output::print_json(&serde_json::json!({"id": id, "deleted": true}));
            } else {
                out!("deleted integration {id}");
            }
        }
        IntegrationCommand::Validate { id, .. } => {
            let spec = match (spec, id) {
                (Some(spec), _) => spec,
                (None, Some(id)) => config
                    .get_integration(pb::GetIntegrationRequest { id })
                    .await
                    .answer()?
                    .spec
                    .ok_or_else(|| anyhow!("the integration has no settings to validate"))?,
                (None, None) => bail!("pass an integration id or --file"),
            };
            let checked = config
                .validate_integration(pb::ValidateIntegrationRequest { spec: Some(spec) })
                .await
                .answer()?;
            print_validation(&session, &checked);
            if !checked.valid {
                bail!(
                    "the settings have {} problem(s)",
                    checked.problems.len().max(1)
                );
            }
        }
        IntegrationCommand::Transfer {
            id,
            to,
            expect_version,
        } => {
            let version = version_of(&mut config, &id, expect_version).await?;
            let moved = config
                .transfer_ownership(pb::TransferOwnershipRequest {
                    id,
                    new_owner: to,
                    version,
                })
                .await
                .answer()?;
            show(&moved);
        }
    }
    Ok(())
}

fn print_validation(session: &Session, checked: &pb::ValidateIntegrationResponse) {
    let listed = |found: &[pb::ValidationProblem]| -> Vec<serde_json::Value> {
        found
            .iter()
            .map(|p| serde_json::json!({"field": p.field, "message": p.message}))
            .collect()
    };
    if session.json() {
        output::print_json(&serde_json::json!({
            "valid": checked.valid,
            "problems": listed(&checked.problems),
            "warnings": listed(&checked.warnings),
        }));
        return;
    }
    if checked.valid {
        out!("valid");
    }
    if !checked.problems.is_empty() || !checked.warnings.is_empty() {
        let mut table = output::Table::new(&["FIELD", "PROBLEM"]);
        for p in &checked.problems {
            table.row(vec![p.field.clone(), p.message.clone()]);
        }
        for w in &checked.warnings {
            table.row(vec![w.field.clone(), format!("warning: {}", w.message)]);
        }
        table.print();
    }
}

/// The version an update applies to: the one given, else the integration's current one.
async fn version_of(
    config: &mut MappingConfigClient<Authed>,
    id: &str,
    expected: Option<i64>,
) -> anyhow::Result<i64> {
    match expected {
        Some(v) => Ok(v),
        None => Ok(config
            .get_integration(pb::GetIntegrationRequest { id: id.to_owned() })
            .await
            .answer()?
            .version),
    }
}
