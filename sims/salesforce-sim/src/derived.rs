//! Fields the server computes: compound addresses, full names, formulas, opportunity flags.

use serde_json::{Map, Number, Value, json};

use crate::schema::ObjectDef;

/// Recomputes every server-derived field of a record in place.
pub fn apply(o: &ObjectDef, fields: &mut Map<String, Value>) {
    for f in o.fields.iter().filter(|f| f.kind == "address") {
        let prefix = f.name.trim_end_matches("Address");
        let part = |suffix: &str| {
            fields
                .get(&format!("{prefix}{suffix}"))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let parts = [
            ("city", part("City")),
            ("country", part("Country")),
            ("countryCode", part("CountryCode")),
            ("geocodeAccuracy", part("GeocodeAccuracy")),
            ("latitude", part("Latitude")),
            ("longitude", part("Longitude")),
            ("postalCode", part("PostalCode")),
            ("state", part("State")),
            ("stateCode", part("StateCode")),
            ("street", part("Street")),
        ];
        let value = if parts.iter().all(|(_, v)| v.is_null()) {
            Value::Null
        } else {
            Value::Object(parts.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
        };
        fields.insert(f.name.clone(), value);
    }
    if let Some(name) = o.field("Name")
        && !name.createable
        && o.field("LastName").is_some()
    {
        let first = fields
            .get("FirstName")
            .and_then(Value::as_str)
            .unwrap_or("");
        let last = fields.get("LastName").and_then(Value::as_str).unwrap_or("");
        let full = format!("{first} {last}").trim().to_string();
        fields.insert(
            "Name".into(),
            if full.is_empty() {
                Value::Null
            } else {
                json!(full)
            },
        );
    }
    if o.name == "Opportunity" {
        let stage = fields
            .get("StageName")
            .and_then(Value::as_str)
            .unwrap_or("");
        let closed = stage.starts_with("Closed");
        let won = stage == "Closed Won";
        fields.insert("IsClosed".into(), json!(closed));
        fields.insert("IsWon".into(), json!(won));
        let forecast = if won {
            "Closed"
        } else if closed {
            "Omitted"
        } else {
            "Pipeline"
        };
        fields.insert("ForecastCategoryName".into(), json!(forecast));
    }
    for f in o.fields.iter().filter(|f| f.calculated) {
        if let Some(formula) = &f.calculated_formula {
            let v = eval_formula(formula, fields);
            fields.insert(f.name.clone(), v);
        }
    }
}

/// `A op B` with field names or numbers; nulls count as zero (formulaTreatNullNumberAsZero).
fn eval_formula(formula: &str, fields: &Map<String, Value>) -> Value {
    let parts: Vec<&str> = formula.split_whitespace().collect();
    let operand = |s: &str| -> f64 {
        s.parse::<f64>()
            .ok()
            .or_else(|| fields.get(s).and_then(Value::as_f64))
            .unwrap_or(0.0)
    };
    let n = match parts.as_slice() {
        [a] => operand(a),
        [a, "+", b] => operand(a) + operand(b),
        [a, "-", b] => operand(a) - operand(b),
        [a, "*", b] => operand(a) * operand(b),
        [a, "/", b] if operand(b) != 0.0 => operand(a) / operand(b),
        _ => return Value::Null,
    };
    Number::from_f64(n)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;

    #[test]
    fn formula_and_address_are_derived() {
        let s = Schema::load().unwrap();
        let p = s.object("Project__c").unwrap();
        let mut f = Map::new();
        f.insert("Budget__c".into(), json!(1000.0));
        f.insert("Spent__c".into(), json!(250.5));
        apply(p, &mut f);
        assert_eq!(f["Budget_Remaining__c"], json!(749.5));

        let a = s.object("Account").unwrap();
        let mut f = Map::new();
        f.insert("BillingCity".into(), json!("Austin"));
        apply(a, &mut f);
        assert_eq!(f["BillingAddress"]["city"], json!("Austin"));
        assert_eq!(f["ShippingAddress"], Value::Null);
    }
}
