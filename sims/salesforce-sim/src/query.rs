//! Runs a parsed SOQL query against an org: field resolution (with relationship paths),
//! typed filtering, ordering and rendering of records as the REST API returns them.

use serde_json::{Map, Value, json};
use std::cmp::Ordering;

use crate::clock;
use crate::errors::SfError;
use crate::ids;
use crate::schema::{FieldDef, ObjectDef, Schema};
use crate::soql::{self, Expr, Literal, Op, Path};
use crate::store::{Org, Record};

/// The error body Salesforce gives for a query problem: the statement echoed with a caret.
pub fn query_error(soql: &str, col: usize, code: &'static str, message: &str) -> SfError {
    let caret = " ".repeat(col.saturating_sub(1));
    SfError::new(
        code,
        format!("\n{soql}\n{caret}^\nERROR at Row:1:Column:{col}\n{message}"),
    )
}

struct Resolved<'s> {
    /// (reference field, relationship name) hops from the root object.
    hops: Vec<(&'s FieldDef, &'s str)>,
    field: &'s FieldDef,
}

fn resolve<'s>(
    schema: &'s Schema,
    root: &'s ObjectDef,
    path: &Path,
    soql: &str,
) -> Result<Resolved<'s>, SfError> {
    let mut parts: &[String] = &path.parts;
    if parts.len() > 1 && parts[0].eq_ignore_ascii_case(&root.name) {
        parts = &parts[1..];
    }
    let mut obj = root;
    let mut hops = Vec::new();
    for rel in &parts[..parts.len() - 1] {
        let Some(f) = obj.relationship(rel) else {
            return Err(query_error(
                soql,
                path.col,
                "INVALID_FIELD",
                &format!(
                    "Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
                ),
            ));
        };
        let Some(target) = f.reference_to.iter().find_map(|t| schema.object(t)) else {
            return Err(query_error(
                soql,
                path.col,
                "INVALID_FIELD",
                &format!("Didn't understand relationship '{rel}' in field path."),
            ));
        };
        hops.push((f, f.relationship_name.as_deref().unwrap_or("")));
        obj = target;
    }
    let last = &parts[parts.len() - 1];
    let Some(field) = obj.field(last) else {
        return Err(query_error(
            soql,
            path.col,
            "INVALID_FIELD",
            &format!(
                "No such column '{last}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                obj.name
            ),
        ));
    };
    Ok(Resolved { hops, field })
}

/// A comparable value of a field or a literal.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Null,
    Bool(bool),
    Num(f64),
    Text(String),
    Stamp(String),
}

