//! Connector stand-ins served over real gRPC (behind the same token check as the real ones):
//! they count calls, record revocations and can be told to fail. The monday one checks the
//! token through mapping-config's GetCredentials, as connector-monday does.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tandem_proto::v1 as pb;
use tandem_proto::v1::mapping_config_client::MappingConfigClient;
use tandem_proto::v1::monday_connector_server::{MondayConnector, MondayConnectorServer};
use tandem_proto::v1::salesforce_connector_server::{
    SalesforceConnector, SalesforceConnectorServer,
};
use tandem_service::Identity;
use tandem_service::server::{Authenticate, GrpcServer};
use tandem_testkit::{Running, any_port, authorized, service_bearer, start};
use tonic::{Request, Response, Status};

pub const GOOD_CODE: &str = "good-code";
/// A code whose sign-in was to another org.
pub const OTHER_ORG_CODE: &str = "other-org-code";
pub const GOOD_MONDAY_TOKEN: &str = "monday-token-0123456789";
pub const BOARD: &str = "4242";

fn require_service<T>(request: &Request<T>) -> Result<(), Status> {
    match Identity::of(request)? {
        Identity::Service { .. } => Ok(()),
        Identity::User { .. } => Err(Status::permission_denied("connectors serve services only")),
    }
}

#[derive(Default)]
pub struct SalesforceState {
    pub refreshes: AtomicUsize,
    pub exchanges: AtomicUsize,
    pub fail_refresh: AtomicBool,
    pub revoked: Mutex<Vec<String>>,
    pub issued: Mutex<Vec<String>>,
}

#[derive(Clone)]
pub struct FakeSalesforce(pub Arc<SalesforceState>);

fn tokens(access: String, refresh: String) -> pb::ExchangeCodeResponse {
    pb::ExchangeCodeResponse {
        access_token: access,
        refresh_token: refresh,
        instance_url: "https://acme.my.salesforce.com".into(),
        identity_url: "https://login.salesforce.com/id/00D000000000001EAA/005000000000001AAA"
            .into(),
        org_id: "00D000000000001EAA".into(),
        user_id: "005000000000001AAA".into(),
        username: "admin@acme.test".into(),
        user_email: "admin@acme.test".into(),
        scopes: vec!["api".into(), "refresh_token".into()],
        issued_at: None,
    }
}

