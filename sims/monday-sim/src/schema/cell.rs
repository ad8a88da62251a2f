//! Column values on reads: `ColumnValue` and its typed implementors (`StatusValue`,
//! `PeopleValue`, …), and `Column.settings` in the 2025-10 shape.

use serde_json::{Value, json};

use super::exec::{Ctx, Obj, Resolved, Val, leaf, obj, opt_s, s};
use crate::column_value::{self, dropdown_labels, status_labels};
use crate::errors::ApiError;
use crate::store::{iso_seconds, parse_time};

/// `Column.settings` as the 2025-10 API returns it (status labels as a list).
pub fn settings_json(kind: &str, settings: &Value) -> Value {
    if kind != "status" {
        return settings.clone();
    }
    let done: Vec<i64> = settings
        .get("done_colors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let labels: Vec<Value> = status_labels(settings)
        .into_iter()
        .enumerate()
        .map(|(pos, (i, l))| {
            let hex = settings.pointer(&format!("/labels_colors/{i}/color")).and_then(Value::as_str).unwrap_or("#c4c4c4");
            let color = settings.pointer(&format!("/color_mapping/{i}")).and_then(Value::as_i64).unwrap_or(i);
            let index = settings.pointer(&format!("/labels_positions_v2/{i}")).and_then(Value::as_i64).unwrap_or(pos as i64);
            json!({"id": i, "color": color, "label": l, "index": index, "is_done": done.contains(&i), "is_deactivated": false, "hex": hex})
        })
        .collect();
    json!({"labels": labels})
}

pub fn cell(ctx: &mut Ctx<'_>, item_id: i64, col: &str, field: &str) -> Resolved {
    let it = ctx
        .store
        .items
        .get(&item_id)
        .ok_or_else(|| ApiError::item_not_found(&item_id.to_string()))?;
    let board = ctx
        .store
        .boards
        .get(&it.board_id)
        .ok_or_else(|| ApiError::board_not_found(&it.board_id.to_string()))?;
    let c = board
        .column(col)
        .ok_or_else(|| ApiError::invalid_column(col))?;
    let stored = it.values.get(col);
    let users = &ctx.store.users;
    // Rendering allocates: only the fields that show the rendering pay for it.
    let rendered = || {
        column_value::render(&c.spec, stored, &|uid| {
            users.get(&uid).map(|u| u.name.clone())
        })
    };
    let sv = |k: &str| {
        stored
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let updated = || {
        stored
            .and_then(|v| v.get("changed_at"))
            .and_then(Value::as_str)
            .and_then(parse_time)
            .map(iso_seconds)
    };
    Ok(match field {
        "id" => s(col),
        "type" => s(c.spec.kind.clone()),
        "text" => opt_s(rendered().text),
        "value" => opt_s(rendered().value),
        "column" => obj(Obj::Column(board.id, col.to_string())),
        "updated_at" => opt_s(updated()),
        "index" => stored
            .and_then(|v| v.get("index"))
            .and_then(Value::as_i64)
            .map(leaf)
            .unwrap_or(Val::Null),
        "label" if c.spec.kind == "status" => opt_s(rendered().text.filter(|_| stored.is_some())),
        "label" => opt_s(sv("text")),
        "is_done" => {
            let i = stored.and_then(|v| v.get("index")).and_then(Value::as_i64);
            let done = c
                .spec
                .settings
                .get("done_colors")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|x| x.as_i64() == i && i.is_some()));
            leaf(done)
        }
        "label_style" => {
            let i = stored.and_then(|v| v.get("index")).and_then(Value::as_i64);
            match i {
                Some(i) => {
                    let get = |k: &str| {
                        c.spec
                            .settings
                            .pointer(&format!("/labels_colors/{i}/{k}"))
                            .and_then(Value::as_str)
                            .unwrap_or("#c4c4c4")
                            .to_string()
                    };
                    obj(Obj::LabelStyle(get("color"), get("border")))
                }
                None => Val::Null,
            }
        }
        "values" => {
            let labels = dropdown_labels(&c.spec.settings);
            let ids: Vec<i64> = stored
                .and_then(|v| v.get("ids"))
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            Val::List(
                ids.into_iter()
                    .filter_map(|i| {
                        labels
                            .iter()
                            .find(|(k, _)| *k == i)
                            .map(|(k, l)| obj(Obj::DropdownOption(*k, l.clone())))
                    })
                    .collect(),
            )
        }
        "number" => stored
            .and_then(Value::as_str)
            .and_then(|x| x.parse::<f64>().ok())
            .map(leaf)
            .unwrap_or(Val::Null),
        "symbol" => opt_s(
            c.spec
                .settings
                .pointer("/unit/symbol")
                .and_then(Value::as_str),
        ),
        "direction" => opt_s(
            c.spec
                .settings
                .pointer("/unit/direction")
                .and_then(Value::as_str),
        ),
        "date" | "time" | "icon" | "email" | "url" | "phone" => opt_s(sv(field)),
        "url_text" => opt_s(sv("text")),
        "country_short_name" => opt_s(sv("countryShortName")),
        "checked" => leaf(
            stored
                .and_then(|v| v.get("checked"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        "persons_and_teams" => match stored
            .and_then(|v| v.get("personsAndTeams"))
            .and_then(Value::as_array)
        {
            Some(list) => Val::List(
                list.iter()
                    .filter_map(|p| {
                        Some(obj(Obj::PeopleEntity(
                            p.get("id")?.as_i64()?,
                            p.get("kind")?.as_str()?.to_string(),
                        )))
                    })
                    .collect(),
            ),
            None => Val::Null,
        },
        "display_value" if c.spec.kind == "board_relation" => {
            let names: Vec<String> = linked_ids(stored)
                .iter()
                .filter_map(|i| ctx.store.items.get(i).map(|x| x.name.clone()))
                .collect();
            s(names.join(", "))
        }
        "display_value" => s(column_value::display_value(stored)),
        "linked_item_ids" => Val::List(linked_ids(stored).into_iter().map(leaf).collect()),
        "linked_items" => Val::List(
            linked_ids(stored)
                .into_iter()
                .filter(|i| ctx.store.items.contains_key(i))
                .map(|i| obj(Obj::Item(i)))
                .collect(),
        ),
        "item_id" => s(sv("item_id").unwrap_or_else(|| item_id.to_string())),
        "subitems" | "subitems_ids" => Val::List(vec![]),
        _ => Val::Empty,
    })
}

fn linked_ids(stored: Option<&Value>) -> Vec<i64> {
    stored
        .and_then(|v| v.get("linkedPulseIds"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("linkedPulseId").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default()
}
