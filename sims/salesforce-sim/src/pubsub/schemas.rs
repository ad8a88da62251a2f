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
    /// By object and field count: fields are only ever added (`SimHandle::add_field`), so
    /// the count names a version of the object without building its JSON on every write.
    by_object: HashMap<(String, usize), Arc<EventSchema>>,
}

impl Schemas {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The change event schema of `o` as its fields are now.
    pub fn current(&self, o: &ObjectDef) -> Option<Arc<EventSchema>> {
        let version = (o.name.clone(), o.fields.len());
        if let Some(s) = self.lock().by_object.get(&version) {
            return Some(s.clone());
        }
        match avro::build(o) {
            Ok(s) => {
                let s = Arc::new(s);
                let mut inner = self.lock();
                inner.by_id.insert(s.id.clone(), s.clone());
                inner.by_object.insert(version, s.clone());
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
        inner.by_id.insert(s.id.clone(), s);
    }

    pub fn by_id(&self, id: &str) -> Option<Arc<EventSchema>> {
        self.lock().by_id.get(id).cloned()
    }
}
