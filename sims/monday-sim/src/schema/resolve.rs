//! Field resolvers for reads: root queries and every object type's fields.

use serde_json::{Map, Value, json};

use super::exec::{Ctx, Obj, Resolved, Val, leaf, obj, opt_s, s};
use super::stand_ins::{account_admin, revision};
use crate::errors::ApiError;
use crate::items_query::{self, Selection};
use crate::store::{Remaining, iso_seconds, now};

pub fn id_arg(args: &Map<String, Value>, name: &str) -> Option<i64> {
    match args.get(name)? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

pub fn ids_arg(args: &Map<String, Value>, name: &str) -> Option<Vec<i64>> {
    args.get(name).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| {
                v.as_str()
                    .and_then(|s| s.trim().parse().ok())
                    .or_else(|| v.as_i64())
            })
            .collect()
    })
}

fn str_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Value::as_str)
}

fn int_arg(args: &Map<String, Value>, name: &str) -> Option<i64> {
    args.get(name).and_then(Value::as_i64)
}

fn page<T: Clone>(all: Vec<T>, limit: Option<i64>, page: Option<i64>) -> Vec<T> {
    let Some(limit) = limit.filter(|l| *l > 0) else {
        return all;
    };
    let page = page.unwrap_or(1).max(1);
    all.into_iter()
        .skip(((page - 1) * limit) as usize)
        .take(limit as usize)
        .collect()
}

pub fn resolve(ctx: &mut Ctx<'_>, o: &Obj, field: &str, args: &Map<String, Value>) -> Resolved {
    match o {
        Obj::Root => root(ctx, field, args),
        Obj::Board(id) => board(ctx, *id, field, args),
        Obj::Column(b, c) => column(ctx, *b, c, field),
        Obj::Group(b, g) => group(ctx, *b, g, field, args),
        Obj::Item(id) => item(ctx, *id, field, args),
        Obj::Cell(i, c) => super::cell::cell(ctx, *i, c, field),
        Obj::Items { cursor, ids } => Ok(match field {
            "cursor" => opt_s(cursor.clone()),
            _ => Val::List(ids.iter().map(|i| obj(Obj::Item(*i))).collect()),
        }),
        Obj::User(id) => user(ctx, *id, field, args),
        Obj::Account(id) => {
            let a = ctx
                .store
                .accounts
                .get(id)
                .cloned()
                .ok_or_else(|| ApiError::resource_not_found("Account", &id.to_string()))?;
            Ok(match field {
                "id" => leaf(a.id),
                "name" => s(a.name),
                "slug" => s(a.slug),
                "tier" => s(a.tier),
                "first_day_of_the_week" => s("monday"),
                "show_timeline_weekends" => leaf(true),
                "active_members_count" => leaf(
                    ctx.store
                        .users
                        .values()
                        .filter(|u| u.account_id == *id && u.enabled)
                        .count() as i64,
                ),
                _ => Val::Empty,
            })
        }
        Obj::Workspace(id) => Ok(match field {
            "id" => leaf(*id),
            "name" => s("Main workspace"),
            "kind" => s("open"),
            "state" => s("active"),
            "is_default_workspace" => leaf(true),
            _ => Val::Empty,
        }),
        Obj::Version(v) => Ok(match field {
            "value" | "display_name" => s(v.clone()),
            _ => s("current"),
        }),
        Obj::Complexity => {
            let c = ctx.charge;
            Ok(leaf(match field {
                "query" => c.query,
                "before" => c.before,
                "after" => c.after,
                _ => c.reset_in_x_seconds,
            }))
        }
        Obj::Webhook(w) => Ok(match field {
            "id" => leaf(w.id),
            "board_id" => leaf(w.board_id),
            "event" => s(w.event.clone()),
            _ => opt_s(w.config.clone()),
        }),
        Obj::LabelStyle(color, border) => Ok(s(if field == "color" {
            color.clone()
        } else {
            border.clone()
        })),
        Obj::DropdownOption(id, label) => Ok(if field == "id" {
            leaf(*id)
        } else {
            s(label.clone())
        }),
        Obj::PeopleEntity(id, kind) => Ok(if field == "id" {
            leaf(*id)
        } else {
            s(kind.clone())
        }),
        Obj::Blank(_) => Ok(Val::Empty),
    }
}

