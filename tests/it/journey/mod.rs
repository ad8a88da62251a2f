//! Randomized journeys of a user through Tandem, with faults, checking after every step that
//! nothing was duplicated and nothing lost: from a seed, an integration's configuration (scope,
//! per-field directions, conditions, link key, conflict policy, created paused or not, records
//! from before it) and a journey of user actions (creates, edits, concurrent edits, deletes
//! and archives, imports with and without matching, dry runs, pause/resume, a mapping fix)
//! interleaved with faults (Salesforce 503s and expired tokens, monday 5xx and spent budgets,
//! the lease taken over mid-cycle). CI runs a few fixed seeds; `TANDEM_JOURNEY_SEED` and
//! `TANDEM_JOURNEY_STEPS` run any other. A failure prints the seed and the steps up to it (the
//! shortest failing prefix: invariants are checked after every step).

mod act;
mod check;
mod faults;
mod world;

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tandem_proto::v1 as pb;
use tandem_testkit::authorized;

use self::act::{create, edit};
use self::check::Seen;
use self::world::{Config, Field, Made, Model, Side, pick, value};
use crate::stack::{ORG, Stack, start_stack_with};

const SEEDS: [u64; 4] = [1, 4, 5, 9];
const STEPS: usize = 24;
/// Steps between two settles (a full convergence check).
const SETTLE_EVERY: usize = 8;

#[tokio::test(flavor = "multi_thread")]
async fn journeys_never_duplicate_or_lose_a_record() {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let seeds: Vec<u64> = env("TANDEM_JOURNEY_SEED").map_or(SEEDS.to_vec(), |s| vec![s]);
    let steps = env("TANDEM_JOURNEY_STEPS").map_or(STEPS, |n| n as usize);
    for seed in seeds {
        Journey::start(seed).await.run(steps).await;
    }
}

struct Journey {
    seed: u64,
    rng: StdRng,
    stack: Stack,
    pool: sqlx::PgPool,
    config: Config,
    model: Model,
    integration: pb::Integration,
    log: Vec<String>,
}

