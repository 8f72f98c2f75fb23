//! Hostile tests: parsers, bodies and connections. Raw HTTP from someone
//! without an account (or with one, where the door needs it): nesting
//! bombs, huge and mistyped bodies, malformed XML and UTF-8, entity
//! tricks, slow and idle connections, made-up HTTP methods, `/metrics`.
//! Pure parser cases run on SQLite; those that aim at data check it is
//! unchanged on both engines.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::assert_serving;
use pulse_testing::{Backend, Pulse, Server, build_addons};

on_both! {
    deep_values_in_object_calls_change_nothing => deep_values_change_nothing;
}

/// The fault of a request nested past the decoders' limit.
const NESTING_FAULT: &str = "nested deeper than 128 levels (the nesting limit)";

/// `<value><array><data>` nested `depth` deep around an int, as one
/// parameter of `method`.
fn nested_call(method: &str, before: &[&str], depth: usize) -> String {
    let mut params: String = before
        .iter()
        .map(|p| format!("<param><value>{p}</value></param>"))
        .collect();
    params.push_str(&format!(
        "<param>{}<value><int>1</int></value>{}</param>",
        "<value><array><data>".repeat(depth),
        "</data></array></value>".repeat(depth)
    ));
    format!(
        "<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params>{params}</params></methodCall>"
    )
}

/// JSON nested `depth` arrays deep.
fn nested_json(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

/// What a raw exchange got back: the status (0 when the server closed
/// without answering), the lower-cased head and the body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

/// Writes `request` (head and body, as bytes) on a fresh connection and
/// reads whatever comes back. Write errors are ignored: a server that
/// answers before reading the body may close early.
fn exchange(server: &Server, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr(server)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let _ = stream.write_all(request);
    read_answer(&mut stream)
}

fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 64 << 10];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    Answer {
        status: head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

fn addr(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_string()
}

/// A `POST path` with `headers` and `body`, as raw bytes (through the
/// router for an in-process host).
fn post(server: &Server, path: &str, headers: &[&str], body: &[u8]) -> Answer {
    if server.in_process() {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|h| h.split_once(": ").expect("a `Name: value` header"))
            .collect();
        let response = server
            .request("POST", path, &headers, body)
            .expect("request sent");
        return Answer {
            status: response.status,
            head: response
                .headers
                .iter()
                .map(|(name, value)| format!("{name}: {}\r\n", value.to_ascii_lowercase()))
                .collect(),
            body: response.body,
        };
    }
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        addr(server),
        body.len()
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    exchange(server, &bytes)
}

const JSON: &str = "Content-Type: application/json";
const XML: &str = "Content-Type: text/xml";