fn root(ctx: &mut Ctx<'_>, field: &str, args: &Map<String, Value>) -> Resolved {
    let account = ctx.owner.account_id;
    match field {
        "boards" => {
            let ids = ids_arg(args, "ids");
            let state = str_arg(args, "state").unwrap_or("active");
            let boards: Vec<i64> = ctx
                .store
                .boards
                .values()
                .filter(|b| b.account_id == account)
                .filter(|b| ids.as_ref().is_none_or(|ids| ids.contains(&b.id)))
                .filter(|b| state == "all" || b.state == state)
                .map(|b| b.id)
                .collect();
            let boards = page(boards, int_arg(args, "limit"), int_arg(args, "page"));
            Ok(Val::List(
                boards.into_iter().map(|b| obj(Obj::Board(b))).collect(),
            ))
        }
        "items" => {
            let Some(ids) = ids_arg(args, "ids") else {
                return Ok(Val::List(vec![]));
            };
            if ids.len() > 100 {
                return Err(ApiError::invalid_argument("Maximum 100 ids allowed"));
            }
            let exclude = args
                .get("exclude_nonactive")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let mut found: Vec<i64> = ids
                .into_iter()
                .filter(|i| {
                    ctx.store
                        .item_of_account(account, *i)
                        .is_some_and(|it| !exclude || it.state == "active")
                })
                .collect();
            if args
                .get("newest_first")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                found.sort_by(|a, b| b.cmp(a));
            }
            let found = page(found, int_arg(args, "limit"), int_arg(args, "page"));
            Ok(Val::List(
                found.into_iter().map(|i| obj(Obj::Item(i))).collect(),
            ))
        }
        "next_items_page" => {
            let token = str_arg(args, "cursor").unwrap_or_default();
            let limit = int_arg(args, "limit").unwrap_or(25);
            check_limit(limit)?;
            let c = match ctx.store.cursor(token, account, ctx.cursor_ttl) {
                Ok(c) => c.clone(),
                Err(true) => return Err(ApiError::cursor_expired()),
                Err(false) => return Err(ApiError::invalid_cursor()),
            };
            Ok(page_of(ctx, &c.remaining, limit, c.issued_at))
        }
        "items_page_by_column_values" => {
            if let Some(token) = str_arg(args, "cursor") {
                let mut a = args.clone();
                a.insert("cursor".into(), json!(token));
                return root(ctx, "next_items_page", &a);
            }
            let board_id = id_arg(args, "board_id").unwrap_or_default();
            let board = ctx
                .store
                .board_of_account(account, board_id)
                .cloned()
                .ok_or_else(|| ApiError::board_not_found(&board_id.to_string()))?;
            let limit = int_arg(args, "limit").unwrap_or(25);
            check_limit(limit)?;
            let ids = items_query::by_column_values(
                ctx.store,
                &board,
                args.get("columns").unwrap_or(&Value::Null),
            )?;
            let all = Remaining::Snapshot {
                ids: ids.into(),
                next: 0,
            };
            Ok(page_of(ctx, &all, limit, now()))
        }
        "users" => {
            let ids = ids_arg(args, "ids");
            let emails: Option<Vec<String>> =
                args.get("emails").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_lowercase))
                        .collect()
                });
            let name = str_arg(args, "name").map(str::to_lowercase);
            let kind = str_arg(args, "kind").unwrap_or("all");
            let non_active = args
                .get("non_active")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let mut users: Vec<i64> = ctx
                .store
                .users
                .values()
                .filter(|u| u.account_id == account)
                .filter(|u| ids.as_ref().is_none_or(|ids| ids.contains(&u.id)))
                .filter(|u| {
                    emails
                        .as_ref()
                        .is_none_or(|e| e.contains(&u.email.to_lowercase()))
                })
                .filter(|u| {
                    name.as_ref()
                        .is_none_or(|n| u.name.to_lowercase().contains(n))
                })
                .filter(|u| match kind {
                    "guests" => u.is_guest,
                    "non_guests" => !u.is_guest,
                    _ => true,
                })
                .filter(|u| if non_active { !u.enabled } else { true })
                .map(|u| u.id)
                .collect();
            if args
                .get("newest_first")
                .and_then(Value::as_bool)
                .unwrap_or(false)
            {
                users.reverse();
            }
            let users = page(users, int_arg(args, "limit"), int_arg(args, "page"));
            Ok(Val::List(
                users.into_iter().map(|u| obj(Obj::User(u))).collect(),
            ))
        }
        "me" => Ok(obj(Obj::User(ctx.owner.user_id))),
        "account" => Ok(obj(Obj::Account(account))),
        "complexity" => Ok(obj(Obj::Complexity)),
        "version" => Ok(obj(Obj::Version(ctx.api_version.clone()))),
        "webhooks" => {
            let board = id_arg(args, "board_id").unwrap_or_default();
            let hooks: Vec<Val> = ctx
                .store
                .webhooks
                .values()
                .filter(|w| w.board_id == board && w.account_id == account)
                .map(|w| obj(Obj::Webhook(w.clone())))
                .collect();
            Ok(Val::List(hooks))
        }
        _ => Ok(Val::Null),
    }
}

fn check_limit(limit: i64) -> Result<(), ApiError> {
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_argument(
            "limit must be between 1 and 500",
        ));
    }
    Ok(())
}

