//! describeGlobal and describe bodies, with the keys a real org sends.

use serde_json::{Map, Value, json};

use crate::schema::{FieldDef, ObjectDef, Schema};

fn soap_type(kind: &str) -> &'static str {
    match kind {
        "id" | "reference" => "tns:ID",
        "double" | "currency" | "percent" => "xsd:double",
        "int" => "xsd:int",
        "long" => "xsd:long",
        "boolean" => "xsd:boolean",
        "date" => "xsd:date",
        "datetime" => "xsd:dateTime",
        "time" => "xsd:time",
        "address" => "urn:address",
        "location" => "urn:location",
        "base64" => "xsd:base64Binary",
        _ => "xsd:string",
    }
}

fn object_urls(v: &str, name: &str) -> Map<String, Value> {
    let base = format!("/services/data/v{v}/sobjects/{name}");
    let mut m = Map::new();
    m.insert(
        "compactLayouts".into(),
        json!(format!("{base}/describe/compactLayouts")),
    );
    m.insert("rowTemplate".into(), json!(format!("{base}/{{ID}}")));
    m.insert(
        "approvalLayouts".into(),
        json!(format!("{base}/describe/approvalLayouts")),
    );
    m.insert("listviews".into(), json!(format!("{base}/listviews")));
    m.insert("describe".into(), json!(format!("{base}/describe")));
    m.insert("quickActions".into(), json!(format!("{base}/quickActions")));
    m.insert("layouts".into(), json!(format!("{base}/describe/layouts")));
    m.insert("sobject".into(), json!(base.clone()));
    if name == "User" {
        // As a real org lists them for User.
        m.remove("approvalLayouts");
        m.remove("listviews");
        m.insert(
            "namedLayouts".into(),
            json!(format!("{base}/describe/namedLayouts/{{LayoutName}}")),
        );
        m.insert(
            "passwordUtilities".into(),
            json!(format!("{base}/{{ID}}/password")),
        );
    }
    m
}

/// One entry of `GET /sobjects`.
pub fn global_entry(o: &ObjectDef, version: &str) -> Value {
    json!({
        "activateable": false,
        "associateEntityType": null,
        "associateParentEntity": null,
        "createable": true,
        "custom": o.custom(),
        "customSetting": false,
        "deepCloneable": false,
        "deletable": true,
        "deprecatedAndHidden": false,
        "feedEnabled": !o.custom(),
        "hasSubtypes": false,
        "isInterface": false,
        "isSubtype": false,
        "keyPrefix": o.key_prefix,
        "label": o.label,
        "labelPlural": o.label_plural,
        "layoutable": true,
        "mergeable": matches!(o.name.as_str(), "Account" | "Contact" | "Lead"),
        "mruEnabled": true,
        "name": o.name,
        "queryable": true,
        "replicateable": true,
        "retrieveable": true,
        "searchable": true,
        "triggerable": true,
        "undeletable": true,
        "updateable": true,
        "urls": object_urls(version, &o.name),
    })
}

/// The Change Data Capture entity of an object (`AccountChangeEvent`,
/// `Project__ChangeEvent`): listed, not queryable, not writable — a picker must skip it.
fn change_event_entry(o: &ObjectDef, version: &str) -> Value {
    let name = match o.name.strip_suffix("__c") {
        Some(base) => format!("{base}__ChangeEvent"),
        None => format!("{}ChangeEvent", o.name),
    };
    let base = format!("/services/data/v{version}/sobjects/{name}");
    let label = format!("{} Change Event", o.label);
    json!({
        "activateable": false, "associateEntityType": "ChangeEvent", "associateParentEntity": o.name,
        "createable": false, "custom": o.custom(), "customSetting": false, "deepCloneable": false,
        "deletable": false, "deprecatedAndHidden": false, "feedEnabled": false, "hasSubtypes": false,
        "isInterface": false, "isSubtype": false, "keyPrefix": null, "label": label, "labelPlural": label,
        "layoutable": false, "mergeable": false, "mruEnabled": false, "name": name, "queryable": false,
        "replicateable": false, "retrieveable": true, "searchable": false, "triggerable": true,
        "undeletable": false, "updateable": false,
        "urls": {
            "rowTemplate": format!("{base}/{{ID}}"), "eventSchema": format!("{base}/eventSchema"),
            "describe": format!("{base}/describe"), "sobject": base,
        },
    })
}

pub fn describe_global(schema: &Schema, version: &str) -> Value {
    let mut sobjects: Vec<Value> = schema
        .objects
        .iter()
        .map(|o| global_entry(o, version))
        .collect();
    sobjects.extend(
        schema
            .objects
            .iter()
            .filter(|o| {
                matches!(
                    o.name.as_str(),
                    "Account" | "Contact" | "Lead" | "Opportunity" | "Project__c"
                )
            })
            .map(|o| change_event_entry(o, version)),
    );
    sobjects.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})
}

fn picklist_json(f: &FieldDef) -> Vec<Value> {
    f.picklist_values
        .iter()
        .map(|p| {
            json!({
                "active": p.active,
                "defaultValue": p.default_value,
                "label": p.label.clone().unwrap_or_else(|| p.value.clone()),
                "validFor": p.valid_for,
                "value": p.value,
            })
        })
        .collect()
}

