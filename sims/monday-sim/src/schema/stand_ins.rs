//! Stand-ins for what the store does not keep but the real API always answers: a board's
//! creator (the account's first admin) and a column's revision (a digest of its settings).

use serde_json::Value;

use super::exec::Ctx;

/// The account's first admin (by id), if it has one.
pub fn account_admin(ctx: &Ctx<'_>, account: i64) -> Option<i64> {
    ctx.store
        .users
        .values()
        .filter(|u| u.account_id == account && u.is_admin)
        .map(|u| u.id)
        .min()
}

/// A column's revision: changes whenever its settings do.
pub fn revision(settings: &Value) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(settings.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