impl Key {
    fn cmp(&self, other: &Key) -> Option<Ordering> {
        match (self, other) {
            (Key::Bool(a), Key::Bool(b)) => Some(a.cmp(b)),
            (Key::Num(a), Key::Num(b)) => a.partial_cmp(b),
            (Key::Text(a), Key::Text(b)) | (Key::Stamp(a), Key::Stamp(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

fn key_of(f: &FieldDef, v: &Value) -> Key {
    match v {
        Value::Null => Key::Null,
        Value::Bool(b) => Key::Bool(*b),
        Value::Number(n) => Key::Num(n.as_f64().unwrap_or(0.0)),
        Value::String(s) if matches!(f.kind.as_str(), "date" | "datetime") => Key::Stamp(s.clone()),
        Value::String(s) if matches!(f.kind.as_str(), "id" | "reference") => Key::Text(s.clone()),
        Value::String(s) => Key::Text(s.to_lowercase()),
        other => Key::Text(other.to_string()),
    }
}

enum Cond<'s> {
    And(Box<Cond<'s>>, Box<Cond<'s>>),
    Or(Box<Cond<'s>>, Box<Cond<'s>>),
    Not(Box<Cond<'s>>),
    Cmp(Resolved<'s>, Op, Key),
    Range(Resolved<'s>, Op, String, String),
    In(Resolved<'s>, Vec<Key>, bool),
    Includes(Resolved<'s>, Vec<Vec<String>>, bool),
}

enum Lit {
    Key(Key),
    Range(String, String),
}

fn lit_for(f: &FieldDef, lit: &Literal, soql: &str, col: usize) -> Result<Lit, SfError> {
    let kind = f.kind.as_str();
    let mismatch = |ty: &str, quoted: bool| {
        query_error(
            soql,
            col,
            "INVALID_QUERY_FILTER_OPERATOR",
            &format!(
                "value of filter criterion for field '{}' must be of type {ty} and should {}be enclosed in quotes",
                f.name,
                if quoted { "" } else { "not " }
            ),
        )
    };
    if *lit == Literal::Null {
        return Ok(Lit::Key(Key::Null));
    }
    Ok(Lit::Key(match kind {
        "id" | "reference" => match lit {
            Literal::String(s) => Key::Text(ids::normalize(s).ok_or_else(|| {
                query_error(
                    soql,
                    col,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    &format!("invalid ID field: {s}"),
                )
            })?),
            _ => return Err(mismatch("id", true)),
        },
        "double" | "currency" | "percent" | "int" | "long" => match lit {
            Literal::Number(n) => Key::Num(*n),
            _ => return Err(mismatch("double", false)),
        },
        "boolean" => match lit {
            Literal::Bool(b) => Key::Bool(*b),
            _ => return Err(mismatch("boolean", false)),
        },
        "date" | "datetime" => {
            let dt = kind == "datetime";
            match lit {
                Literal::Date(d) if !dt => Key::Stamp(clock::format_date(*d)),
                Literal::DateTime(t) if dt => Key::Stamp(clock::format_datetime(*t)),
                Literal::DateFn(name, n) => {
                    let today = clock::now().date();
                    let n = n.unwrap_or(0);
                    let (from, to) = match name.as_str() {
                        "TODAY" => (0, 1),
                        "YESTERDAY" => (-1, 0),
                        "TOMORROW" => (1, 2),
                        "LAST_N_DAYS" => (-n, 1),
                        _ => (1, n + 1),
                    };
                    let day = |off: i64| {
                        today
                            .checked_add(time::Duration::days(off))
                            .unwrap_or(today)
                    };
                    let fmt = |d: time::Date| {
                        if dt {
                            clock::format_datetime(d.midnight().assume_utc())
                        } else {
                            clock::format_date(d)
                        }
                    };
                    return Ok(Lit::Range(fmt(day(from)), fmt(day(to))));
                }
                _ => return Err(mismatch(if dt { "dateTime" } else { "date" }, false)),
            }
        }
        _ => match lit {
            Literal::String(s) => Key::Text(s.to_lowercase()),
            _ => return Err(mismatch("string", true)),
        },
    }))
}

fn compile<'s>(
    schema: &'s Schema,
    root: &'s ObjectDef,
    e: &Expr,
    soql: &str,
) -> Result<Cond<'s>, SfError> {
    Ok(match e {
        Expr::And(a, b) => Cond::And(
            Box::new(compile(schema, root, a, soql)?),
            Box::new(compile(schema, root, b, soql)?),
        ),
        Expr::Or(a, b) => Cond::Or(
            Box::new(compile(schema, root, a, soql)?),
            Box::new(compile(schema, root, b, soql)?),
        ),
        Expr::Not(a) => Cond::Not(Box::new(compile(schema, root, a, soql)?)),
        Expr::Cmp(path, op, lit) => {
            let r = resolve(schema, root, path, soql)?;
            if *op == Op::Like && !r.field.is_text() {
                return Err(query_error(
                    soql,
                    path.col,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    &format!(
                        "invalid operator on {} field: {}",
                        r.field.kind, r.field.name
                    ),
                ));
            }
            match lit_for(r.field, lit, soql, path.col)? {
                Lit::Key(k) => Cond::Cmp(r, *op, k),
                Lit::Range(a, b) => Cond::Range(r, *op, a, b),
            }
        }
        Expr::In(path, lits, neg) => {
            let r = resolve(schema, root, path, soql)?;
            let mut keys = Vec::new();
            for l in lits {
                match lit_for(r.field, l, soql, path.col)? {
                    Lit::Key(k) => keys.push(k),
                    Lit::Range(..) => {
                        return Err(query_error(
                            soql,
                            path.col,
                            "MALFORMED_QUERY",
                            "unexpected date literal in IN",
                        ));
                    }
                }
            }
            Cond::In(r, keys, *neg)
        }
        Expr::Includes(path, lits, neg) => {
            let r = resolve(schema, root, path, soql)?;
            if r.field.kind != "multipicklist" {
                return Err(query_error(
                    soql,
                    path.col,
                    "INVALID_QUERY_FILTER_OPERATOR",
                    &format!(
                        "includes or excludes operator only valid on multipicklist field: {}",
                        r.field.name
                    ),
                ));
            }
            let sets = lits
                .iter()
                .map(|l| match l {
                    Literal::String(s) => {
                        Ok(s.split(';').map(|p| p.trim().to_lowercase()).collect())
                    }
                    _ => Err(query_error(
                        soql,
                        path.col,
                        "INVALID_QUERY_FILTER_OPERATOR",
                        "multipicklist values must be strings",
                    )),
                })
                .collect::<Result<_, _>>()?;
            Cond::Includes(r, sets, *neg)
        }
    })
}

fn follow<'r>(
    schema: &Schema,
    org: &'r Org,
    rec: &'r Record,
    hops: &[(&FieldDef, &str)],
) -> Option<&'r Record> {
    let mut cur = rec;
    for (f, _) in hops {
        let id = cur.get(&f.name).as_str()?;
        cur = org.record(schema, id)?;
    }
    Some(cur)
}

fn value_of(schema: &Schema, org: &Org, rec: &Record, r: &Resolved) -> Value {
    follow(schema, org, rec, &r.hops)
        .map(|t| t.get(&r.field.name).clone())
        .unwrap_or(Value::Null)
}

fn like(value: &str, pattern: &str) -> bool {
    let v: Vec<char> = value.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    let mut dp = vec![vec![false; v.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        dp[i][0] = dp[i - 1][0] && p[i - 1] == '%';
        for j in 1..=v.len() {
            dp[i][j] = match p[i - 1] {
                '%' => dp[i - 1][j] || dp[i][j - 1],
                '_' => dp[i - 1][j - 1],
                c => dp[i - 1][j - 1] && c == v[j - 1],
            };
        }
    }
    dp[p.len()][v.len()]
}

fn eval(schema: &Schema, org: &Org, rec: &Record, c: &Cond) -> bool {
    match c {
        Cond::And(a, b) => eval(schema, org, rec, a) && eval(schema, org, rec, b),
        Cond::Or(a, b) => eval(schema, org, rec, a) || eval(schema, org, rec, b),
        Cond::Not(a) => !eval(schema, org, rec, a),
        Cond::Cmp(r, op, lit) => {
            let v = key_of(r.field, &value_of(schema, org, rec, r));
            match (op, &v, lit) {
                (Op::Eq, _, Key::Null) => v == Key::Null,
                (Op::Ne, _, Key::Null) => v != Key::Null,
                (Op::Ne, Key::Null, _) => true,
                (_, Key::Null, _) | (_, _, Key::Null) => false,
                (Op::Like, Key::Text(s), Key::Text(p)) => like(s, p),
                (Op::Like, _, _) => false,
                (op, v, lit) => match v.cmp(lit) {
                    None => false,
                    Some(o) => match op {
                        Op::Eq => o == Ordering::Equal,
                        Op::Ne => o != Ordering::Equal,
                        Op::Lt => o == Ordering::Less,
                        Op::Le => o != Ordering::Greater,
                        Op::Gt => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    },
                },
            }
        }
        Cond::Range(r, op, from, to) => {
            let Key::Stamp(v) = key_of(r.field, &value_of(schema, org, rec, r)) else {
                return *op == Op::Ne;
            };
            let (v, from, to) = (v.as_str(), from.as_str(), to.as_str());
            match op {
                Op::Eq => v >= from && v < to,
                Op::Ne => !(v >= from && v < to),
                Op::Lt => v < from,
                Op::Le => v < to,
                Op::Gt => v >= to,
                _ => v >= from,
            }
        }
        Cond::In(r, keys, neg) => {
            let v = key_of(r.field, &value_of(schema, org, rec, r));
            let hit = keys.contains(&v);
            if *neg { !hit && v != Key::Null } else { hit }
        }
        Cond::Includes(r, sets, neg) => {
            let v = value_of(schema, org, rec, r);
            let have: Vec<String> = v
                .as_str()
                .map(|s| s.split(';').map(str::to_lowercase).collect())
                .unwrap_or_default();
            let hit = sets.iter().any(|set| set.iter().all(|p| have.contains(p)));
            if *neg { !hit } else { hit }
        }
    }
}

/// The `attributes` of a record in a response.
pub fn attributes(object: &str, id: &str, version: &str) -> Value {
    json!({"type": object, "url": format!("/services/data/v{version}/sobjects/{object}/{id}")})
}

fn put(
    schema: &Schema,
    org: &Org,
    out: &mut Map<String, Value>,
    rec: &Record,
    hops: &[(&FieldDef, &str)],
    field: &FieldDef,
    version: &str,
) {
    let Some(((f, rel), rest)) = hops.split_first() else {
        out.insert(field.name.clone(), rec.get(&field.name).clone());
        return;
    };
    let next = rec
        .get(&f.name)
        .as_str()
        .and_then(|id| org.record(schema, id));
    match next {
        None => {
            out.entry(rel.to_string()).or_insert(Value::Null);
        }
        Some(t) => {
            let slot = out.entry(rel.to_string()).or_insert_with(|| {
                let mut m = Map::new();
                m.insert("attributes".into(), attributes(&t.object, &t.id, version));
                Value::Object(m)
            });
            if let Value::Object(m) = slot {
                put(schema, org, m, t, rest, field, version);
            }
        }
    }
}

fn render(schema: &Schema, org: &Org, rec: &Record, fields: &[Resolved], version: &str) -> Value {
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        attributes(&rec.object, &rec.id, version),
    );
    for r in fields {
        put(schema, org, &mut out, rec, &r.hops, r.field, version);
    }
    Value::Object(out)
}

/// The full result of a query, before paging.
pub struct Outcome {
    pub total: usize,
    pub rows: Vec<Value>,
}

/// Parses and runs `soql`; `all` includes deleted records (queryAll).
pub fn run(
    schema: &Schema,
    org: &Org,
    soql: &str,
    all: bool,
    version: &str,
) -> Result<Outcome, SfError> {
    let q =
        soql::parse(soql).map_err(|e| query_error(soql, e.col, "MALFORMED_QUERY", &e.message))?;
    let Some(root) = schema.object(&q.from) else {
        return Err(query_error(
            soql,
            q.from_col,
            "INVALID_TYPE",
            &format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                q.from
            ),
        ));
    };
    let fields = q
        .fields
        .iter()
        .map(|p| resolve(schema, root, p, soql))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = q
        .filter
        .as_ref()
        .map(|e| compile(schema, root, e, soql))
        .transpose()?;
    let order = q
        .order_by
        .iter()
        .map(|o| resolve(schema, root, &o.path, soql).map(|r| (r, o.desc, o.nulls_first)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut hits: Vec<&Record> = org
        .table(&root.name)
        .map(|t| {
            t.values()
                .filter(|r| all || !r.deleted())
                .filter(|r| filter.as_ref().is_none_or(|c| eval(schema, org, r, c)))
                .collect()
        })
        .unwrap_or_default();
    if !order.is_empty() {
        let mut keyed: Vec<(Vec<Key>, &Record)> = hits
            .into_iter()
            .map(|r| {
                (
                    order
                        .iter()
                        .map(|(res, _, _)| key_of(res.field, &value_of(schema, org, r, res)))
                        .collect(),
                    r,
                )
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            for (i, (_, desc, nulls_first)) in order.iter().enumerate() {
                let o = match (&a[i], &b[i]) {
                    (Key::Null, Key::Null) => Ordering::Equal,
                    (Key::Null, _) => {
                        if *nulls_first {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (_, Key::Null) => {
                        if *nulls_first {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    (x, y) => {
                        let o = x.cmp(y).unwrap_or(Ordering::Equal);
                        if *desc { o.reverse() } else { o }
                    }
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        hits = keyed.into_iter().map(|(_, r)| r).collect();
    }
    let offset = q.offset.unwrap_or(0);
    let hits: Vec<&Record> = hits
        .into_iter()
        .skip(offset)
        .take(q.limit.unwrap_or(usize::MAX))
        .collect();
    if q.count {
        return Ok(Outcome {
            total: hits.len(),
            rows: vec![],
        });
    }
    let rows: Vec<Value> = hits
        .iter()
        .map(|r| render(schema, org, r, &fields, version))
        .collect();
    Ok(Outcome {
        total: rows.len(),
        rows,
    })
}

#[cfg(test)]
mod tests;