/// The JSON error of a JSON-RPC answer (`error.data`), or of a JSON-2 one.
fn error_of(answer: &Answer) -> (String, String) {
    let value: Value = serde_json::from_str(&answer.body)
        .unwrap_or_else(|e| panic!("a JSON body ({e}): {} {}", answer.head, answer.body));
    let data = if value.get("error").is_some() {
        &value["error"]["data"]
    } else {
        &value
    };
    (
        data["name"].as_str().unwrap_or_default().to_string(),
        data["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// The `faultString` of an XML-RPC fault.
fn fault_string(answer: &Answer) -> String {
    let body = &answer.body;
    assert!(body.contains("<fault>"), "a fault: {body}");
    let at = body.find("<name>faultString</name>").expect("faultString");
    let rest = &body[at..];
    let start = rest.find("<string>").expect("a string") + "<string>".len();
    let end = rest.find("</string>").expect("its end");
    rest[start..end].to_string()
}

/// A server on a fresh SQLite database with no addon beyond the base.
fn plain_server(extra: &[&str]) -> (Pulse, Server) {
    build_addons();
    let mut pulse = Pulse::on(Backend::Sqlite, &["tests/fixtures/addons"]);
    pulse.extra_args = extra.iter().map(|s| s.to_string()).collect();
    let server = pulse.serve();
    (pulse, server)
}

/// A host served in this process on a fresh SQLite database, with no
/// addon beyond the base: for what the parsers answer, not the socket.
fn plain_host() -> (Pulse, Server) {
    build_addons();
    let pulse = Pulse::on(Backend::Sqlite, &["tests/fixtures/addons"]);
    let server = pulse.serve_in_process();
    (pulse, server)
}

/// The session cookie of admin.
fn admin_cookie(pulse: &Pulse, server: &Server) -> String {
    format!(
        "Cookie: {}",
        pulse.admin(server).cookie().expect("a session cookie")
    )
}

#[test]
fn xmlrpc_nesting_bomb_is_a_fault_naming_the_limit() {
    let (_pulse, server) = plain_host();
    // The attack of issue 16: 200,000 levels (about 4 MB) used to overflow
    // a worker's stack and abort the process. To `common` it is too large
    // to be read at all; to `object` (whose calls may be large) it is read
    // and refused at level 129.
    let bomb = nested_call("version", &[], 200_000);
    assert!(bomb.len() > 4_000_000);
    let common = post(&server, "/xmlrpc/2/common", &[XML], bomb.as_bytes());
    assert_eq!(common.status, 413, "{}", common.body);
    assert!(
        fault_string(&common).contains("at most 65536 bytes"),
        "{}",
        common.body
    );
    assert_serving(&server);
    let object = post(&server, "/xmlrpc/2/object", &[XML], bomb.as_bytes());
    assert_eq!(object.status, 200, "{}", object.body);
    let fault = fault_string(&object);
    assert!(fault.contains(NESTING_FAULT), "{fault}");
    assert!(fault.starts_with("xml.parsers.expat.ExpatError"), "{fault}");
    assert_serving(&server);
    // The legacy endpoint and a bomb small enough for `common` too.
    for path in ["/xmlrpc/common", "/xmlrpc/2/common"] {
        let small = nested_call("version", &[], 129);
        let answer = post(&server, path, &[XML], small.as_bytes());
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(fault_string(&answer).contains(NESTING_FAULT), "{path}");
        assert_serving(&server);
    }
    // 128 levels are fine (the call itself is unknown).
    let fine = nested_call("nope", &[], 128);
    let answer = post(&server, "/xmlrpc/2/common", &[XML], fine.as_bytes());
    assert!(
        fault_string(&answer).contains("Method not found: nope"),
        "{}",
        answer.body
    );
}

#[test]
fn malformed_xml_and_entity_tricks_are_faults() {
    let (_pulse, server) = plain_host();
    let call = |body: &str| {
        format!(
            "<?xml version='1.0'?><methodCall><methodName>version</methodName><params><param><value>{body}</value></param></params></methodCall>"
        )
    };
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">{}]>{}",
        (1..10)
            .map(|n| format!(
                "<!ENTITY lol{n} \"{}\">",
                format!(
                    "&lol{};",
                    if n == 1 {
                        String::new()
                    } else {
                        (n - 1).to_string()
                    }
                )
                .repeat(10)
            ))
            .collect::<String>(),
        call("<string>&lol9;</string>").trim_start_matches("<?xml version='1.0'?>")
    );
    let whole = call("<int>1</int>");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (laughs.into_bytes(), "document type declarations"),
        // The fault's text is XML, so its `&` is escaped.
        (call("&lol;").into_bytes(), "unknown entity &amp;lol;"),
        (
            format!(
                "<?xml version='1.0'?><!DOCTYPE x SYSTEM \"file:///etc/passwd\">{}",
                &whole[21..]
            )
            .into_bytes(),
            "document type declarations",
        ),
        (
            whole.as_bytes()[..whole.len() / 2].to_vec(),
            "invalid XML-RPC request",
        ),
        (
            whole.as_bytes()[..whole.len() - 3].to_vec(),
            "invalid XML-RPC request",
        ),
        (
            call("<int>1</string>").into_bytes(),
            "invalid XML-RPC request",
        ),
        (call("<int>x</int>").into_bytes(), "invalid integer"),
        (call("&#0;").into_bytes(), "invalid XML-RPC request"),
        (b"".to_vec(), "invalid XML-RPC request"),
        (
            [
                b"<methodCall><methodName>\xff\xfe".as_slice(),
                b"</methodName></methodCall>",
            ]
            .concat(),
            "invalid utf-8",
        ),
    ];
    for (body, expected) in cases {
        let answer = post(&server, "/xmlrpc/2/common", &[XML], &body);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let fault = fault_string(&answer);
        assert!(
            fault.contains(expected),
            "{:?}: {fault}",
            String::from_utf8_lossy(&body)
        );
        assert!(fault.starts_with("xml.parsers.expat.ExpatError"), "{fault}");
        assert_serving(&server);
    }
}

#[test]
fn deep_and_malformed_json_is_refused_at_every_door() {
    let (pulse, server) = plain_host();
    let cookie = admin_cookie(&pulse, &server);
    let key = pulse
        .ok(&["apikey", "admin", "hostile"])
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let bearer = format!("Authorization: Bearer {key}");
    let deep = |depth| {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"params\":{{\"service\":\"common\",\"method\":\"version\",\"args\":{}}}}}",
            nested_json(depth)
        )
    };
    let doors: [(&str, Vec<&str>); 4] = [
        ("/web/session/authenticate", vec![JSON]),
        ("/jsonrpc", vec![JSON]),
        ("/web/dataset/call_kw", vec![JSON, &cookie]),
        ("/web/dataset/call_kw/res.users/search", vec![JSON, &cookie]),
    ];
    for (path, headers) in &doors {
        let answer = post(&server, path, headers, deep(1000).as_bytes());
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        let (name, message) = error_of(&answer);
        assert_eq!(name, "werkzeug.exceptions.BadRequest", "{path}: {message}");
        assert!(
            message.contains("recursion limit exceeded"),
            "{path}: {message}"
        );
        assert_serving(&server);
        let broken = post(
            &server,
            path,
            headers,
            b"{\"jsonrpc\":\"2.0\",\"params\":{\"db\":\"\xff\xfe\"}}",
        );
        let (name, message) = error_of(&broken);
        assert_eq!(name, "werkzeug.exceptions.BadRequest", "{path}: {message}");
        assert_serving(&server);
    }
    // The doors that read no parameters answer as usual.
    for path in [
        "/web/webclient/version_info",
        "/web/session/get_session_info",
    ] {
        let answer = post(&server, path, &[JSON], deep(1000).as_bytes());
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_serving(&server);
    }
    // Within the limit (the envelope counts: 3 levels) it parses.
    let fine = post(&server, "/jsonrpc", &[JSON], deep(120).as_bytes());
    let fine: Value = serde_json::from_str(&fine.body).unwrap();
    assert_eq!(fine["result"]["server_version"], "19.0", "{fine}");
    // 200,000 levels to a logged-in call_kw: under its body limit, over
    // the nesting limit.
    let bomb = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"params\":{{\"model\":\"res.users\",\"method\":\"search\",\"args\":{}}}}}",
        nested_json(200_000)
    );
    let answer = post(
        &server,
        "/web/dataset/call_kw",
        &[JSON, &cookie],
        bomb.as_bytes(),
    );
    let (_, message) = error_of(&answer);
    assert!(message.contains("recursion limit exceeded"), "{message}");
    assert_serving(&server);
    // JSON-2, with a good key.
    let answer = post(
        &server,
        "/json/2/res.users/search",
        &[JSON, &bearer],
        format!("{{\"domain\":{}}}", nested_json(1000)).as_bytes(),
    );
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(error_of(&answer).0, "werkzeug.exceptions.BadRequest");
    assert_serving(&server);
}

