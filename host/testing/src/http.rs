//! A minimal blocking HTTP/1.1 client over loopback, so the tests need no
//! HTTP client crate (whose features would change the host's build).

use std::io::{Read, Write};

/// A parsed response.
pub struct Response {
    /// The status code (0 when the status line is unreadable).
    pub status: u16,
    /// The headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body, decoded lossily as UTF-8.
    pub body: String,
    /// The body as sent (a PDF, say).
    pub bytes: Vec<u8>,
}

impl Response {
    /// The first value of the header `name` (lowercase), if the response has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request with `Connection: close` and reads the whole response.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Response> {
    let request = Request {
        method,
        path: "",
        headers,
        body: body.as_bytes(),
    };
    send(url, &request)
}

/// One request as a test sends it, whichever way it travels.
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    /// `/…`, with its query (after the host's URL, if any).
    pub(crate) path: &'a str,
    pub(crate) headers: &'a [(&'a str, &'a str)],
    pub(crate) body: &'a [u8],
}

/// Sends `request` to the host at `url` (`http://…`) over loopback.
fn send(url: &str, request: &Request<'_>) -> std::io::Result<Response> {
    let url = format!("{url}{}", request.path);
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host)?;
    let mut head = format!(
        "{} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method,
        request.body.len()
    );
    for (name, value) in request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(request.body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..end]);
    let bytes = raw.get(end + 4..).unwrap_or_default().to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    })
}

/// How a client reaches a host: over loopback, or in this process.
#[derive(Clone)]
pub(crate) enum Transport {
    /// A served `pulse` at this `http://…` URL.
    Tcp(String),
    /// A host of this process ([`crate::Pulse::serve_in_process`]).
    InProcess(std::sync::Arc<crate::in_process::App>),
}

impl Transport {
    /// Sends one request for `path` (`/…`, with its query) and reads the whole response.
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let request = Request {
            method,
            path,
            headers,
            body,
        };
        match self {
            Transport::Tcp(url) => send(url, &request),
            Transport::InProcess(app) => app.request(&request),
        }
    }
}