/// One page of what remains of a query; the rest goes behind a new cursor (expiry counted
/// from `issued_at`, when the query's first page was served).
fn page_of(
    ctx: &mut Ctx<'_>,
    remaining: &Remaining,
    limit: i64,
    issued_at: time::OffsetDateTime,
) -> Val {
    let (ids, rest) = ctx.store.take_page(remaining, limit as usize);
    let cursor = rest.map(|rest| {
        ctx.store
            .issue_cursor(ctx.owner.account_id, rest, issued_at)
    });
    obj(Obj::Items { cursor, ids })
}

fn items_page(
    ctx: &mut Ctx<'_>,
    board_id: i64,
    group: Option<&str>,
    args: &Map<String, Value>,
) -> Resolved {
    let limit = int_arg(args, "limit").unwrap_or(25);
    check_limit(limit)?;
    if args.contains_key("cursor") && args.contains_key("query_params") {
        return Err(ApiError::invalid_argument(
            "cursor and query_params cannot be used together",
        ));
    }
    if let Some(token) = str_arg(args, "cursor") {
        let mut a = args.clone();
        a.insert("cursor".into(), json!(token));
        return root(ctx, "next_items_page", &a);
    }
    let board = ctx
        .store
        .boards
        .get(&board_id)
        .ok_or_else(|| ApiError::board_not_found(&board_id.to_string()))?;
    let query = args.get("query_params").unwrap_or(&Value::Null);
    let all = match items_query::run(ctx.store, board, group, query)? {
        Selection::BoardOrder => Remaining::BoardOrder {
            board_id,
            group: group.map(str::to_string),
            after: i64::MIN,
            high_water: ctx
                .store
                .items
                .board(board_id)
                .and_then(|b| b.all.last().copied())
                .unwrap_or(i64::MIN),
        },
        Selection::Ids(ids) => Remaining::Snapshot {
            ids: ids.into(),
            next: 0,
        },
    };
    Ok(page_of(ctx, &all, limit, now()))
}

fn board(ctx: &mut Ctx<'_>, id: i64, field: &str, args: &Map<String, Value>) -> Resolved {
    let b = ctx
        .store
        .boards
        .get(&id)
        .ok_or_else(|| ApiError::board_not_found(&id.to_string()))?;
    let slug = ctx
        .store
        .accounts
        .get(&b.account_id)
        .map(|a| a.slug.clone())
        .unwrap_or_default();
    Ok(match field {
        "id" => leaf(id),
        "name" => s(b.name.clone()),
        "state" => s(b.state.clone()),
        "board_kind" => s(b.kind.clone()),
        "description" => opt_s(b.description.clone()),
        "created_at" => s(iso_seconds(b.created_at)),
        "updated_at" => s(iso_seconds(b.updated_at)),
        "url" => s(format!("https://{slug}.monday.com/boards/{id}")),
        "workspace" => obj(Obj::Workspace(b.account_id)),
        "workspace_id" => leaf(b.account_id),
        "items_count" => leaf(ctx.store.active_count(id, None) as i64),
        "columns" => {
            let ids: Option<Vec<String>> = args.get("ids").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            });
            let types: Option<Vec<String>> = args.get("types").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            });
            Val::List(
                b.columns
                    .iter()
                    .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.spec.id)))
                    .filter(|c| types.as_ref().is_none_or(|t| t.contains(&c.spec.kind)))
                    .map(|c| obj(Obj::Column(id, c.spec.id.clone())))
                    .collect(),
            )
        }
        "groups" => {
            let ids: Option<Vec<String>> = args.get("ids").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            });
            Val::List(
                b.groups
                    .iter()
                    .filter(|g| ids.as_ref().is_none_or(|ids| ids.contains(&g.id)))
                    .map(|g| obj(Obj::Group(id, g.id.clone())))
                    .collect(),
            )
        }
        "items_page" => return items_page(ctx, id, None, args),
        // The account's first admin stands for the board's creator, which the store does
        // not keep.
        "creator" | "owner" => {
            account_admin(ctx, b.account_id).map_or(Val::Empty, |u| obj(Obj::User(u)))
        }
        "owners" => Val::List(
            account_admin(ctx, b.account_id)
                .map(|u| obj(Obj::User(u)))
                .into_iter()
                .collect(),
        ),
        "permissions" => s("everyone"),
        "access_level" => s("edit"),
        "type" => s("board"),
        "top_group" => b
            .groups
            .first()
            .map_or(Val::Empty, |g| obj(Obj::Group(id, g.id.clone()))),
        _ => Val::Empty,
    })
}

