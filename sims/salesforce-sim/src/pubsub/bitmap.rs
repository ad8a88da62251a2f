//! The field bitmaps of a change event header (`changedFields`, `nulledFields`,
//! `diffFields`) as the Pub/Sub API sends them: bit `i` of a hex number is the field at
//! position `i` of the event's Avro schema. `"0x…"` covers the top-level fields;
//! `"N-0x…"` the fields of the compound field (a nested record) at top-level position `N`.

use std::collections::BTreeMap;

/// `"0x"` and the hex digits of the number whose bits are `positions`, padded to whole
/// bytes and upper-case as Salesforce sends them (`0x650004E0`, `0x04`).
pub fn hex(positions: &[usize]) -> String {
    let top = positions.iter().copied().max().unwrap_or(0);
    let mut bytes = vec![0u8; top / 8 + 1];
    for &p in positions {
        bytes[p / 8] |= 1 << (p % 8);
    }
    let mut out = String::from("0x");
    for b in bytes.iter().rev() {
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// Positions set in a `"0x…"` bitmap; `None` when it is not one.
pub fn positions(bitmap: &str) -> Option<Vec<usize>> {
    let digits = bitmap.strip_prefix("0x")?;
    let mut out = Vec::new();
    for (i, c) in digits.chars().rev().enumerate() {
        let v = c.to_digit(16)? as usize;
        out.extend((0..4).filter(|b| v & (1 << b) != 0).map(|b| i * 4 + b));
    }
    Some(out)
}

/// Which fields one list of a header names: top-level positions and, per compound field,
/// the positions inside it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FieldSet {
    pub top: Vec<usize>,
    pub nested: BTreeMap<usize, Vec<usize>>,
}

impl FieldSet {
    pub fn is_empty(&self) -> bool {
        self.top.is_empty() && self.nested.is_empty()
    }

    /// The header's list: the top-level bitmap first, then one `N-0x…` per compound field.
    pub fn encode(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.top.is_empty() {
            out.push(hex(&self.top));
        }
        for (parent, inner) in &self.nested {
            if !inner.is_empty() {
                out.push(format!("{parent}-{}", hex(inner)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_positions_as_salesforce_does() {
        assert_eq!(hex(&[7, 13]), "0x2080");
        assert_eq!(hex(&[2]), "0x04");
        assert_eq!(hex(&[0, 8]), "0x0101");
        assert_eq!(hex(&[]), "0x00");
        assert_eq!(hex(&[5, 6, 7, 10, 24, 26, 29, 30]), "0x650004E0");
    }

    #[test]
    fn decodes_what_it_encodes() {
        for set in [vec![1], vec![7, 13], vec![0, 3, 9, 31, 64]] {
            assert_eq!(positions(&hex(&set)).unwrap(), set);
        }
        assert_eq!(positions("0x2080").unwrap(), vec![7, 13]);
        assert_eq!(positions("0x650004e0"), positions("0x650004E0"));
        assert!(positions("2080").is_none());
    }

    #[test]
    fn lists_top_level_first_then_compound_fields() {
        let mut s = FieldSet {
            top: vec![3, 5],
            ..Default::default()
        };
        s.nested.insert(5, vec![1, 2]);
        assert_eq!(s.encode(), vec!["0x28".to_string(), "5-0x06".to_string()]);
        assert!(FieldSet::default().encode().is_empty());
    }
}