#[test]
fn large_bodies_without_credentials_are_not_read() {
    let (pulse, server) = plain_server(&[]);
    let cookie = admin_cookie(&pulse, &server);
    // Only the head is sent: an answer proves the body was never waited for.
    let head_only = |path: &str, headers: &[&str], length: usize| {
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {length}\r\n"
        );
        for header in headers {
            request.push_str(&format!("{header}\r\n"));
        }
        request.push_str("\r\n");
        let mut stream = TcpStream::connect(addr(&server)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        read_answer(&mut stream)
    };
    // Issue 16: four 16 MB bodies to call_kw without a session added a
    // gigabyte of memory. Now the session is checked first.
    let started = Instant::now();
    let streams: Vec<_> = (0..4)
        .map(|_| {
            let url = server.url.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                stream
                    .write_all(
                        format!(
                            "POST /web/dataset/call_kw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{JSON}\r\nContent-Length: {}\r\n\r\n",
                            16 << 20
                        )
                        .as_bytes(),
                    )
                    .unwrap();
                read_answer(&mut stream)
            })
        })
        .collect();
    for stream in streams {
        let answer = stream.join().unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        let (name, _) = error_of(&answer);
        assert_eq!(name, "odoo.http.SessionExpiredException");
    }
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_serving(&server);
    // Past the limit even with a session: 413 before reading.
    let answer = head_only("/web/dataset/call_kw", &[JSON, &cookie], (16 << 20) + 1);
    assert_eq!(answer.status, 413, "{}", answer.body);
    let (name, message) = error_of(&answer);
    assert_eq!(name, "werkzeug.exceptions.RequestEntityTooLarge");
    assert!(message.contains("at most 16777216 bytes"), "{message}");
    // Anonymous doors take 64 KiB.
    for path in [
        "/web/session/authenticate",
        "/web/webclient/version_info",
        "/web/session/get_session_info",
        "/web/session/destroy",
    ] {
        let answer = head_only(path, &[JSON], (64 << 10) + 1);
        assert_eq!(answer.status, 413, "{path}: {}", answer.body);
        assert!(
            error_of(&answer).1.contains("at most 65536 bytes"),
            "{path}"
        );
    }
    for path in ["/xmlrpc/2/common", "/xmlrpc/2/db", "/xmlrpc/common"] {
        let answer = head_only(path, &[XML], (64 << 10) + 1);
        assert_eq!(answer.status, 413, "{path}: {}", answer.body);
        assert!(
            fault_string(&answer).contains("at most 65536 bytes"),
            "{path}"
        );
    }
    let answer = head_only("/xmlrpc/2/object", &[XML], (16 << 20) + 1);
    assert_eq!(answer.status, 413, "{}", answer.body);
    // JSON-2 checks the key before the body.
    let answer = head_only(
        "/json/2/res.users/search",
        &[JSON, "Authorization: Bearer pulse_wrong"],
        16 << 20,
    );
    assert_eq!(answer.status, 401, "{}", answer.body);
    // A body without a length is cut off at the limit.
    let mut chunked = format!(
        "POST /web/session/authenticate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{JSON}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..8 {
        chunked.extend_from_slice(format!("{:x}\r\n", 16 << 10).as_bytes());
        chunked.extend_from_slice(&[b' '; 16 << 10]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let answer = exchange(&server, &chunked);
    assert_eq!(answer.status, 413, "{}", answer.body);
    // /jsonrpc names its service inside the body: common takes 64 KiB.
    let padded = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"params\":{{\"service\":\"common\",\"method\":\"version\",\"args\":[],\"pad\":\"{}\"}}}}",
        "x".repeat(70 << 10)
    );
    let answer = post(&server, "/jsonrpc", &[JSON], padded.as_bytes());
    assert_eq!(answer.status, 413, "{}", answer.body);
    assert_serving(&server);
}

