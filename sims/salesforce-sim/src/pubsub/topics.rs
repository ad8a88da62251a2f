//! Topic names: `/data/ChangeEvents`, `/data/<Object>ChangeEvent` (custom objects:
//! `/data/<Name>__ChangeEvent`) and platform events `/event/<Name>__e`. Case-sensitive.

use super::events::{NOT_CAPTURED, StoredEvent};
use crate::schema::Schema;

#[derive(Debug, Clone, PartialEq)]
pub enum Topic {
    /// `/data/ChangeEvents`: every selected object.
    AllChanges,
    /// One object's change events.
    Object(String),
    /// `/event/Name__e`.
    Platform(String),
}

impl Topic {
    pub fn parse(schema: &Schema, name: &str) -> Option<Topic> {
        if name == "/data/ChangeEvents" {
            return Some(Topic::AllChanges);
        }
        if let Some(rest) = name.strip_prefix("/data/") {
            let base = rest.strip_suffix("ChangeEvent")?;
            let object = match base.strip_suffix("__") {
                Some(custom) => format!("{custom}__c"),
                None => base.to_string(),
            };
            let o = schema.object(&object).filter(|o| o.name == object)?;
            if NOT_CAPTURED.contains(&o.name.as_str()) {
                return None;
            }
            return Some(Topic::Object(o.name.clone()));
        }
        let event = name.strip_prefix("/event/")?;
        event
            .ends_with("__e")
            .then(|| Topic::Platform(event.to_string()))
    }

    /// Whether an event on the log belongs to this topic.
    pub fn carries(&self, e: &StoredEvent) -> bool {
        match self {
            Topic::AllChanges => e.change_event,
            Topic::Object(o) => {
                e.change_event && e.topic == format!("/data/{}", super::avro::event_name(o))
            }
            Topic::Platform(n) => !e.change_event && e.topic == format!("/event/{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_salesforce_channel_names() {
        let s = Schema::load().unwrap();
        let cases = [
            ("/data/ChangeEvents", Some(Topic::AllChanges)),
            (
                "/data/AccountChangeEvent",
                Some(Topic::Object("Account".into())),
            ),
            (
                "/data/Project__ChangeEvent",
                Some(Topic::Object("Project__c".into())),
            ),
            ("/data/accountChangeEvent", None),
            ("/data/OrganizationChangeEvent", None),
            ("/data/NopeChangeEvent", None),
            (
                "/event/Order_Shipped__e",
                Some(Topic::Platform("Order_Shipped__e".into())),
            ),
            ("/event/Order", None),
        ];
        for (name, want) in cases {
            assert_eq!(Topic::parse(&s, name), want, "{name}");
        }
    }
}
