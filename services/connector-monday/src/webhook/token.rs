//! The JWT monday puts in a webhook delivery's `Authorization` header: HS256 with the app's
//! signing secret. Beyond the signature, a token must carry `exp` no further ahead than the
//! maximum age (and an `iat`, if present, no older), name this ingress's public URL as `aud`,
//! and name the monday account (`accountId`) the event comes from.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::config::SigningSecret;
use crate::schema::id_text;

/// Clock skew tolerated on `exp` and `iat`.
pub const LEEWAY_SECS: i64 = 60;

/// What a delivery's token must satisfy besides its signature.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The public URL monday posts to: the one `aud` must name.
    pub audience: String,
    /// The longest a token may be valid for (`exp` at most this far ahead, `iat` at most this
    /// far back).
    pub max_age_secs: i64,
}

/// The claims Tandem acts on, from a token that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The monday account the event comes from.
    pub account_id: String,
    /// When the token expires (unix seconds): replays are remembered until then.
    pub exp: i64,
    /// The token's own id, if monday sent one.
    pub jti: Option<String>,
}

/// Checks `jwt` against the signing secret and `rules` at `now` (unix seconds); the error
/// says what failed (for the log, never for the sender).
pub fn verify(
    jwt: &str,
    secret: &SigningSecret,
    rules: &Rules,
    now: i64,
) -> Result<Claims, &'static str> {
    let claims = signed_claims(jwt, secret)?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("JWT has no exp")?;
    if exp + LEEWAY_SECS < now {
        return Err("JWT expired");
    }
    if exp - now > rules.max_age_secs + LEEWAY_SECS {
        return Err("JWT exp is further ahead than the maximum age");
    }
    if let Some(iat) = claims.get("iat") {
        let iat = iat.as_i64().ok_or("JWT iat is not a number")?;
        if iat > now + LEEWAY_SECS {
            return Err("JWT issued in the future");
        }
        if now - iat > rules.max_age_secs + LEEWAY_SECS {
            return Err("JWT older than the maximum age");
        }
    }
    if !audience_matches(claims.get("aud"), &rules.audience) {
        return Err("JWT aud is not this ingress's public URL");
    }
    let account_id = id_text(claims.get("accountId"));
    if account_id.is_empty() {
        return Err("JWT names no accountId");
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= 200)
        .map(str::to_owned);
    Ok(Claims {
        account_id,
        exp,
        jti,
    })
}

/// The claims of an HS256 token whose signature checks out.
fn signed_claims(jwt: &str, secret: &SigningSecret) -> Result<Value, &'static str> {
    if !secret.is_set() {
        return Err("no signing secret configured");
    }
    let mut parts = jwt.split('.');
    let (Some(header_b64), Some(claims_b64), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWT");
    };
    let header: Value = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or("bad JWT header")?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err("JWT is not HS256");
    }
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| "bad JWT signature")?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).map_err(|_| "bad secret")?;
    mac.update(format!("{header_b64}.{claims_b64}").as_bytes());
    mac.verify_slice(&sig).map_err(|_| "signature mismatch")?;
    URL_SAFE_NO_PAD
        .decode(claims_b64)
        .ok()
        .and_then(|c| serde_json::from_slice::<Value>(&c).ok())
        .filter(Value::is_object)
        .ok_or("bad JWT claims")
}

/// Whether `aud` (a string or a list of strings) names `expected`; a trailing `/` aside.
fn audience_matches(aud: Option<&Value>, expected: &str) -> bool {
    let same = |a: &str| a.trim_end_matches('/') == expected.trim_end_matches('/');
    match aud {
        Some(Value::String(a)) => same(a),
        Some(Value::Array(all)) => all.iter().filter_map(Value::as_str).any(same),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const AUD: &str = "https://tandem.example.com/webhooks/monday";

    fn sign(secret: &str, claims: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{h}.{c}").as_bytes());
        format!(
            "{h}.{c}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    fn rules() -> Rules {
        Rules {
            audience: AUD.to_owned(),
            max_age_secs: 600,
        }
    }

    #[test]
    fn a_token_needs_signature_exp_within_the_maximum_age_audience_and_account() {
        let secret = SigningSecret::new("s3cret");
        let now = 1_000_000;
        let ok = json!({"accountId": 7, "userId": 2, "aud": AUD, "iat": now, "exp": now + 300});
        let with = |patch: Value| {
            let mut c = ok.clone();
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            sign("s3cret", c)
        };
        let none_alg = {
            let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
            let c = URL_SAFE_NO_PAD.encode(ok.to_string());
            format!("{h}.{c}.")
        };
        let (other, unset) = (SigningSecret::new("other"), SigningSecret::default());
        let cases: Vec<(String, &SigningSecret, Result<(), &str>)> = vec![
            (with(json!({})), &secret, Ok(())),
            (with(json!({"aud": [AUD, "x"]})), &secret, Ok(())),
            (with(json!({"aud": format!("{AUD}/")})), &secret, Ok(())),
            (with(json!({"iat": null})), &secret, Ok(())),
            (with(json!({"exp": null})), &secret, Err("JWT has no exp")),
            (with(json!({"exp": now - 61})), &secret, Err("JWT expired")),
            (
                with(json!({"exp": 9_999_999_999_i64})),
                &secret,
                Err("JWT exp is further ahead than the maximum age"),
            ),
            (
                with(json!({"iat": now - 3_600})),
                &secret,
                Err("JWT older than the maximum age"),
            ),
            (
                with(json!({"iat": now + 3_600})),
                &secret,
                Err("JWT issued in the future"),
            ),
            (
                with(json!({"aud": null})),
                &secret,
                Err("JWT aud is not this ingress's public URL"),
            ),
            (
                with(json!({"aud": "https://attacker.example/hook"})),
                &secret,
                Err("JWT aud is not this ingress's public URL"),
            ),
            (
                with(json!({"accountId": null})),
                &secret,
                Err("JWT names no accountId"),
            ),
            (with(json!({})), &other, Err("signature mismatch")),
            (with(json!({})), &unset, Err("no signing secret configured")),
            ("abc".to_owned(), &secret, Err("not a JWT")),
            (none_alg, &secret, Err("JWT is not HS256")),
        ];
        for (jwt, secret, want) in cases {
            let got = verify(&jwt, secret, &rules(), now).map(|_| ());
            assert_eq!(got, want, "{jwt}");
        }
        let claims = verify(&with(json!({"jti": "j-1"})), &secret, &rules(), now).unwrap();
        assert_eq!(
            claims,
            Claims {
                account_id: "7".into(),
                exp: now + 300,
                jti: Some("j-1".into())
            }
        );
    }
}