/// One entry of `fields[]` in a describe.
pub fn field_json(f: &FieldDef) -> Value {
    let kind = f.kind.as_str();
    let length = if f.is_text() || matches!(kind, "id" | "reference") {
        f.length()
    } else {
        0
    };
    let long_text = kind == "textarea" && length > 255;
    let filterable = !long_text && !f.is_compound();
    let sortable = filterable && kind != "multipicklist";
    let groupable = sortable && !f.is_number() && kind != "datetime";
    json!({
        "aggregatable": sortable,
        "aiPredictionField": false,
        "autoNumber": false,
        "byteLength": if matches!(kind, "id" | "reference") { length } else { length * 3 },
        "calculated": f.calculated,
        "calculatedFormula": f.calculated_formula,
        "cascadeDelete": false,
        "caseSensitive": f.case_sensitive,
        "compoundFieldName": f.compound_field_name,
        "controllerName": f.controller_name,
        "createable": f.createable,
        "custom": f.custom(),
        "defaultValue": f.default_value.clone().unwrap_or(Value::Null),
        "defaultValueFormula": null,
        "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": f.dependent_picklist,
        "deprecatedAndHidden": false,
        "digits": f.digits,
        "displayLocationInDecimal": false,
        "encrypted": false,
        "externalId": f.external_id,
        "extraTypeInfo": if long_text { json!("plaintextarea") } else { Value::Null },
        "filterable": filterable,
        "filteredLookupInfo": null,
        "formulaTreatNullNumberAsZero": f.calculated && f.is_number(),
        "groupable": groupable,
        "highScaleNumber": false,
        "htmlFormatted": false,
        "idLookup": f.id_lookup,
        "inlineHelpText": null,
        "label": f.label(),
        "length": length,
        "mask": null,
        "maskType": null,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": f.reference_to.len() > 1,
        "nillable": f.nillable,
        "permissionable": f.nillable && (f.createable || f.updateable) && f.custom(),
        "picklistValues": picklist_json(f),
        "polymorphicForeignKey": f.reference_to.len() > 1,
        "precision": f.precision,
        "queryByDistance": false,
        "referenceTargetField": null,
        "referenceTo": f.reference_to,
        "relationshipName": f.relationship_name,
        "relationshipOrder": null,
        "restrictedDelete": false,
        "restrictedPicklist": f.restricted_picklist,
        "scale": f.scale,
        "searchPrefilterable": false,
        "soapType": soap_type(kind),
        "sortable": sortable,
        "type": kind,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": false,
    })
}

fn child_relationships(schema: &Schema, target: &ObjectDef) -> Vec<Value> {
    let mut out = Vec::new();
    for o in &schema.objects {
        for f in &o.fields {
            if f.kind != "reference" || !f.reference_to.contains(&target.name) {
                continue;
            }
            let audit = matches!(f.name.as_str(), "CreatedById" | "LastModifiedById");
            let rel = if audit {
                Value::Null
            } else if f.custom() {
                json!(format!("{}__r", o.label_plural.replace(' ', "_")))
            } else {
                json!(o.label_plural.replace(' ', ""))
            };
            out.push(json!({
                "cascadeDelete": false,
                "childSObject": o.name,
                "deprecatedAndHidden": false,
                "field": f.name,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": rel,
                "restrictedDelete": false,
            }));
        }
    }
    out
}

/// The full `GET /sobjects/{O}/describe` body.
pub fn describe(schema: &Schema, o: &ObjectDef, version: &str, instance_url: &str) -> Value {
    let mut body = global_entry(o, version);
    let Value::Object(m) = &mut body else {
        return body;
    };
    let mut urls = object_urls(version, &o.name);
    urls.insert(
        "uiDetailTemplate".into(),
        json!(format!("{instance_url}/{{ID}}")),
    );
    urls.insert(
        "uiEditTemplate".into(),
        json!(format!("{instance_url}/{{ID}}/e")),
    );
    urls.insert(
        "uiNewRecord".into(),
        json!(format!("{instance_url}/{}/e", o.key_prefix)),
    );
    m.insert("urls".into(), Value::Object(urls));
    m.insert("actionOverrides".into(), json!([]));
    m.insert(
        "childRelationships".into(),
        json!(child_relationships(schema, o)),
    );
    m.insert("compactLayoutable".into(), json!(true));
    m.insert("defaultImplementation".into(), Value::Null);
    m.insert("extendedBy".into(), Value::Null);
    m.insert("extendsInterfaces".into(), Value::Null);
    m.insert(
        "fields".into(),
        Value::Array(o.fields.iter().map(field_json).collect()),
    );
    m.insert("implementedBy".into(), Value::Null);
    m.insert("implementsInterfaces".into(), Value::Null);
    m.insert("listviewable".into(), Value::Null);
    m.insert("lookupLayoutable".into(), Value::Null);
    m.insert("namedLayoutInfos".into(), json!([]));
    m.insert("networkScopeFieldName".into(), Value::Null);
    m.insert(
        "recordTypeInfos".into(),
        json!([{
            "active": true,
            "available": true,
            "defaultRecordTypeMapping": true,
            "developerName": "Master",
            "master": true,
            "name": "Master",
            "recordTypeId": "012000000000000AAA",
            "urls": {"layout": format!("/services/data/v{version}/sobjects/{}/describe/layouts/012000000000000AAA", o.name)},
        }]),
    );
    m.insert("searchLayoutable".into(), json!(true));
    m.insert("sobjectDescribeOption".into(), json!("FULL"));
    m.insert(
        "supportedScopes".into(),
        json!([
            {"label": format!("All {}", o.label_plural.to_lowercase()), "name": "everything"},
            {"label": format!("My {}", o.label_plural.to_lowercase()), "name": "mine"},
        ]),
    );
    body
}
