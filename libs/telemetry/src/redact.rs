//! Secrets out of URLs before a URL is printed (errors, logs, the listening line): the
//! password of the user info, and the value of every query parameter whose name says it is a
//! secret (`?password=`, `sslpassword`, `token`, `secret`, `api_key`, …). Used wherever a
//! configured URL reaches a message.

/// Query parameter names (compared lowercased, by substring) whose values are secrets.
const SECRET_PARAMS: &[&str] = &["password", "passwd", "pwd", "secret", "token", "key"];

const MASK: &str = "***";

/// `url` with every password and secret parameter replaced by `***`; a text that does not
/// parse as a URL is not shown at all (it may be a secret pasted in the wrong place).
pub fn url(text: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(text) else {
        return "<unparseable url>".to_owned();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some(MASK));
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let secret = is_secret(&k);
                (
                    k.into_owned(),
                    if secret {
                        MASK.to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// `message` (e.g. a driver's error about `source_url`) with every secret of `source_url`
/// masked, in the raw and in the percent-decoded spelling.
pub fn in_message(message: &str, source_url: &str) -> String {
    let mut secrets: Vec<String> = Vec::new();
    if let Ok(parsed) = url::Url::parse(source_url) {
        if let Some(p) = parsed.password() {
            secrets.push(p.to_owned());
        }
        for (k, v) in parsed.query_pairs() {
            if is_secret(&k) {
                secrets.push(v.into_owned());
            }
        }
        if let Some(q) = parsed.query() {
            for pair in q.split('&') {
                if let Some((k, v)) = pair.split_once('=')
                    && is_secret(k)
                {
                    secrets.push(v.to_owned());
                }
            }
        }
    }
    let decoded: Vec<String> = secrets
        .iter()
        .filter_map(|s| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    secrets.extend(decoded);
    secrets.retain(|s| !s.is_empty() && s != MASK);
    // Longest first, so a secret containing another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = message.to_owned();
    for secret in &secrets {
        out = out.replace(secret.as_str(), MASK);
    }
    out
}

fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|s| name.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_wherever_they_sit_in_a_url() {
        let cases = [
            (
                "postgres://app:hunter2@db:5432/tandem",
                "postgres://app:***@db:5432/tandem",
            ),
            (
                "postgres://postgres@127.0.0.1/test",
                "postgres://postgres@127.0.0.1/test",
            ),
            ("redis://:pw@localhost:6379", "redis://:***@localhost:6379"),
            (
                "postgres://db/tandem?user=app&password=hunter2&sslmode=require",
                "postgres://db/tandem?user=app&password=***&sslmode=require",
            ),
            (
                "postgres://db/t?sslpassword=p%40ss&PASSWORD=x",
                "postgres://db/t?sslpassword=***&PASSWORD=***",
            ),
            (
                "https://collector:4317/?api_key=k&token=t&x=1",
                "https://collector:4317/?api_key=***&token=***&x=1",
            ),
            ("not a url", "<unparseable url>"),
        ];
        for (raw, want) in cases {
            assert_eq!(url(raw), want, "{raw}");
        }
    }

    #[test]
    fn a_drivers_message_loses_the_secrets_of_its_url() {
        let raw = "postgres://app:s3cr%40t@db/t?password=hunter2&user=app";
        let msg = "error with configuration: password `hunter2` and s3cr@t and s3cr%40t for app";
        assert_eq!(
            in_message(msg, raw),
            "error with configuration: password `***` and *** and *** for app"
        );
    }
}
