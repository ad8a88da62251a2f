//! Every event schema the simulator has handed out, by id, so that `GetSchema` answers for
//! events still on the log after an object's fields changed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::avro::{self, EventSchema};
use crate::schema::ObjectDef;

#[derive(Debug, Default)]
pub struct Schemas {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, Arc<EventSchema>>,
    by_json: HashMap<String, Arc<EventSchema>>,
}

impl Schemas {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The change event schema of `o` as its fields are now.
    pub fn current(&self, o: &ObjectDef) -> Option<Arc<EventSchema>> {
        let fields = avro::event_fields(o);
        let json = avro::schema_json(o, &fields);
        if let Some(s) = self.lock().by_json.get(&json) {
            return Some(s.clone());
        }
        match avro::build(o) {
            Ok(s) => {
                let s = Arc::new(s);
                let mut inner = self.lock();
                inner.by_id.insert(s.id.clone(), s.clone());
                inner.by_json.insert(json, s.clone());
                Some(s)
            }
            Err(e) => {
                tracing::error!(object = %o.name, error = %e, "change event schema does not parse");
                None
            }
        }
    }

    /// Keeps a schema made elsewhere (a platform event's).
    pub fn register(&self, s: Arc<EventSchema>) {
        let mut inner = self.lock();
        inner.by_id.insert(s.id.clone(), s.clone());
        inner.by_json.insert(s.json.clone(), s);
    }

    pub fn by_id(&self, id: &str) -> Option<Arc<EventSchema>> {
        self.lock().by_id.get(id).cloned()
    }
}