fn column(ctx: &mut Ctx<'_>, board_id: i64, col: &str, field: &str) -> Resolved {
    let c = ctx
        .store
        .boards
        .get(&board_id)
        .and_then(|b| b.column(col))
        .ok_or_else(|| ApiError::invalid_column(col))?;
    Ok(match field {
        "id" => s(c.spec.id.clone()),
        "title" => s(c.title.clone()),
        "description" => opt_s(c.description.clone()),
        "type" => s(c.spec.kind.clone()),
        "archived" => leaf(false),
        "settings" => leaf(super::cell::settings_json(&c.spec.kind, &c.spec.settings)),
        "settings_str" => s(c.spec.settings.to_string()),
        "revision" => s(revision(&c.spec.settings)),
        _ => Val::Empty,
    })
}

fn group(
    ctx: &mut Ctx<'_>,
    board_id: i64,
    gid: &str,
    field: &str,
    args: &Map<String, Value>,
) -> Resolved {
    let g = ctx
        .store
        .boards
        .get(&board_id)
        .and_then(|b| b.groups.iter().find(|g| g.id == gid))
        .cloned();
    let g = g.ok_or_else(|| ApiError::resource_not_found("Group", gid))?;
    Ok(match field {
        "id" => s(g.id),
        "title" => s(g.title),
        "color" => s(g.color),
        "position" => s(g.position),
        "archived" | "deleted" => leaf(false),
        "items_page" => return items_page(ctx, board_id, Some(gid), args),
        _ => Val::Empty,
    })
}

fn item(ctx: &mut Ctx<'_>, id: i64, field: &str, args: &Map<String, Value>) -> Resolved {
    let it = ctx
        .store
        .items
        .get(&id)
        .ok_or_else(|| ApiError::item_not_found(&id.to_string()))?;
    let slug = ctx
        .store
        .boards
        .get(&it.board_id)
        .and_then(|b| ctx.store.accounts.get(&b.account_id))
        .map(|a| a.slug.clone())
        .unwrap_or_default();
    Ok(match field {
        "id" => leaf(id),
        "name" => s(it.name.clone()),
        "state" => s(it.state.clone()),
        "created_at" => s(iso_seconds(it.created_at)),
        "updated_at" => s(iso_seconds(it.updated_at)),
        "creator_id" => s(it.creator_id.to_string()),
        "creator" => obj(Obj::User(it.creator_id)),
        "board" => obj(Obj::Board(it.board_id)),
        "group" => obj(Obj::Group(it.board_id, it.group_id.clone())),
        "url" => s(format!(
            "https://{slug}.monday.com/boards/{}/pulses/{id}",
            it.board_id
        )),
        "relative_link" => s(format!("/boards/{}/pulses/{id}", it.board_id)),
        "subitems" => Val::List(vec![]),
        "column_values" => {
            let board = ctx
                .store
                .boards
                .get(&it.board_id)
                .ok_or_else(|| ApiError::board_not_found(&it.board_id.to_string()))?;
            let ids: Option<Vec<String>> = args.get("ids").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            });
            let types: Option<Vec<String>> = args.get("types").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            });
            Val::List(
                board
                    .columns
                    .iter()
                    .filter(|c| c.spec.kind != "name")
                    .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.spec.id)))
                    .filter(|c| types.as_ref().is_none_or(|t| t.contains(&c.spec.kind)))
                    .map(|c| obj(Obj::Cell(id, c.spec.id.clone())))
                    .collect(),
            )
        }
        "email" => s(format!("{slug}-pulse-{id}@monday.com")),
        _ => Val::Empty,
    })
}

fn user(ctx: &mut Ctx<'_>, id: i64, field: &str, args: &Map<String, Value>) -> Resolved {
    let _ = args;
    let u = ctx
        .store
        .users
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::resource_not_found("User", &id.to_string()))?;
    let slug = ctx
        .store
        .accounts
        .get(&u.account_id)
        .map(|a| a.slug.clone())
        .unwrap_or_default();
    let photo = "https://cdn1.monday.com/dapulse_default_photo.png";
    Ok(match field {
        "id" => leaf(id),
        "name" => s(u.name),
        "email" => s(u.email),
        "enabled" => leaf(u.enabled),
        "is_admin" => leaf(u.is_admin),
        "is_guest" => leaf(u.is_guest),
        "is_pending" | "is_view_only" => leaf(false),
        "is_verified" => leaf(true),
        "created_at" | "join_date" => s(iso_seconds(u.created_at)),
        "url" => s(format!("https://{slug}.monday.com/users/{id}")),
        "photo_thumb" | "photo_original" | "photo_small" | "photo_thumb_small" | "photo_tiny" => {
            s(photo)
        }
        "time_zone_identifier" => s("Etc/UTC"),
        "utc_hours_diff" => leaf(0),
        "current_language" => s("en"),
        "teams" => Val::List(vec![]),
        "account" => obj(Obj::Account(u.account_id)),
        _ => Val::Empty,
    })
}
