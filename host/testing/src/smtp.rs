//! A local SMTP server for tests: it speaks enough real SMTP (EHLO, AUTH
//! PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for an SMTP client library to
//! deliver to it, keeps every message it accepts, and can be told to
//! answer `451` (try again later) to every message, as a server that is
//! down for a while does.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub to: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed, lines joined by CRLF.
    pub data: String,
    /// The `AUTH PLAIN` credentials of the session, base64 as sent, if any.
    pub auth: Option<String>,
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    failing: AtomicBool,
    stopped: AtomicBool,
}

/// A running sink on `127.0.0.1`; stops when dropped.
pub struct SmtpSink {
    port: u16,
    state: Arc<State>,
}

impl SmtpSink {
    /// Starts a sink on a free port.
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the SMTP sink");
        let port = listener.local_addr().expect("the sink's address").port();
        let state = Arc::new(State::default());
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = converse(stream, &state);
                });
            }
        });
        SmtpSink { port, state }
    }

    /// The sink's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT`, for `pulse --smtp-url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// From now on, answer `451` to every message (`true`) or accept them.
    pub fn set_failing(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// The messages accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().expect("sink lock").clone()
    }

    /// Waits until at least `count` messages arrived; panics after `timeout`.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP sink got {} message(s) in {timeout:?}, not {count}: {received:#?}",
                received.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// The path of `MAIL FROM:<path>` or `RCPT TO:<path>`.
fn path(argument: &str) -> String {
    let argument = argument.trim();
    let inner = argument
        .strip_prefix('<')
        .and_then(|a| a.split_once('>'))
        .map(|(p, _)| p)
        .unwrap_or(argument);
    inner.to_string()
}

/// One SMTP session.
fn converse(stream: TcpStream, state: &State) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    let mut reply = |text: &str| out.write_all(format!("{text}\r\n").as_bytes());
    reply("220 pulse-test-sink ESMTP")?;
    let (mut from, mut to, mut auth) = (None::<String>, Vec::new(), None);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            reply("250-pulse-test-sink")?;
            reply("250-AUTH PLAIN")?;
            reply("250 8BITMIME")?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            reply("250 OK")?;
        } else if upper.starts_with("AUTH PLAIN") {
            let given = command[10..].trim();
            let credentials = if given.is_empty() {
                reply("334 ")?;
                let mut next = String::new();
                lines.read_line(&mut next)?;
                next.trim().to_string()
            } else {
                given.to_string()
            };
            auth = Some(credentials);
            reply("235 2.7.0 Authentication successful")?;
        } else if upper.starts_with("MAIL FROM:") {
            if state.failing.load(Ordering::SeqCst) {
                reply("451 4.3.0 Mail server temporarily unavailable, try again later")?;
            } else {
                from = Some(path(&command[10..]));
                to.clear();
                reply("250 OK")?;
            }
        } else if upper.starts_with("RCPT TO:") {
            if from.is_none() {
                reply("503 5.5.1 MAIL first")?;
            } else {
                to.push(path(&command[8..]));
                reply("250 OK")?;
            }
        } else if upper == "DATA" {
            if from.is_none() || to.is_empty() {
                reply("503 5.5.1 MAIL and RCPT first")?;
                continue;
            }
            reply("354 End data with <CR><LF>.<CR><LF>")?;
            let mut data = Vec::new();
            loop {
                let mut text = String::new();
                if lines.read_line(&mut text)? == 0 {
                    return Ok(());
                }
                let text = text.trim_end_matches(['\r', '\n']);
                if text == "." {
                    break;
                }
                data.push(text.strip_prefix('.').unwrap_or(text).to_string());
            }
            state.received.lock().expect("sink lock").push(Received {
                from: from.take().unwrap_or_default(),
                to: std::mem::take(&mut to),
                data: data.join("\r\n"),
                auth: auth.clone(),
            });
            reply("250 2.0.0 Queued")?;
        } else if upper.starts_with("RSET") {
            from = None;
            to.clear();
            reply("250 OK")?;
        } else if upper.starts_with("QUIT") {
            reply("221 Bye")?;
            return Ok(());
        } else {
            reply("502 5.5.2 Command not recognized")?;
        }
    }
}