/// The most memory the process `pid` has held (`VmHWM`), in bytes.
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number of kB");
    kib << 10
}

#[test]
fn large_jsonrpc_bodies_are_checked_before_they_are_parsed() {
    let (pulse, server) = plain_server(&[]);
    // `[0,0,…]` is the worst case for a parsed JSON value: two bytes of
    // input become a 32-byte value, so a 15 MB body parsed whole costs
    // some 250 MB. Four at once with a wrong password must cost nothing
    // like that: the credentials are checked by a pass that builds nothing.
    let zeros = vec!["0"; 7 << 20].join(",");
    let body = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":7,\"params\":{{\"service\":\"object\",\"method\":\"execute_kw\",\"args\":[\"{}\",1,\"wrong\",\"res.users\",\"search\",[[{zeros}]]]}}}}",
        pulse.db_name
    );
    assert!(body.len() > 14 << 20 && body.len() < 16 << 20);
    let before = peak_memory(server.pid());
    let body = std::sync::Arc::new(body);
    let answers: Vec<_> = (0..4)
        .map(|_| {
            let (server_url, body) = (server.url.clone(), body.clone());
            std::thread::spawn(move || {
                pulse_testing::http::request(
                    "POST",
                    &format!("{server_url}/jsonrpc"),
                    &[("Content-Type", "application/json")],
                    &body,
                )
                .expect("an answer")
            })
        })
        .collect();
    for answer in answers {
        let answer = answer.join().unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        let value: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(value["id"], 7, "{value}");
        assert_eq!(
            value["error"]["data"]["name"], "odoo.exceptions.AccessDenied",
            "{value}"
        );
    }
    let grown = peak_memory(server.pid()).saturating_sub(before);
    assert!(
        grown < 200 << 20,
        "four refused 15 MB bodies grew the server by {} MiB",
        grown >> 20
    );
    assert_serving(&server);
    // Any other service past 64 KiB: 413 before the whole parse.
    let padded = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"params\":{{\"service\":\"db\",\"method\":\"list\",\"args\":[{}]}}}}",
        vec!["0"; 40 << 10].join(",")
    );
    let answer = post(&server, "/jsonrpc", &[JSON], padded.as_bytes());
    assert_eq!(answer.status, 413, "{}", answer.body);
    // The right credentials still go through with a large body.
    let padded = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":2,\"params\":{{\"service\":\"object\",\"method\":\"execute_kw\",\"args\":[\"{}\",1,\"admin\",\"res.users\",\"search_count\",[[[\"id\",\"not in\",[{}]]]]]}}}}",
        pulse.db_name,
        vec!["0"; 40 << 10].join(",")
    );
    let answer = post(&server, "/jsonrpc", &[JSON], padded.as_bytes());
    let value: Value = serde_json::from_str(&answer.body).unwrap();
    assert!(value["result"].as_i64().is_some_and(|n| n >= 1), "{value}");
    assert_serving(&server);
}

