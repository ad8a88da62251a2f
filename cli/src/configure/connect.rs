//! `tandem connect salesforce|monday`: make a connection (and `connect list|get|delete`).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail};
use tandem_proto::v1 as pb;

use super::callback::{Callback, Listener};
use tandem_proto::v1::mapping_config_client::MappingConfigClient;

use super::client::{Answer as _, Authed, ClientArgs, Session};
use super::output;

#[derive(clap::Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(subcommand)]
    command: ConnectCommand,
}

#[derive(clap::Subcommand)]
enum ConnectCommand {
    /// Connect a Salesforce org: prints the URL to authorize in a browser, receives the
    /// callback on a local port, and stores the connection.
    Salesforce(SalesforceArgs),
    /// Connect a monday account with an API token read from an environment variable.
    Monday(MondayArgs),
    /// The connections you own (an account admin sees the account's).
    List,
    /// One connection.
    Get {
        /// The connection id.
        id: String,
    },
    /// Revoke and delete a connection; the integrations using it pause.
    Delete {
        /// The connection id.
        id: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Environment {
    Production,
    Sandbox,
    Developer,
}

#[derive(clap::Args)]
struct SalesforceArgs {
    /// The org's My Domain subdomain (`acme` for acme.my.salesforce.com).
    #[arg(long)]
    subdomain: String,
    /// Which kind of org the subdomain is.
    #[arg(long, value_enum, default_value = "production")]
    environment: Environment,
    /// Where to receive the OAuth callback; port 0 picks a free port. The redirect URI
    /// (`http://ADDR/callback`) must be allowed in the connected app.
    #[arg(long, default_value = "127.0.0.1:8765")]
    listen: SocketAddr,
    /// How many seconds to wait for the browser to come back.
    #[arg(long, default_value_t = 600)]
    wait_seconds: u64,
    /// Re-authenticate this existing connection instead of making a new one.
    #[arg(long)]
    reconnect: Option<String>,
}

#[derive(clap::Args)]
struct MondayArgs {
    /// The environment variable that holds the monday API token (never printed).
    #[arg(long, value_name = "VAR")]
    token_env: String,
}

pub async fn run(args: ConnectArgs) -> anyhow::Result<()> {
    let session = Session::new(&args.client).await?;
    match args.command {
        ConnectCommand::Salesforce(sf) => salesforce(&session, sf).await,
        ConnectCommand::Monday(m) => monday(&session, m).await,
        ConnectCommand::List => list(&session).await,
        ConnectCommand::Get { id } => {
            let connection = session
                .mapping_config()
                .await?
                .get_connection(pb::GetConnectionRequest { id })
                .await
                .answer()?;
            show(&session, &connection);
            Ok(())
        }
        ConnectCommand::Delete { id } => {
            let deleted = session
                .mapping_config()
                .await?
                .delete_connection(pb::DeleteConnectionRequest { id: id.clone() })
                .await
                .answer()?;
            if session.json() {
                output::print_json(&serde_json::json!({
                    "id": id,
                    "paused_integration_ids": deleted.paused_integration_ids,
                }));
            } else {
                out!("deleted connection {id}");
                for paused in deleted.paused_integration_ids {
                    out!("paused integration {paused}");
                }
            }
            Ok(())
        }
    }
}

fn show(session: &Session, connection: &pb::Connection) {
    if session.json() {
        output::print_json(&output::connection_json(connection));
    } else {
        output::print_connection(connection);
    }
}

async fn salesforce(session: &Session, args: SalesforceArgs) -> anyhow::Result<()> {
    let listener = Listener::bind(args.listen).await?;
    let redirect_uri = listener.redirect_uri()?;
    let mut config = session.mapping_config().await?;
    let started = config
        .create_connection(pb::CreateConnectionRequest {
            kind: pb::ConnectionKind::Salesforce as i32,
            subdomain: args.subdomain,
            environment: match args.environment {
                Environment::Production => pb::SalesforceEnvironment::Production,
                Environment::Sandbox => pb::SalesforceEnvironment::Sandbox,
                Environment::Developer => pb::SalesforceEnvironment::Developer,
            } as i32,
            redirect_uri: redirect_uri.clone(),
            reconnect_id: args.reconnect.unwrap_or_default(),
            ..Default::default()
        })
        .await
        .answer()?;
    if started.authorize_url.is_empty() || started.state.is_empty() {
        bail!("mapping-config started no OAuth flow (no authorize URL in its answer)");
    }
    // With --json, stdout is the connection document only; the instructions go to stderr.
    let say = |line: &str| {
        if session.json() {
            eprintln!("{line}");
        } else {
            out!("{line}");
        }
    };
    say(&format!("Redirect URI: {redirect_uri}"));
    say("Open this URL in a browser and approve access:");
    say(&started.authorize_url);
    say("Waiting for the callback…");
    let wait = Duration::from_secs(args.wait_seconds);
    let (callback, pending) = tokio::time::timeout(wait, listener.next(&started.state))
        .await
        .map_err(|_| {
            anyhow!(
                "no OAuth callback on {redirect_uri} within {} s; run the command again",
                args.wait_seconds
            )
        })??;
    let (code, state) = match callback {
        Callback::Code { code, state } => (code, state),
        Callback::Refused { error, description } => {
            pending
                .answer(
                    false,
                    "Salesforce did not authorize Tandem. Close this tab.",
                )
                .await;
            bail!("Salesforce refused the authorization: {error} {description}");
        }
    };
    let completed = config
        .complete_salesforce_connection(pb::CompleteSalesforceConnectionRequest { state, code })
        .await
        .answer();
    match completed {
        Ok(connection) => {
            pending
                .answer(
                    true,
                    "Tandem is connected to Salesforce. You can close this tab.",
                )
                .await;
            if !session.json() {
                out!("Connected.");
            }
            show(session, &connection);
            Ok(())
        }
        Err(e) => {
            pending
                .answer(false, &format!("The connection failed: {e}"))
                .await;
            Err(e)
        }
    }
}

async fn monday(session: &Session, args: MondayArgs) -> anyhow::Result<()> {
    let token = std::env::var(&args.token_env)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            anyhow!(
                "environment variable {} is not set (it should hold the monday API token)",
                args.token_env
            )
        })?;
    let created = session
        .mapping_config()
        .await?
        .create_connection(pb::CreateConnectionRequest {
            kind: pb::ConnectionKind::Monday as i32,
            monday_token: token.trim().to_owned(),
            ..Default::default()
        })
        .await
        .answer()?;
    let connection = created
        .connection
        .ok_or_else(|| anyhow!("mapping-config answered without the connection"))?;
    show(session, &connection);
    Ok(())
}