impl Journey {
    async fn start(seed: u64) -> Journey {
        let mut rng = StdRng::seed_from_u64(seed);
        let config = Config::draw(&mut rng);
        // Real time both ways: Salesforce change events and monday webhooks feed the buffer
        // beside the polls.
        let stack = start_stack_with(|c| {
            c.salesforce_change_events = config.realtime;
            c.monday_webhooks = config.realtime;
        })
        .await;
        stack.salesforce.ensure_org(ORG);
        let directory = act::prepare(&stack);
        let pool = sqlx::PgPool::connect(&stack.database_url).await.unwrap();
        let mut model = Model {
            directory,
            ..Model::default()
        };
        // Records from before the integration; some stand on both sides under one name.
        for _ in 0..config.pre_existing {
            let base = model.name(&mut rng, &config);
            let sides: &[Side] = match rng.random_range(0..3) {
                0 => &[Side::Salesforce],
                1 => &[Side::Monday],
                _ => &[Side::Salesforce, Side::Monday],
            };
            let mut twin = None;
            for side in sides {
                let id = create(&stack, &mut rng, &model.directory, *side, &base);
                if *side == Side::Salesforce {
                    twin = Some(id.clone());
                } else if let Some(sf) = twin.as_ref().filter(|_| config.link_key) {
                    stack
                        .monday
                        .set_values(id.parse().unwrap(), serde_json::json!({"sfid": sf}))
                        .unwrap();
                }
                match side {
                    Side::Salesforce => stack
                        .salesforce
                        .force_fields(
                            ORG,
                            &id,
                            serde_json::json!({"SystemModstamp": "2020-01-01T00:00:00.000+0000"}),
                        )
                        .unwrap(),
                    Side::Monday => stack
                        .monday
                        .set_updated_at(id.parse().unwrap(), time::OffsetDateTime::UNIX_EPOCH),
                }
                model.made.push(Made {
                    side: *side,
                    id,
                    base: base.clone(),
                    pre_existing: true,
                    should_cross: false,
                    gone: false,
                    orphaned: false,
                });
            }
        }
        let integration = if config.start_paused {
            stack
                .integration_paused_with(|spec| config.spec(spec))
                .await
        } else {
            stack.integration_with(|spec| config.spec(spec)).await
        };
        let mut journey = Journey {
            seed,
            rng,
            stack,
            pool,
            config,
            model,
            integration,
            log: Vec::new(),
        };
        journey.model.paused = journey.config.start_paused;
        // With a link key, a cycle pairs a changed twin with its partner by the key: twins may
        // be touched from the start.
        journey.model.twins_linked = journey.config.link_key;
        journey
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "journey seed {} failed: {what}\nconfiguration: {:#?}\nsteps (the shortest failing prefix):\n  {}\nrerun: TANDEM_JOURNEY_SEED={} TANDEM_JOURNEY_STEPS={} cargo nextest run -p tandem-e2e journeys",
            self.seed,
            self.config,
            self.log.join("\n  "),
            self.seed,
            self.log.len()
        )
    }

    async fn run(mut self, steps: usize) {
        for step in 0..steps {
            let paused = self.model.paused;
            let before = self.writes();
            let started = std::time::Instant::now();
            let read_only = self.step().await;
            if started.elapsed() > Duration::from_secs(2) {
                let took = format!(
                    "    (that step took {:.1} s)",
                    started.elapsed().as_secs_f64()
                );
                self.log.push(took);
            }
            let writes = self.writes() - before;
            if read_only && writes > 0 {
                self.fail(&format!(
                    "{writes} writes during a step that may write nothing"
                ));
            }
            if paused && self.model.paused && writes > 0 {
                self.fail(&format!("{writes} writes while paused"));
            }
            self.check().await;
            if step % SETTLE_EVERY == SETTLE_EVERY - 1 {
                self.settle().await;
            }
        }
        self.settle().await;
        if std::env::var_os("TANDEM_JOURNEY_VERBOSE").is_some() {
            eprintln!("journey seed {}:\n  {}", self.seed, self.log.join("\n  "));
        }
    }

    /// Writes both simulators served so far (Salesforce non-GET calls but token refreshes,
    /// monday mutations).
    fn writes(&self) -> usize {
        let sf = self
            .stack
            .salesforce
            .calls()
            .iter()
            // A token refresh is a POST that writes no record.
            .filter(|c| c.method != "GET" && !c.path.contains("/oauth2/"))
            .count();
        let mo = self
            .stack
            .monday
            .requests()
            .iter()
            .filter(|r| r.query.contains("mutation"))
            // Tandem registering its webhooks writes no record.
            .filter(|r| !r.query.contains("create_webhook") && !r.query.contains("delete_webhook"))
            .count();
        sf + mo
    }

    async fn seen(&self) -> Seen {
        match Seen::read(&self.stack, &self.pool, &self.integration.id).await {
            Ok(seen) => seen,
            Err(e) => self.fail(&e),
        }
    }

    async fn check(&self) {
        let seen = self.seen().await;
        if let Err(e) = check::every_step(&seen) {
            self.fail(&e);
        }
    }

    /// Resumes, clears faults, runs two cycles (which must succeed and converge), checks, then
    /// two quiet cycles that must write nothing.
    async fn settle(&mut self) {
        let started = std::time::Instant::now();
        self.settle_now().await;
        if started.elapsed() > Duration::from_secs(2) {
            let took = format!(
                "    (settling took {:.1} s)",
                started.elapsed().as_secs_f64()
            );
            self.log.push(took);
        }
    }

    async fn settle_now(&mut self) {
        self.log.push("settle".into());
        self.clear_faults();
        if self.model.paused {
            self.set_paused(false).await;
        }
        for _ in 0..2 {
            let started = std::time::Instant::now();
            if let Err(e) = self.cycle().await {
                self.fail(&format!("a cycle without faults failed: {e}"));
            }
            if started.elapsed() > Duration::from_secs(2) {
                let took = format!(
                    "    (a settling cycle took {:.1} s)",
                    started.elapsed().as_secs_f64()
                );
                self.log.push(took);
            }
        }
        let seen = self.seen().await;
        if let Err(e) = check::settled(&seen, &self.config, &self.model) {
            self.fail(&e);
        }
        // Records still failing (a value the other side cannot take) are retried, and a retry
        // writes nothing until the value can be taken: everything must stay still.
        for _ in 0..2 {
            let before = self.writes();
            let started = std::time::Instant::now();
            let quiet = self.cycle().await;
            if started.elapsed() > Duration::from_secs(2) {
                let took = format!(
                    "    (a quiet cycle took {:.1} s)",
                    started.elapsed().as_secs_f64()
                );
                self.log.push(took);
            }
            match quiet {
                Ok(run) => {
                    let c = run.counters.unwrap_or_default();
                    if c.created + c.updated > 0 || self.writes() > before {
                        let events = self.stack.events(&run).await;
                        let detail = self.pair_detail(&events).await;
                        self.fail(&format!("a quiet cycle wrote: {c:?} {events:#?}\n{detail}"));
                    }
                }
                Err(e) => self.fail(&format!("a quiet cycle failed: {e}")),
            }
        }
    }

    /// The links, failing records and both records of each event, for a failure message.
    async fn pair_detail(&self, events: &[pb::RecordEvent]) -> String {
        let mut out = String::new();
        for e in events {
            let (sf, mo) = if e.source_side == pb::Side::Salesforce as i32 {
                (&e.source_record_id, &e.target_record_id)
            } else {
                (&e.target_record_id, &e.source_record_id)
            };
            let link: Option<(serde_json::Value, Option<serde_json::Value>)> = sqlx::query_as::<
                _,
                (
                    sqlx::types::Json<serde_json::Value>,
                    Option<sqlx::types::Json<serde_json::Value>>,
                ),
            >(
                "SELECT shadow, pending_shadow FROM sync.links WHERE salesforce_id = $1",
            )
            .bind(sf)
            .fetch_optional(&self.pool)
            .await
            .unwrap()
            .map(|(s, p)| (s.0, p.map(|p| p.0)));
            let failing: Vec<(String, i32, String)> =
                sqlx::query_as("SELECT record_id, attempts, last_error FROM sync.failing_records")
                    .fetch_all(&self.pool)
                    .await
                    .unwrap();
            out.push_str(&format!(
                "salesforce {sf}: {:?}\nmonday {mo}: {:?}\nlink: {link:?}\nfailing: {failing:?}\n",
                self.stack.salesforce.record(ORG, sf),
                mo.parse().ok().and_then(|id| self.stack.monday.item(id)),
            ));
        }
        out
    }

    /// One random step; true when it may write nothing anywhere (a dry run).
    async fn step(&mut self) -> bool {
        match self.rng.random_range(0..100) {
            0..12 => self.create(Side::Salesforce),
            12..24 => self.create(Side::Monday),
            24..44 => self.edit(false),
            44..49 => self.edit(true),
            49..54 => self.delete(),
            54..69 => {
                self.log.push("cycle".into());
                let _ = self.cycle().await;
            }
            69..76 => return self.import().await,
            76..80 => {
                let pause = !self.model.paused;
                self.set_paused(pause).await;
            }
            80..93 => self.fault().await,
            93..96 if self.rng.random_bool(0.5) => self.take_over().await,
            93..96 => self.kill_mid_cycle().await,
            96..98 => self.transfer_and_back().await,
            _ => self.fix_mapping().await,
        }
        false
    }

    fn create(&mut self, side: Side) {
        let base = self.model.name(&mut self.rng, &self.config);
        let id = create(
            &self.stack,
            &mut self.rng,
            &self.model.directory,
            side,
            &base,
        );
        self.log.push(format!("create on {side:?}: {id} {base:?}"));
        let fields = self
            .config
            .fields()
            .into_iter()
            .filter(|f| self.config.flows_from(*f, side))
            .collect();
        self.model.expect.insert(id.clone(), fields);
        let should_cross = self.model.crosses(&self.config, side, &base);
        self.model.made.push(Made {
            side,
            id,
            base,
            pre_existing: false,
            should_cross,
            gone: false,
            orphaned: false,
        });
    }

    /// A user edits a record they made or its partner (`both`: the same field on both sides
    /// of a pair, before a cycle sees either).
    fn edit(&mut self, both: bool) {
        let touchable = self.model.touchable(None);
        let Some(&index) = pick(&mut self.rng, &touchable) else {
            return;
        };
        let made = self.model.made[index].clone();
        let partner = current_partner(&self.pool, &made);
        let sides: Vec<(Side, String)> = match (&partner, both) {
            (Some(p), true) => vec![(made.side, made.id.clone()), (made.side.other(), p.clone())],
            (Some(p), false) if self.rng.random_bool(0.5) => vec![(made.side.other(), p.clone())],
            _ => vec![(made.side, made.id.clone())],
        };
        let fields: Vec<Field> = self
            .config
            .fields()
            .into_iter()
            // The fallback column follows the owner; nobody edits it.
            .filter(|f| *f != Field::OwnerEmail)
            .filter(|f| sides.iter().all(|(s, _)| self.config.flows_from(*f, *s)))
            .filter(|f| *f != Field::Name || sides.iter().all(|(s, _)| *s == Side::Salesforce))
            .collect();
        let Some(&field) = pick(&mut self.rng, &fields) else {
            return;
        };
        let twin = made.pre_existing && twin_bases(&self.model).contains(&made.base);
        let mut emptied = false;
        // Emptying what is empty already, or setting what a record holds, changes nothing.
        let mut changed = false;
        for (side, id) in &sides {
            let v = value(&mut self.rng, field, *side, &self.model.directory);
            emptied |= v.is_null() || v == "";
            changed |= !act::changes_nothing(&self.stack, *side, id, field, &v);
            self.log.push(format!(
                "edit {field:?} on {side:?} {id} ({:?}) to {v}",
                made.base
            ));
            edit(&self.stack, *side, id, field, v, &mut self.rng);
            if *side == made.side && !made.should_cross {
                // A change: it crosses now if it may.
                let crosses = self.model.crosses(&self.config, made.side, &made.base);
                self.model.made[index].should_cross = crosses;
                if made.pre_existing {
                    // A one-sided record is created with what flows from its side; a twin is
                    // paired by its key and agrees on what flows both ways.
                    let fields = self
                        .config
                        .fields()
                        .into_iter()
                        .filter(|f| {
                            if twin {
                                self.config.flows[f] == (true, true)
                            } else {
                                self.config.flows_from(*f, made.side)
                            }
                        })
                        .collect();
                    self.model.expect.insert(made.id.clone(), fields);
                }
            }
        }
        // A value emptied on a twin not yet agreed on is no change (an empty side never
        // overwrites the other at pairing).
        if changed && !(twin && emptied) {
            self.model
                .expect
                .entry(made.id.clone())
                .or_default()
                .insert(field);
        }
        // The owner's email follows a Salesforce owner; an owner set from monday reaches the
        // fallback column only through a later Salesforce change.
        if field == Field::Owner && self.config.maps(Field::OwnerEmail) {
            let expected = self.model.expect.entry(made.id.clone()).or_default();
            if changed && sides.iter().all(|(s, _)| *s == Side::Salesforce) {
                expected.insert(Field::OwnerEmail);
            } else {
                expected.remove(&Field::OwnerEmail);
            }
        }
    }

    fn delete(&mut self) {
        let touchable = self.model.touchable(None);
        let Some(&index) = pick(&mut self.rng, &touchable) else {
            return;
        };
        let made = self.model.made[index].clone();
        let partner = current_partner(&self.pool, &made);
        let (side, id) = match &partner {
            Some(p) if self.rng.random_bool(0.5) => (made.side.other(), p.clone()),
            _ => (made.side, made.id.clone()),
        };
        let how = match side {
            Side::Salesforce => {
                self.stack.salesforce.delete(ORG, &id).unwrap();
                "delete"
            }
            Side::Monday if self.rng.random_bool(0.5) => {
                self.stack
                    .monday
                    .set_item_state(id.parse().unwrap(), "deleted");
                "delete"
            }
            Side::Monday => {
                self.stack
                    .monday
                    .set_item_state(id.parse().unwrap(), "archived");
                "archive"
            }
        };
        self.log
            .push(format!("{how} on {side:?} {id} ({:?})", made.base));
        // The record is gone (it may be one the user made, or a partner that is one too, as
        // pre-existing twins are); whoever it was linked to stays alone.
        let partner_of_gone = if id == made.id {
            partner.map(|p| (made.side.other(), p))
        } else {
            Some((made.side, made.id.clone()))
        };
        // A twin from an earlier setup names the deleted record in its link key: it is that
        // record's partner, left alone too.
        let gone_twin = self
            .model
            .made
            .iter()
            .find(|m| m.side == side && m.id == id && m.pre_existing)
            .map(|m| m.base.clone())
            .filter(|_| self.config.link_key);
        for m in &mut self.model.made {
            if m.side == side && m.id == id {
                m.gone = true;
            }
            if m.pre_existing && m.side != side && gone_twin.as_ref() == Some(&m.base) {
                m.orphaned = true;
            }
            if partner_of_gone
                .as_ref()
                .is_some_and(|(s, p)| m.side == *s && &m.id == p)
            {
                m.orphaned = true;
            }
        }
    }

    async fn import(&mut self) -> bool {
        let source = if self.rng.random_bool(0.5) {
            Side::Salesforce
        } else {
            Side::Monday
        };
        let dry_run = self.rng.random_bool(0.4);
        let twins_waiting = self.model.has_twins() && !self.model.twins_linked;
        let matching = (twins_waiting && !self.config.link_key) || self.rng.random_bool(0.3);
        self.log.push(format!(
            "import from {source:?}{}{}",
            if dry_run { ", dry run" } else { "" },
            if matching {
                ", matching name ↔ Name"
            } else {
                ""
            }
        ));
        let answer = self
            .stack
            .orchestrator
            .clone()
            .import(authorized(
                pb::ImportRequest {
                    integration_id: self.integration.id.clone(),
                    source: source.proto() as i32,
                    dry_run,
                    match_monday_column_id: if matching {
                        "name".into()
                    } else {
                        String::new()
                    },
                    match_salesforce_field: if matching {
                        "Name".into()
                    } else {
                        String::new()
                    },
                    ..Default::default()
                },
                &self.stack.bearer,
            ))
            .await;
        let run = match answer {
            Ok(r) => self.stack.run(&r.into_inner().run_id).await,
            Err(e) if self.model.paused && e.code() == tonic::Code::FailedPrecondition => {
                return dry_run;
            }
            Err(e) => self.fail(&format!("the import was refused: {e}")),
        };
        if dry_run || run.status == pb::RunStatus::Failed as i32 {
            return dry_run;
        }
        if matching || self.config.link_key {
            self.model.twins_linked = true;
        }
        let twins: std::collections::BTreeSet<String> = twin_bases(&self.model);
        // Pre-existing records still there: a twin whose partner was deleted pairs nothing
        // and is a record like any other.
        let alive: std::collections::BTreeSet<(Side, String)> = self
            .model
            .made
            .iter()
            .filter(|m| m.pre_existing && !m.gone)
            .map(|m| (m.side, m.base.clone()))
            .collect();
        for m in self.model.made.iter_mut().filter(|m| !m.gone) {
            let crosses = self.config.creates_from(m.side)
                && (!self.config.conditions || m.base.starts_with("Open"));
            let paired = alive.contains(&(m.side.other(), m.base.clone()));
            if m.pre_existing
                && twins.contains(&m.base)
                && paired
                && (matching || self.config.link_key)
            {
                m.should_cross = !self.config.conditions || m.base.starts_with("Open");
                // Relinked pairs agree on what flows both ways (a side's empty value is no
                // change, so a one-way field keeps what the target held).
                let both = self
                    .config
                    .fields()
                    .into_iter()
                    .filter(|f| self.config.flows[f] == (true, true))
                    .filter(|_| m.should_cross)
                    .collect();
                self.model.expect.insert(m.id.clone(), both);
            } else if m.side == source && crosses && !m.should_cross {
                m.should_cross = true;
                let fields = self
                    .config
                    .fields()
                    .into_iter()
                    .filter(|f| self.config.flows_from(*f, m.side))
                    .collect();
                self.model.expect.insert(m.id.clone(), fields);
            }
        }
        false
    }

    async fn set_paused(&mut self, paused: bool) {
        self.log
            .push(if paused { "pause" } else { "resume" }.into());
        let mut orchestrator = self.stack.orchestrator.clone();
        let id = self.integration.id.clone();
        let answer = if paused {
            orchestrator
                .pause_integration(authorized(
                    pb::PauseIntegrationRequest {
                        integration_id: id,
                        reason: "journey".into(),
                    },
                    &self.stack.bearer,
                ))
                .await
        } else {
            orchestrator
                .resume_integration(authorized(
                    pb::ResumeIntegrationRequest { integration_id: id },
                    &self.stack.bearer,
                ))
                .await
        };
        if let Err(e) = answer {
            self.fail(&format!("pause/resume refused: {e}"));
        }
        self.model.paused = paused;
        self.integration = self.current().await;
    }

    async fn current(&self) -> pb::Integration {
        self.stack
            .config
            .clone()
            .get_integration(authorized(
                pb::GetIntegrationRequest {
                    id: self.integration.id.clone(),
                },
                &self.stack.bearer,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    async fn cycle(&mut self) -> Result<pb::Run, tonic::Status> {
        let run = self.cycle_quietly().await;
        if let Ok(run) = &run {
            let events = self.stack.events(run).await;
            let moved: Vec<String> = events
                .iter()
                .filter(|e| e.action != pb::EventAction::Skipped as i32)
                .map(|e| {
                    let changes: Vec<String> = e
                        .changes
                        .iter()
                        .map(|c| format!("{} {}→{}", c.field, c.before, c.after))
                        .collect();
                    format!(
                        "{}:{}→{} {} {}",
                        pb::EventAction::try_from(e.action).map_or("?", |a| a.as_str_name()),
                        e.source_record_id,
                        e.target_record_id,
                        e.reason,
                        changes.join(", ")
                    )
                })
                .collect();
            if !moved.is_empty() {
                self.log.push(format!("    ↳ {}", moved.join("; ")));
            }
        }
        run
    }

    async fn cycle_quietly(&self) -> Result<pb::Run, tonic::Status> {
        let run_id = self
            .stack
            .orchestrator
            .clone()
            .sync_now(authorized(
                pb::SyncNowRequest {
                    integration_id: self.integration.id.clone(),
                },
                &self.stack.bearer,
            ))
            .await?
            .into_inner()
            .run_id;
        Ok(self.stack.run(&run_id).await)
    }

    /// The owner hands the integration to a colleague, who hands it back: meanwhile the owner
    /// may not sync it, and it comes back paused (its connections were the owner's) until
    /// resumed.
    async fn transfer_and_back(&mut self) {
        let bob = tandem_testkit::user_bearer_in("acme", "bob@acme.test");
        let transfer = |version: i64, to: &str, bearer: &str| {
            authorized(
                pb::TransferOwnershipRequest {
                    id: self.integration.id.clone(),
                    new_owner: to.to_owned(),
                    version,
                },
                bearer,
            )
        };
        let current = self.current().await;
        let mut config = self.stack.config.clone();
        let moved = match config
            .transfer_ownership(transfer(
                current.version,
                "bob@acme.test",
                &self.stack.bearer,
            ))
            .await
        {
            Ok(m) => m.into_inner(),
            Err(e) => self.fail(&format!("the transfer was refused: {e}")),
        };
        let denied = self.cycle_quietly().await.err().map(|e| e.code());
        let back = match config
            .transfer_ownership(transfer(moved.version, "ada@acme.test", &bob))
            .await
        {
            Ok(b) => b.into_inner(),
            Err(e) => self.fail(&format!("the transfer back was refused: {e}")),
        };
        self.log.push(format!(
            "transfer to bob and back (ada's SyncNow meanwhile: {denied:?}); now {:?}",
            back.state()
        ));
        if denied != Some(tonic::Code::PermissionDenied) {
            self.fail("the previous owner could still sync the integration");
        }
        self.model.paused = back.state() == pb::IntegrationState::Paused;
        self.integration = back;
    }

    /// The user lets Tandem create status labels the board lacks: records stuck on a stage
    /// monday did not know cross on the next cycle.
    async fn fix_mapping(&mut self) {
        if self.model.labels_created {
            return;
        }
        self.log
            .push("mapping fix: create missing status labels".into());
        self.integration = self.current().await;
        self.integration = self
            .stack
            .update(&self.integration, |spec| {
                for m in &mut spec.mappings {
                    if m.monday_column_id == "status" {
                        m.options = Some(pb::ConversionOptions {
                            create_missing_labels: true,
                            ..Default::default()
                        });
                    }
                }
            })
            .await;
        self.model.labels_created = true;
        self.model.paused = self.integration.state() == pb::IntegrationState::Paused;
    }
}

fn twin_bases(model: &Model) -> std::collections::BTreeSet<String> {
    let on = |side: Side| -> std::collections::BTreeSet<String> {
        model
            .made
            .iter()
            .filter(|m| m.pre_existing && m.side == side)
            .map(|m| m.base.clone())
            .collect()
    };
    on(Side::Salesforce)
        .intersection(&on(Side::Monday))
        .cloned()
        .collect()
}

/// The current partner of a record the user made, from the links (blocking read).
fn current_partner(pool: &sqlx::PgPool, made: &Made) -> Option<String> {
    let query = match made.side {
        Side::Salesforce => {
            "SELECT monday_item_id FROM sync.links WHERE salesforce_id = $1 AND unlinked_at IS NULL"
        }
        Side::Monday => {
            "SELECT salesforce_id FROM sync.links WHERE monday_item_id = $1 AND unlinked_at IS NULL"
        }
    };
    let pool = pool.clone();
    let id = made.id.clone();
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async move {
            sqlx::query_scalar::<_, String>(query)
                .bind(id)
                .fetch_optional(&pool)
                .await
                .unwrap()
        })
    })
}
