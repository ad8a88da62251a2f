//! `tandem mapping suggest`: proposed column ↔ field pairs, with confidence.

use anyhow::bail;
use tandem_proto::v1 as pb;

use super::client::{Answer as _, Authed, ClientArgs, Session};
use super::output;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;

#[derive(clap::Args)]
pub struct MappingArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: MappingCommand,
}

#[derive(clap::Subcommand)]
enum MappingCommand {
    /// Propose mappings between a monday board and a Salesforce object.
    Suggest {
        /// The monday board id.
        #[arg(long)]
        board: String,
        /// The Salesforce object's API name (e.g. Opportunity).
        #[arg(long)]
        object: String,
        /// The monday connection that can read the board (default: your only active one).
        #[arg(long, value_name = "ID")]
        monday_connection: Option<String>,
        /// The Salesforce connection that can describe the object (default: your only active one).
        #[arg(long, value_name = "ID")]
        salesforce_connection: Option<String>,
    },
}

pub async fn run(args: MappingArgs) -> anyhow::Result<()> {
    let session = Session::new(&args.client).await?;
    let MappingCommand::Suggest {
        board,
        object,
        monday_connection,
        salesforce_connection,
    } = args.command;
    let mut config = session.mapping_config().await?;
    let monday_connection_id = match monday_connection {
        Some(id) => id,
        None => only_connection(&mut config, pb::ConnectionKind::Monday).await?,
    };
    let salesforce_connection_id = match salesforce_connection {
        Some(id) => id,
        None => only_connection(&mut config, pb::ConnectionKind::Salesforce).await?,
    };
    let suggested = config
        .suggest_mapping(pb::SuggestMappingRequest {
            monday_connection_id,
            board_id: board,
            salesforce_connection_id,
            salesforce_object: object,
        })
        .await
        .answer()?;
    if session.json() {
        output::print_json(&output::suggestions_json(&suggested));
    } else {
        output::print_suggestions(&suggested);
    }
    Ok(())
}

/// The caller's single active connection of `kind`; with none or several, the flag is needed.
async fn only_connection(
    config: &mut MappingConfigClient<Authed>,
    kind: pb::ConnectionKind,
) -> anyhow::Result<String> {
    let (name, flag) = match kind {
        pb::ConnectionKind::Salesforce => ("Salesforce", "--salesforce-connection"),
        _ => ("monday", "--monday-connection"),
    };
    let found: Vec<pb::Connection> = super::connect::all_connections(config)
        .await?
        .into_iter()
        .filter(|c| c.kind == kind as i32 && c.state == pb::ConnectionState::Active as i32)
        .collect();
    match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => bail!(
            "you have no active {name} connection: run `tandem connect` first or pass {flag} ID"
        ),
        many => bail!(
            "you have {} active {name} connections: pass {flag} ID (see `tandem connect list`)",
            many.len()
        ),
    }
}