#[test]
fn json_doors_refuse_other_content_types() {
    let (pulse, server) = plain_host();
    let cookie = admin_cookie(&pulse, &server);
    let login = json!({"jsonrpc": "2.0", "id": 1, "params": {"db": pulse.db_name, "login": "admin", "password": "admin"}}).to_string();
    let call = json!({"jsonrpc": "2.0", "id": 1, "params": {"model": "res.users", "method": "search", "args": [[]], "kwargs": {}}}).to_string();
    for content_type in [
        Some("Content-Type: text/plain"),
        Some("Content-Type: application/x-www-form-urlencoded"),
        Some("Content-Type: multipart/form-data; boundary=x"),
        Some("Content-Type: application/jsonx"),
        None,
    ] {
        let headers: Vec<&str> = content_type.into_iter().collect();
        let answer = post(
            &server,
            "/web/session/authenticate",
            &headers,
            login.as_bytes(),
        );
        assert_eq!(answer.status, 415, "{content_type:?}: {}", answer.body);
        assert!(
            !answer.head.contains("set-cookie"),
            "no session: {}",
            answer.head
        );
        let (name, message) = error_of(&answer);
        assert_eq!(name, "werkzeug.exceptions.UnsupportedMediaType");
        assert!(message.contains("application/json"), "{message}");
        let mut with_session = headers.clone();
        with_session.push(&cookie);
        let answer = post(
            &server,
            "/web/dataset/call_kw",
            &with_session,
            call.as_bytes(),
        );
        assert_eq!(answer.status, 415, "{content_type:?}: {}", answer.body);
        for path in [
            "/jsonrpc",
            "/web/webclient/version_info",
            "/web/session/destroy",
        ] {
            let answer = post(&server, path, &with_session, b"{}");
            assert_eq!(
                answer.status, 415,
                "{path} {content_type:?}: {}",
                answer.body
            );
        }
    }
    // The session survived the refused destroy calls; a charset is fine.
    let answer = post(
        &server,
        "/web/dataset/call_kw",
        &["Content-Type: Application/JSON; charset=utf-8", &cookie],
        call.as_bytes(),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let result: Value = serde_json::from_str(&answer.body).unwrap();
    assert!(
        result["result"]
            .as_array()
            .is_some_and(|ids| ids.contains(&json!(1))),
        "{result}"
    );
    assert_serving(&server);
}

#[test]
fn slow_headers_are_cut_off_and_others_still_served() {
    let (_pulse, server) = plain_server(&["--header-read-timeout", "1"]);
    let head = format!(
        "POST /web/session/authenticate HTTP/1.1\r\nHost: x\r\n{JSON}\r\nX-Slow: {}\r\n",
        "z".repeat(200)
    );
    let mut slow = TcpStream::connect(addr(&server)).unwrap();
    let mut writer = slow.try_clone().unwrap();
    // One byte every 100 ms: the whole head would take half a minute.
    let dribbler = std::thread::spawn(move || {
        for byte in head.bytes() {
            if writer.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let started = Instant::now();
    // Everyone else is served meanwhile.
    assert_serving(&server);
    slow.set_read_timeout(Some(Duration::from_secs(8))).unwrap();
    let mut buf = [0u8; 512];
    let read = slow.read(&mut buf);
    let closed = started.elapsed();
    match read {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            panic!("the slow connection is still open after {closed:?}")
        }
        Ok(n) if n > 0 => assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            "closed, not answered: {}",
            String::from_utf8_lossy(&buf[..n])
        ),
        // Closed (or reset) with no answer.
        _ => {}
    }
    assert!(
        closed >= Duration::from_millis(900) && closed < Duration::from_secs(5),
        "closed after {closed:?}, with a 1 s header timeout"
    );
    dribbler.join().unwrap();
    assert_serving(&server);
}

#[test]
fn connections_past_the_cap_wait_and_idle_ones_are_closed() {
    let (_pulse, server) = plain_server(&["--max-connections", "4", "--header-read-timeout", "2"]);
    let idle: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(addr(&server)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // The fifth connection is accepted by the kernel but not served while
    // four are open.
    let mut fifth = TcpStream::connect(addr(&server)).unwrap();
    fifth
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    fifth
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buf = [0u8; 512];
    let early = fifth.read(&mut buf);
    assert!(
        early.is_err(),
        "served past the cap: {:?}",
        early.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    );
    // The idle four send no headers: closed after 2 s, and the fifth served.
    fifth
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let answer = read_answer(&mut fifth);
    assert_eq!(answer.status, 200, "{}", answer.body);
    for mut stream in idle {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let n = stream.read(&mut buf).unwrap_or(0);
        assert!(
            n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            "an idle connection was answered: {}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    assert_serving(&server);
}

/// The `pulse_http_requests_total` series of a `/metrics` text.
fn request_series(metrics: &str) -> Vec<String> {
    metrics
        .lines()
        .filter(|l| l.starts_with("pulse_http_requests_total{"))
        .map(|l| l.rsplit_once(' ').unwrap().0.to_string())
        .collect()
}

#[test]
fn made_up_methods_and_paths_add_no_metrics_series() {
    let (_pulse, server) = plain_server(&[]);
    let metrics = || {
        pulse_testing::http::request("GET", &format!("{}/metrics", server.url), &[], "")
            .unwrap()
            .body
    };
    let burst = |round: usize| {
        for n in 0..40 {
            let method = format!("BREW{round}X{n}");
            let answer = exchange(
                &server,
                format!("{method} /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            assert_eq!(answer.status, 405, "{method}: {}", answer.head);
            let path = format!("/no/such/path/{round}/{n}");
            let answer = exchange(
                &server,
                format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            assert_eq!(answer.status, 404, "{path}: {}", answer.head);
        }
    };
    // Every series a burst can add, and /metrics' own, once.
    burst(0);
    metrics();
    burst(1);
    let after_one = request_series(&metrics());
    burst(2);
    let text = metrics();
    let after_two = request_series(&text);
    assert_eq!(after_one, after_two, "new series from made-up methods");
    assert!(!text.contains("BREW"), "{text}");
    assert!(!text.contains("/no/such/path"), "{text}");
    assert!(
        text.contains("method=\"other\",route=\"unmatched\",status=\"404\"} 120"),
        "{text}"
    );
    assert_serving(&server);
}

#[test]
fn metrics_can_require_a_token_and_have_their_own_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let (_pulse, server) = plain_server(&[
        "--metrics-addr",
        &metrics_addr,
        "--metrics-token",
        "s3cret-token",
    ]);
    let get = |url: &str, headers: &[(&str, &str)]| {
        pulse_testing::http::request("GET", &format!("{url}/metrics"), headers, "").unwrap()
    };
    // Not on the main listener at all.
    assert_eq!(get(&server.url, &[]).status, 404);
    assert_eq!(
        get(&server.url, &[("Authorization", "Bearer s3cret-token")]).status,
        404
    );
    let own = format!("http://{metrics_addr}");
    for wrong in [
        None,
        Some("Bearer s3cret"),
        Some("Bearer s3cret-token2"),
        Some("Basic s3cret-token"),
    ] {
        let headers: Vec<(&str, &str)> = wrong.map(|w| ("Authorization", w)).into_iter().collect();
        let answer = get(&own, &headers);
        assert_eq!(answer.status, 401, "{wrong:?}: {}", answer.body);
        assert!(!answer.body.contains("pulse_http_requests_total"));
    }
    let answer = get(&own, &[("Authorization", "Bearer s3cret-token")]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer.body.contains("pulse_http_requests_total"),
        "{}",
        answer.body
    );
    // Nothing else is served there.
    let other = pulse_testing::http::request("GET", &format!("{own}/health"), &[], "").unwrap();
    assert_eq!(other.status, 404);
    assert_serving(&server);

    // A token on the main listener.
    let (_pulse, server) = plain_server(&["--metrics-token", "t0ken"]);
    assert_eq!(get(&server.url, &[]).status, 401);
    assert_eq!(
        get(&server.url, &[("Authorization", "Bearer t0ken")]).status,
        200
    );
}

/// Deep values inside authenticated object calls, over XML-RPC and
/// JSON-RPC, are refused before they reach the ORM: the records they aim
/// at stay as they were.
fn deep_values_change_nothing(backend: Backend) {
    build_addons();
    let pulse = Pulse::on(backend, &["tests/fixtures/addons"]);
    pulse.ok(&["install", "agency_lab"]);
    let server = pulse.serve_in_process();
    let mut admin = pulse.admin(&server);
    let agency = pulse_testing::id(pulse_testing::ok(
        &mut admin,
        "finance.ssc.agency",
        "create",
        json!([{"code": "A", "name": "Agency A"}]),
    ));
    let names = || pulse.strings("SELECT name FROM finance_ssc_agency ORDER BY id");
    let before = names();
    let db = format!("<string>{}</string>", pulse.db_name);
    let bomb = nested_call(
        "execute_kw",
        &[
            &db,
            "<int>1</int>",
            "<string>admin</string>",
            "<string>finance.ssc.agency</string>",
            "<string>write</string>",
        ],
        200_000,
    );
    let answer = post(&server, "/xmlrpc/2/object", &[XML], bomb.as_bytes());
    assert!(
        fault_string(&answer).contains(NESTING_FAULT),
        "{}",
        answer.body
    );
    assert_serving(&server);
    let call = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"params\":{{\"service\":\"object\",\"method\":\"execute_kw\",\"args\":[\"{}\",1,\"admin\",\"finance.ssc.agency\",\"write\",[[{agency}],{{\"name\":{}}}]]}}}}",
        pulse.db_name,
        nested_json(5000)
    );
    let answer = post(&server, "/jsonrpc", &[JSON], call.as_bytes());
    let (name, message) = error_of(&answer);
    assert_eq!(name, "werkzeug.exceptions.BadRequest", "{message}");
    assert!(message.contains("recursion limit exceeded"), "{message}");
    assert_serving(&server);
    assert_eq!(names(), before);
}