/// Every connection the caller may see, through all pages.
pub async fn all_connections(
    config: &mut MappingConfigClient<Authed>,
) -> anyhow::Result<Vec<pb::Connection>> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = config
            .list_connections(pb::ListConnectionsRequest {
                page: Some(pb::PageRequest {
                    page_size: None,
                    page_token,
                }),
            })
            .await
            .answer()?;
        all.extend(page.connections);
        page_token = page.page.map(|p| p.next_page_token).unwrap_or_default();
        if page_token.is_empty() {
            return Ok(all);
        }
    }
}

async fn list(session: &Session) -> anyhow::Result<()> {
    let mut config = session.mapping_config().await?;
    let all = all_connections(&mut config).await?;
    if session.json() {
        output::print_json(&serde_json::Value::Array(
            all.iter().map(output::connection_json).collect(),
        ));
        return Ok(());
    }
    let mut table = output::Table::new(&["ID", "KIND", "STATE", "OWNER", "DETAIL"]);
    for c in &all {
        let detail = if c.kind == pb::ConnectionKind::Salesforce as i32 {
            format!("{} ({})", c.subdomain, c.salesforce_username)
        } else {
            c.monday_user_email.clone()
        };
        table.row(vec![
            c.id.clone(),
            output::connection_kind(c.kind).unwrap_or_default(),
            output::connection_state(c.state).unwrap_or_default(),
            c.owner.clone(),
            detail,
        ]);
    }
    table.print();
    Ok(())
}
