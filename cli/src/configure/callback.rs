//! The local OAuth callback of `tandem connect salesforce`: a one-purpose HTTP/1 listener that
//! waits for the browser's redirect (`GET /callback?code=…&state=…`), lets the caller finish
//! the exchange, and answers the browser with the outcome. Only the request line is read, so
//! no HTTP server dependency is needed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub const PATH: &str = "/callback";
/// A request line longer than this is not a callback.
const MAX_HEAD: usize = 16 * 1024;
/// How long a connection may take to send its request line.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// What the authorization server sent back.
pub enum Callback {
    Code { code: String, state: String },
    Refused { error: String, description: String },
}

pub struct Listener {
    listener: TcpListener,
}

impl Listener {
    pub async fn bind(addr: SocketAddr) -> anyhow::Result<Listener> {
        let listener = TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr} for the OAuth callback (pass --listen 127.0.0.1:0 for any free port)")
        })?;
        Ok(Listener { listener })
    }

    /// `http://HOST:PORT/callback`, with the port actually bound.
    pub fn redirect_uri(&self) -> anyhow::Result<String> {
        let addr = self.listener.local_addr()?;
        Ok(format!("http://{addr}{PATH}"))
    }

    /// Waits for the callback carrying `state`; other requests (a favicon, a stale tab) are
    /// answered 404/400 and waiting goes on. Returns the callback and the open connection to
    /// answer once the exchange is done. Each connection is read on its own task, so a
    /// browser's idle pre-opened connection cannot hold up the real callback.
    pub async fn next(&self, state: &str) -> anyhow::Result<(Callback, Pending)> {
        let (requests, mut received) = mpsc::channel::<(String, TcpStream)>(8);
        loop {
            let (target, mut stream) = tokio::select! {
                accepted = self.listener.accept() => {
                    let (mut stream, _) = accepted?;
                    let requests = requests.clone();
                    tokio::spawn(async move {
                        if let Ok(Ok(target)) =
                            tokio::time::timeout(READ_TIMEOUT, request_target(&mut stream)).await
                        {
                            let _ = requests.send((target, stream)).await;
                        }
                    });
                    continue;
                }
                Some(request) = received.recv() => request,
            };
            let (path, query) = target.split_once('?').unwrap_or((&target, ""));
            if path != PATH {
                let _ = respond(&mut stream, 404, "Not found.").await;
                continue;
            }
            let pairs: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            if pairs.get("state").map(String::as_str) != Some(state) {
                let _ = respond(
                    &mut stream,
                    400,
                    "This callback is not for the connection being made (its state differs). Close this tab.",
                )
                .await;
                continue;
            }
            let callback = if let Some(error) = pairs.get("error") {
                Callback::Refused {
                    error: error.clone(),
                    description: pairs.get("error_description").cloned().unwrap_or_default(),
                }
            } else if let Some(code) = pairs.get("code") {
                Callback::Code {
                    code: code.clone(),
                    state: state.to_owned(),
                }
            } else {
                let _ = respond(&mut stream, 400, "The callback carries no code.").await;
                bail!("the OAuth callback carried neither a code nor an error");
            };
            return Ok((callback, Pending { stream }));
        }
    }
}

/// The browser's connection, answered when the outcome is known.
pub struct Pending {
    stream: TcpStream,
}

impl Pending {
    pub async fn answer(mut self, ok: bool, text: &str) {
        // The browser may be gone; the terminal has the outcome anyway.
        let _ = respond(&mut self.stream, if ok { 200 } else { 400 }, text).await;
    }
}

/// Reads the request head and returns the target of `GET <target> HTTP/1.x`.
async fn request_target(stream: &mut TcpStream) -> anyhow::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            bail!("request head too long");
        }
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) => Ok(target.to_owned()),
        _ => Err(anyhow!("not a GET request")),
    }
}

async fn respond(stream: &mut TcpStream, status: u16, text: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Tandem</title></head><body><p>{}</p></body></html>",
        escape(text)
    );
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_callback_with_the_state_yields_its_code_and_stray_requests_are_skipped() {
        let listener = Listener::bind(([127, 0, 0, 1], 0).into()).await.unwrap();
        let uri = listener.redirect_uri().unwrap();
        let addr = uri
            .trim_start_matches("http://")
            .trim_end_matches(PATH)
            .to_owned();
        let client = tokio::spawn(async move {
            // A pre-opened connection that never sends must not hold up the others.
            let _idle = TcpStream::connect(&addr).await.unwrap();
            let mut answers = Vec::new();
            for target in [
                "/favicon.ico",
                "/callback?code=x&state=other",
                "/callback?code=c%2B1&state=s1",
            ] {
                let mut s = TcpStream::connect(&addr).await.unwrap();
                s.write_all(format!("GET {target} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
                    .await
                    .unwrap();
                let mut answer = String::new();
                s.read_to_string(&mut answer).await.unwrap();
                answers.push(answer.lines().next().unwrap_or_default().to_owned());
            }
            answers
        });
        let (callback, pending) = listener.next("s1").await.unwrap();
        let Callback::Code { code, state } = callback else {
            panic!("expected a code");
        };
        assert_eq!((code.as_str(), state.as_str()), ("c+1", "s1"));
        pending.answer(true, "done").await;
        assert_eq!(
            client.await.unwrap(),
            [
                "HTTP/1.1 404 Not Found",
                "HTTP/1.1 400 Bad Request",
                "HTTP/1.1 200 OK"
            ]
        );
    }
}