fn field(name: &str, kind: &str, required: bool, values: &[&str]) -> pb::SalesforceField {
    pb::SalesforceField {
        name: name.into(),
        label: name.into(),
        salesforce_type: kind.into(),
        kind: kind.into(),
        required,
        createable: kind != "formula" && kind != "id",
        updateable: kind != "formula" && kind != "id",
        picklist_values: values
            .iter()
            .map(|v| pb::PicklistValue {
                value: (*v).into(),
                label: (*v).into(),
                active: true,
            })
            .collect(),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl SalesforceConnector for FakeSalesforce {
    async fn authorize_url(
        &self,
        request: Request<pb::AuthorizeUrlRequest>,
    ) -> Result<Response<pb::AuthorizeUrlResponse>, Status> {
        require_service(&request)?;
        let r = request.into_inner();
        Ok(Response::new(pb::AuthorizeUrlResponse {
            url: format!(
                "https://{}.my.salesforce.com/services/oauth2/authorize?state={}",
                r.subdomain, r.state
            ),
        }))
    }

    async fn exchange_code(
        &self,
        request: Request<pb::ExchangeCodeRequest>,
    ) -> Result<Response<pb::ExchangeCodeResponse>, Status> {
        require_service(&request)?;
        let code = request.get_ref().code.clone();
        if code != GOOD_CODE && code != OTHER_ORG_CODE {
            return Err(Status::invalid_argument(
                "invalid_grant: invalid authorization code",
            ));
        }
        let n = self.0.exchanges.fetch_add(1, Ordering::SeqCst) + 1;
        let access = format!("00Dxx!ACCESS-{n}-{}", uuid::Uuid::new_v4().simple());
        self.0.issued.lock().unwrap().push(access.clone());
        let mut answer = tokens(access, format!("REFRESH-{n}-secret"));
        if code == OTHER_ORG_CODE {
            answer.org_id = "00D00000000OTHER".into();
        }
        Ok(Response::new(answer))
    }

    async fn refresh_token(
        &self,
        request: Request<pb::RefreshTokenRequest>,
    ) -> Result<Response<pb::ExchangeCodeResponse>, Status> {
        require_service(&request)?;
        let n = self.0.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
        if self.0.fail_refresh.load(Ordering::SeqCst) {
            return Err(Status::failed_precondition(
                "invalid_grant: expired access/refresh token",
            ));
        }
        // Slow enough that a concurrent caller arrives while this refresh is running.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let access = format!("00Dxx!REFRESHED-{n}");
        Ok(Response::new(tokens(access, format!("ROTATED-{n}-secret"))))
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::RevokeTokenResponse>, Status> {
        require_service(&request)?;
        self.0
            .revoked
            .lock()
            .unwrap()
            .push(request.into_inner().token);
        Ok(Response::new(pb::RevokeTokenResponse {}))
    }

    async fn describe_object(
        &self,
        request: Request<pb::DescribeObjectRequest>,
    ) -> Result<Response<pb::DescribeObjectResponse>, Status> {
        require_service(&request)?;
        if request.get_ref().object != "Opportunity" {
            return Err(Status::not_found(format!(
                "NOT_FOUND: sObject type '{}' is not supported",
                request.get_ref().object
            )));
        }
        Ok(Response::new(pb::DescribeObjectResponse {
            object: Some(pb::SObjectSummary {
                name: "Opportunity".into(),
                label: "Opportunity".into(),
                createable: true,
                updateable: true,
                ..Default::default()
            }),
            fields: vec![
                field("Id", "id", false, &[]),
                field("Name", "string", true, &[]),
                field(
                    "StageName",
                    "picklist",
                    true,
                    &["Prospecting", "Closed Won"],
                ),
                field("CloseDate", "date", true, &[]),
                field("Amount", "currency", false, &[]),
                field("Score__c", "formula", false, &[]),
                field("Description", "textarea", false, &[]),
            ],
            idempotency_field: String::new(),
        }))
    }
}

#[derive(Default)]
pub struct MondayState {
    pub list_users: AtomicUsize,
}

#[derive(Clone)]
pub struct FakeMonday {
    pub state: Arc<MondayState>,
    pub mapping_config_url: String,
}

fn column(id: &str, title: &str, kind: &str, labels: &[&str]) -> pb::MondayColumn {
    pb::MondayColumn {
        id: id.into(),
        title: title.into(),
        monday_type: kind.into(),
        kind: kind.into(),
        read_only: matches!(kind, "mirror" | "formula"),
        labels: labels.iter().map(|l| (*l).into()).collect(),
        label_ids: (0..labels.len() as i64).collect(),
    }
}

#[tonic::async_trait]
impl MondayConnector for FakeMonday {
    async fn get_board(
        &self,
        request: Request<pb::GetBoardRequest>,
    ) -> Result<Response<pb::GetBoardResponse>, Status> {
        require_service(&request)?;
        if request.get_ref().board_id != BOARD {
            return Err(Status::not_found(format!(
                "board {} does not exist",
                request.get_ref().board_id
            )));
        }
        Ok(Response::new(pb::GetBoardResponse {
            board_id: BOARD.into(),
            name: "Deals".into(),
            columns: vec![
                column("name", "Deal", "name", &[]),
                column("status", "Stage", "status", &["Prospecting", "Closed Won"]),
                column("date4", "Expected Close", "date", &[]),
                column("numbers", "Deal Value", "numbers", &[]),
                column("mirror", "Account Industry", "mirror", &[]),
                column("text_sfid", "Salesforce Id", "text", &[]),
            ],
            groups: vec![pb::MondayGroup {
                id: "topics".into(),
                title: "Deals".into(),
            }],
            // A Free plan: 200 API calls a day.
            account_tier: "free".into(),
        }))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        require_service(&request)?;
        self.state.list_users.fetch_add(1, Ordering::SeqCst);
        let channel = tonic::transport::Endpoint::from_shared(self.mapping_config_url.clone())
            .map_err(|e| Status::internal(e.to_string()))?
            .connect()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let credentials = MappingConfigClient::new(channel)
            .get_credentials(authorized(
                pb::GetCredentialsRequest {
                    connection_id: request.get_ref().connection_id.clone(),
                },
                &service_bearer("connector-monday"),
            ))
            .await?
            .into_inner();
        if credentials.access_token != GOOD_MONDAY_TOKEN {
            return Err(Status::unauthenticated("Not Authenticated"));
        }
        Ok(Response::new(pb::ListUsersResponse {
            users: vec![pb::MondayUser {
                id: "1".into(),
                name: "Ada".into(),
                email: "ada@acme.test".into(),
                enabled: true,
            }],
        }))
    }
}

pub struct Fakes {
    pub salesforce: Arc<SalesforceState>,
    pub monday: Arc<MondayState>,
    pub salesforce_server: Running,
    pub monday_server: Running,
}

pub async fn start_fakes(mapping_config_url: &str) -> Fakes {
    let salesforce = Arc::new(SalesforceState::default());
    let monday = Arc::new(MondayState::default());
    let auth = Authenticate::new(tandem_testkit::auth().verifier);
    let serve = |name: &'static str, routes: tonic::service::Routes, listener| GrpcServer {
        name,
        listener,
        tls: None,
        routes,
        health_names: Vec::new(),
        background: Vec::new(),
    };
    let sf_listener = tandem_service::server::bind(any_port()).await.unwrap();
    let salesforce_server = start(serve(
        "fake-connector-salesforce",
        tonic::service::Routes::new(auth.wrap(SalesforceConnectorServer::new(FakeSalesforce(
            salesforce.clone(),
        )))),
        sf_listener,
    ));
    let monday_listener = tandem_service::server::bind(any_port()).await.unwrap();
    let monday_server = start(serve(
        "fake-connector-monday",
        tonic::service::Routes::new(auth.wrap(MondayConnectorServer::new(FakeMonday {
            state: monday.clone(),
            mapping_config_url: mapping_config_url.to_owned(),
        }))),
        monday_listener,
    ));
    Fakes {
        salesforce,
        monday,
        salesforce_server,
        monday_server,
    }
}
