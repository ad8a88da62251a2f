//! Platform events (`/event/<Name>__e`): defined by a test or demo, published through
//! `Publish`/`PublishStream` with the schema from `GetSchema`, delivered like change events.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::avro::{EventSchema, Leaf, schema_id};
use super::schemas::Schemas;

#[derive(Debug, Default)]
pub struct PlatformEvents {
    defs: Mutex<HashMap<String, Arc<EventSchema>>>,
}

impl PlatformEvents {
    /// Defines (or redefines) `name` (`Order_Shipped__e`) with custom fields; returns the
    /// schema id.
    pub fn define(
        &self,
        schemas: &Schemas,
        name: &str,
        fields: &[(String, Leaf)],
    ) -> Result<String, apache_avro::Error> {
        let mut list = vec![
            json!({"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"}),
            json!({"name": "CreatedById", "type": "string", "doc": "CreatedById"}),
        ];
        for (f, leaf) in fields {
            list.push(
                json!({"name": f, "type": ["null", leaf.avro_type()], "doc": f, "default": null}),
            );
        }
        let json = json!({"type": "record", "name": name, "namespace": "com.sforce.eventbus", "fields": Value::Array(list)}).to_string();
        let avro = apache_avro::Schema::parse_str(&json)?;
        let s = Arc::new(EventSchema {
            id: schema_id(&json),
            json,
            avro,
            entity: name.to_string(),
            fields: vec![],
        });
        schemas.register(s.clone());
        self.defs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), s.clone());
        Ok(s.id.clone())
    }

    pub fn get(&self, name: &str) -> Option<Arc<EventSchema>> {
        self.defs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }
}
