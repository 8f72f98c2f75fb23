//! XML-RPC, as Python's `xmlrpc.client` and Odoo speak it: method calls
//! in, responses and faults out, values mapped to and from JSON (`int`,
//! `boolean`, `double`, `string`, `array`, `struct`, `nil`, dates as
//! strings, base64 as its text).

use serde_json::{Map, Number, Value};

/// A parsed `<methodCall>`: the method name and its parameters.
pub fn parse_call(body: &str) -> Result<(String, Vec<Value>), String> {
    let tokens = tokenize(body)?;
    let mut p = Parser { tokens, at: 0 };
    p.open("methodCall")?;
    p.open("methodName")?;
    let name = p.text();
    p.close("methodName")?;
    let mut params = Vec::new();
    if p.peek_open("params") {
        p.open("params")?;
        while p.peek_open("param") {
            p.open("param")?;
            params.push(p.value()?);
            p.close("param")?;
        }
        p.close("params")?;
    }
    p.close("methodCall")?;
    Ok((name.trim().to_string(), params))
}

/// A `<methodResponse>` carrying `value`.
pub fn response(value: &Value) -> String {
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n");
    write_value(value, &mut out);
    out.push_str("\n</param>\n</params>\n</methodResponse>\n");
    out
}

/// A `<fault>` with Odoo's integer code and message.
pub fn fault(code: i64, message: &str) -> String {
    fault_with(Value::from(code), message)
}

/// A `<fault>` whose code is text, as Odoo's legacy `/xmlrpc/<service>` sends.
pub fn fault_with(code: Value, message: &str) -> String {
    let mut fault = Map::new();
    fault.insert("faultCode".into(), code);
    fault.insert("faultString".into(), Value::from(message));
    let mut out = String::from("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n");
    write_value(&Value::Object(fault), &mut out);
    out.push_str("\n</fault>\n</methodResponse>\n");
    out
}

fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Control characters are not allowed in XML 1.0; Odoo strips them.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

fn write_value(value: &Value, out: &mut String) {
    out.push_str("<value>");
    match value {
        // XML-RPC without allow_none has no nil: Odoo answers False.
        Value::Null | Value::Bool(false) => out.push_str("<boolean>0</boolean>"),
        Value::Bool(true) => out.push_str("<boolean>1</boolean>"),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            out.push_str(&format!("<int>{n}</int>"));
        }
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            out.push_str(&format!("<double>{f:?}</double>"));
        }
        Value::String(s) => {
            out.push_str("<string>");
            escape(s, out);
            out.push_str("</string>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>\n");
            for item in items {
                write_value(item, out);
                out.push('\n');
            }
            out.push_str("</data></array>");
        }
        Value::Object(map) => {
            out.push_str("<struct>\n");
            for (key, item) in map {
                out.push_str("<member>\n<name>");
                escape(key, out);
                out.push_str("</name>\n");
                write_value(item, out);
                out.push_str("\n</member>\n");
            }
            out.push_str("</struct>");
        }
    }
    out.push_str("</value>");
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open(String),
    Close(String),
    /// `<nil/>` and friends.
    Empty(String),
    Text(String),
}

/// Splits XML into tags and (entity-decoded) text; skips the prolog,
/// comments and processing instructions.
fn tokenize(xml: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = xml;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").ok_or("unterminated CDATA section")?;
            tokens.push(Token::Text(after[..end].to_string()));
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or("unterminated comment")?;
            rest = &after[end + 3..];
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            let end = rest.find('>').ok_or("unterminated declaration")?;
            rest = &rest[end + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').ok_or("unterminated tag")?;
            let tag = after[..end].trim();
            rest = &after[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                tokens.push(Token::Close(name.trim().to_string()));
            } else if let Some(name) = tag.strip_suffix('/') {
                tokens.push(Token::Empty(tag_name(name)));
            } else {
                tokens.push(Token::Open(tag_name(tag)));
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            tokens.push(Token::Text(decode(&rest[..end])?));
            rest = &rest[end..];
        }
    }
    Ok(tokens)
}

