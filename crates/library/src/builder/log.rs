//! The build log stream (§8.3): a WebSocket whose text frames carry raw log bytes.

use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::{header, Url};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::error::{Error, ErrorKind, Result};
use crate::options::USER_AGENT;

/// Cuts a stream of text chunks into lines. Frames do not align with lines: a frame may
/// hold several lines or end in the middle of one, which is kept until completed.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    partial: String,
}

impl LineSplitter {
    /// Feeds a chunk; calls `emit` for every line it completes (without `\n` or `\r\n`).
    pub fn push(&mut self, chunk: &str, emit: &mut impl FnMut(&str)) {
        self.partial.push_str(chunk);
        let Some(last) = self.partial.rfind('\n') else {
            return;
        };
        let rest = self.partial.split_off(last + 1);
        for line in self.partial.split_terminator('\n') {
            emit(line.strip_suffix('\r').unwrap_or(line));
        }
        self.partial = rest;
    }

    /// Emits the unterminated last line, if any (the log ended without a line break).
    pub fn finish(&mut self, emit: &mut impl FnMut(&str)) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            emit(line.strip_suffix('\r').unwrap_or(&line));
        }
    }
}

/// Connects to `url` and feeds the log to `on_line` until the server closes or `cancel`
/// fires (then `Err(cancelled)`; the caller cancels the build).
///
/// `wss` trusts what `tls` says (the remote's extra CA or its opt-out of verification;
/// `None`: the web roots). It connects directly: a remote's proxy is not used for it.
pub(crate) async fn follow(
    url: Url,
    auth: Option<header::HeaderValue>,
    tls: Option<tokio_tungstenite::Connector>,
    connect_timeout: Duration,
    mut on_line: impl FnMut(&str),
    cancel: &berth_progress::Cancel,
) -> Result<()> {
    cancel.check()?;
    let ctx = format!("GET {}", url.path());
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| Error::input(format!("bad WebSocket URL: {e}")))?;
    let headers = request.headers_mut();
    headers.insert(
        header::USER_AGENT,
        header::HeaderValue::from_static(USER_AGENT),
    );
    if let Some(auth) = auth {
        headers.insert(header::AUTHORIZATION, auth);
    }
    let connect = tokio_tungstenite::connect_async_tls_with_config(request, None, false, tls);
    let (mut socket, _) = tokio::select! {
        biased;
        () = cancel.cancelled() => return Err(Error::cancelled()),
        res = tokio::time::timeout(connect_timeout, connect) => match res {
            Err(_) => {
                return Err(Error::new(ErrorKind::Timeout, "the build log did not connect in time")
                    .with_context(ctx))
            }
            Ok(res) => res.map_err(|e| ws_error(e).with_context(ctx.clone()))?,
        },
    };
    let mut lines = LineSplitter::default();
    loop {
        let msg = tokio::select! {
            // Cancel wins over a frame that is ready at the same time.
            biased;
            () = cancel.cancelled() => {
                // Best effort: the server learns of the cancel from `_cancel` anyway.
                let _ = socket.close(None).await;
                return Err(Error::cancelled());
            }
            msg = socket.next() => msg,
        };
        match msg {
            Some(Ok(Message::Text(text))) => lines.push(text.as_str(), &mut on_line),
            Some(Ok(Message::Close(frame))) => {
                lines.finish(&mut on_line);
                return match frame {
                    Some(f) if f.code == CloseCode::Normal => Ok(()),
                    Some(f) => Err(Error::new(
                        ErrorKind::Unreachable,
                        format!(
                            "the build log ended abnormally (close code {}{}{})",
                            u16::from(f.code),
                            if f.reason.is_empty() { "" } else { ": " },
                            f.reason
                        ),
                    )
                    .with_context(ctx)),
                    None => Err(Error::new(
                        ErrorKind::Unreachable,
                        "the build log closed without a status code",
                    )
                    .with_context(ctx)),
                };
            }
            // Binary frames are not log text; pings are answered by the library.
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                lines.finish(&mut on_line);
                return Err(ws_error(e).with_context(ctx));
            }
            None => {
                lines.finish(&mut on_line);
                return Err(Error::new(
                    ErrorKind::Unreachable,
                    "the build log connection ended without a close",
                )
                .with_context(ctx));
            }
        }
    }
}

/// A refused handshake keeps its HTTP status (401 → `auth.token_invalid`); anything
/// else is a broken connection.
fn ws_error(err: WsError) -> Error {
    match err {
        WsError::Http(resp) => {
            let body = resp.body().as_deref().unwrap_or_default();
            Error::from_response(resp.status().as_u16(), body)
        }
        // Only the web roots are trusted here (see `follow`), so say "untrusted" rather
        // than "unreachable": the hint then points at the certificate.
        WsError::Tls(tls) => Error::new(
            ErrorKind::TlsUntrusted,
            format!("TLS failed on the build log connection: {tls}"),
        )
        .with_source(tls),
        other => Error::new(
            ErrorKind::Unreachable,
            format!("the build log connection failed: {other}"),
        )
        .with_source(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_span_chunks() {
        let mut out = Vec::new();
        let mut emit = |l: &str| out.push(l.to_owned());
        let mut s = LineSplitter::default();
        s.push("one\ntw", &mut emit);
        s.push("o\r\nthree\nfo", &mut emit);
        s.push("ur", &mut emit);
        s.finish(&mut emit);
        assert_eq!(out, ["one", "two", "three", "four"]);
    }
}