fn tag_name(tag: &str) -> String {
    tag.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn decode(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').ok_or("unterminated entity")? + at;
        let entity = &rest[at + 1..end];
        match entity {
            "amp" => out.push('&'),
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "quot" => out.push('"'),
            "apos" => out.push('\''),
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                let c = code
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("unknown entity &{entity};"))?;
                out.push(c);
            }
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    /// Skips whitespace-only text.
    fn skip_space(&mut self) {
        while let Some(Token::Text(t)) = self.tokens.get(self.at) {
            if !t.trim().is_empty() {
                break;
            }
            self.at += 1;
        }
    }

    fn peek_open(&mut self, name: &str) -> bool {
        self.skip_space();
        matches!(self.tokens.get(self.at), Some(Token::Open(n)) if n == name)
    }

    fn open(&mut self, name: &str) -> Result<(), String> {
        self.skip_space();
        match self.tokens.get(self.at) {
            Some(Token::Open(n)) if n == name => {
                self.at += 1;
                Ok(())
            }
            other => Err(format!("expected <{name}>, found {other:?}")),
        }
    }

    fn close(&mut self, name: &str) -> Result<(), String> {
        self.skip_space();
        match self.tokens.get(self.at) {
            Some(Token::Close(n)) if n == name => {
                self.at += 1;
                Ok(())
            }
            other => Err(format!("expected </{name}>, found {other:?}")),
        }
    }

    /// The text up to the next tag (empty when there is none).
    fn text(&mut self) -> String {
        let mut out = String::new();
        while let Some(Token::Text(t)) = self.tokens.get(self.at) {
            out.push_str(t);
            self.at += 1;
        }
        out
    }

    fn value(&mut self) -> Result<Value, String> {
        self.open("value")?;
        // A value without a type tag is a string.
        let text = self.text();
        let value = match self.tokens.get(self.at).cloned() {
            Some(Token::Close(n)) if n == "value" => Value::String(text),
            Some(Token::Empty(kind)) => {
                self.at += 1;
                match kind.as_str() {
                    "nil" => Value::Null,
                    "string" => Value::String(String::new()),
                    "array" | "data" => Value::Array(Vec::new()),
                    "struct" => Value::Object(Map::new()),
                    other => return Err(format!("unexpected <{other}/>")),
                }
            }
            Some(Token::Open(kind)) => {
                self.at += 1;
                let value = self.typed(&kind)?;
                self.close(&kind)?;
                value
            }
            other => return Err(format!("expected a value, found {other:?}")),
        };
        self.close("value")?;
        Ok(value)
    }

    fn typed(&mut self, kind: &str) -> Result<Value, String> {
        Ok(match kind {
            "int" | "i4" | "i8" => {
                let text = self.text();
                Value::from(
                    text.trim()
                        .parse::<i64>()
                        .map_err(|_| format!("invalid integer {text:?}"))?,
                )
            }
            "boolean" => Value::Bool(self.text().trim() == "1"),
            "double" => {
                let text = self.text();
                let f: f64 = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("invalid double {text:?}"))?;
                Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
            "string" | "base64" => Value::String(self.text()),
            // 20260131T10:00:00 -> 2026-01-31 10:00:00, as Odoo writes datetimes.
            "dateTime.iso8601" => {
                let text = self.text();
                let t = text.trim();
                Value::String(match (t.get(..4), t.get(4..6), t.get(6..8), t.get(9..)) {
                    (Some(y), Some(m), Some(d), Some(time)) if !t.contains('-') => {
                        format!("{y}-{m}-{d} {time}")
                    }
                    _ => t.replacen('T', " ", 1),
                })
            }
            "nil" => Value::Null,
            "array" => {
                let mut items = Vec::new();
                if self.peek_open("data") {
                    self.open("data")?;
                    while self.peek_open("value") {
                        items.push(self.value()?);
                    }
                    self.close("data")?;
                } else {
                    self.skip_space();
                    if let Some(Token::Empty(n)) = self.tokens.get(self.at)
                        && n == "data"
                    {
                        self.at += 1;
                    }
                }
                Value::Array(items)
            }
            "struct" => {
                let mut map = Map::new();
                while self.peek_open("member") {
                    self.open("member")?;
                    self.open("name")?;
                    let name = self.text();
                    self.close("name")?;
                    let value = self.value()?;
                    self.close("member")?;
                    map.insert(name, value);
                }
                Value::Object(map)
            }
            other => return Err(format!("unsupported XML-RPC type <{other}>")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_calls_parse() {
        // What Python's xmlrpc.client sends for execute_kw.
        let body = "<?xml version='1.0'?>\n<methodCall>\n<methodName>execute_kw</methodName>\n<params>\n\
<param>\n<value><string>pulse</string></value>\n</param>\n<param>\n<value><int>2</int></value>\n</param>\n\
<param>\n<value><string>a&amp;b &lt;c&gt;</string></value>\n</param>\n<param>\n<value><array><data>\n\
<value><array><data>\n<value><array><data>\n<value><string>active</string></value>\n<value><string>=</string></value>\n\
<value><boolean>1</boolean></value>\n</data></array></value>\n</data></array></value>\n</data></array></value>\n</param>\n\
<param>\n<value><struct>\n<member>\n<name>fields</name>\n<value><array><data>\n<value><string>code</string></value>\n\
</data></array></value>\n</member>\n<member>\n<name>limit</name>\n<value><double>2.5</double></value>\n</member>\n\
<member>\n<name>x</name>\n<value><nil/></value></member>\n<member>\n<name>d</name>\n<value><dateTime.iso8601>20260131T10:00:00</dateTime.iso8601></value></member>\n\
<member>\n<name>bare</name>\n<value>text</value></member>\n<member>\n<name>empty</name>\n<value><array><data>\n</data></array></value></member>\n</struct></value>\n</param>\n</params>\n</methodCall>\n";
        let (name, params) = parse_call(body).unwrap();
        assert_eq!(name, "execute_kw");
        assert_eq!(
            params,
            vec![
                json!("pulse"),
                json!(2),
                json!("a&b <c>"),
                json!([[["active", "=", true]]]),
                json!({"fields": ["code"], "limit": 2.5, "x": null, "d": "2026-01-31 10:00:00", "bare": "text", "empty": []}),
            ]
        );
    }

    #[test]
    fn responses_and_faults_round_trip() {
        let value = json!({"a": [1, 2.5, "x<y", true, false, null], "b": {}});
        let xml = response(&value);
        let call = xml
            .replace("<methodResponse>", "<methodCall><methodName>r</methodName>")
            .replace("</methodResponse>", "</methodCall>");
        let (_, params) = parse_call(&call).unwrap();
        assert_eq!(
            params,
            vec![json!({"a": [1, 2.5, "x<y", true, false, false], "b": {}})]
        );
        let f = fault(4, "You are not allowed");
        assert!(
            f.contains("<name>faultCode</name>\n<value><int>4</int></value>"),
            "{f}"
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for body in [
            "",
            "<methodCall>",
            "<methodCall><methodName>x</methodName><params><param><value><int>z</int></value></param></params></methodCall>",
            "<a>&bogus;</a>",
        ] {
            assert!(parse_call(body).is_err(), "{body}");
        }
    }
}
