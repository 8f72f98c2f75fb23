//! XML-RPC, as Python's `xmlrpc.client` and Odoo speak it: method calls
//! in, responses and faults out, values mapped to and from JSON (`int`,
//! `boolean`, `double`, `string`, `array`, `struct`, `nil`, dates as
//! strings, base64 as its text).
//!
//! Requests come from anyone, so decoding is bounded: quick-xml tokenizes
//! (no DTDs, so no entity expansion), values are built with an explicit
//! stack instead of recursion, and arrays and structs nest at most
//! [`MAX_DEPTH`] levels. Every value costs a small constant number of bytes
//! per byte of input.

use quick_xml::events::Event;
use serde_json::{Map, Number, Value};

/// How deeply arrays and structs may nest in a request, as serde_json
/// allows JSON to (its recursion limit is 128 as well).
pub const MAX_DEPTH: usize = 128;

/// Why a request is not a valid XML-RPC call.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Arrays and structs nested deeper than [`MAX_DEPTH`].
    #[error("values nested deeper than {MAX_DEPTH} levels (the nesting limit)")]
    TooDeep,
    /// A `<!DOCTYPE …>`: its entities could expand without bound.
    #[error("document type declarations (<!DOCTYPE …>) are not accepted")]
    DocType,
    /// An entity other than XML's five and character references.
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    /// Not well-formed XML, as quick-xml reports it.
    #[error("{0}")]
    Xml(#[from] quick_xml::Error),
    /// Well-formed XML that is not an XML-RPC call.
    #[error("{0}")]
    Shape(String),
}

/// A parsed `<methodCall>`: the method name and its parameters. The entry
/// point the XML-RPC fuzz target drives.
pub fn parse_call(body: &str) -> Result<(String, Vec<Value>), DecodeError> {
    let mut p = Parser::new(body);
    p.open("methodCall")?;
    p.open("methodName")?;
    let name = p.text()?;
    p.close("methodName")?;
    let mut params = Vec::new();
    if p.peek_open("params")? {
        p.open("params")?;
        while p.peek_open("param")? {
            p.open("param")?;
            params.push(p.value()?);
            p.close("param")?;
        }
        p.close("params")?;
    } else if p.peek_empty("params")? {
        p.next()?;
    }
    p.close("methodCall")?;
    p.skip_space()?;
    match p.next()? {
        Token::End => Ok((name.trim().to_string(), params)),
        other => Err(DecodeError::Shape(format!(
            "expected the end of the document, found {other}"
        ))),
    }
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

/// What is left to write of a value: a value, a struct member's opening
/// with its name, or closing markup.
enum Pending<'a> {
    Value(&'a Value),
    Member(&'a str),
    Markup(&'static str),
}

/// Writes `value` with an explicit stack, so no answer, however deep,
/// recurses on the thread's stack.
fn write_value(value: &Value, out: &mut String) {
    let mut pending = vec![Pending::Value(value)];
    while let Some(next) = pending.pop() {
        let value = match next {
            Pending::Markup(markup) => {
                out.push_str(markup);
                continue;
            }
            Pending::Member(name) => {
                out.push_str("<member>\n<name>");
                escape(name, out);
                out.push_str("</name>\n");
                continue;
            }
            Pending::Value(value) => value,
        };
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
                pending.push(Pending::Markup("</data></array></value>"));
                for item in items.iter().rev() {
                    pending.push(Pending::Markup("\n"));
                    pending.push(Pending::Value(item));
                }
                continue;
            }
            Value::Object(map) => {
                out.push_str("<struct>\n");
                pending.push(Pending::Markup("</struct></value>"));
                for (key, item) in map.iter().rev() {
                    pending.push(Pending::Markup("\n</member>\n"));
                    pending.push(Pending::Value(item));
                    pending.push(Pending::Member(key));
                }
                continue;
            }
        }
        out.push_str("</value>");
    }
}

/// What the parser reads: tags and (entity-decoded) text.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open(String),
    Close(String),
    /// `<nil/>` and friends.
    Empty(String),
    Text(String),
    /// The end of the document.
    End,
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Open(name) => write!(f, "<{name}>"),
            Token::Close(name) => write!(f, "</{name}>"),
            Token::Empty(name) => write!(f, "<{name}/>"),
            Token::Text(text) => {
                // Enough to recognise, never the whole of a huge text.
                let shown: String = text.chars().take(40).collect();
                write!(f, "the text {shown:?}")
            }
            Token::End => f.write_str("the end of the document"),
        }
    }
}

/// One array or struct being read.
enum Frame {
    Array(Vec<Value>),
    /// The members so far, and the name of the member being read.
    Struct(Map<String, Value>, String),
}

/// A pull parser over quick-xml's events, with one token of lookahead.
struct Parser<'a> {
    reader: quick_xml::Reader<&'a [u8]>,
    /// Text read so far that no tag has ended yet.
    text: String,
    /// A tag read after text, given out after the text.
    after_text: Option<Token>,
    peeked: Option<Token>,
}

impl<'a> Parser<'a> {
    fn new(xml: &'a str) -> Parser<'a> {
        Parser {
            reader: quick_xml::Reader::from_str(xml),
            text: String::new(),
            after_text: None,
            peeked: None,
        }
    }

    /// The next token from the reader: adjacent text, CDATA and references
    /// become one text; comments, the XML declaration and processing
    /// instructions are skipped.
    fn lex(&mut self) -> Result<Token, DecodeError> {
        if let Some(token) = self.after_text.take() {
            return Ok(token);
        }
        loop {
            let token = match self.reader.read_event()? {
                Event::Text(text) => {
                    self.text.push_str(&text.xml10_content());
                    continue;
                }
                Event::CData(data) => {
                    self.text.push_str(&data.xml10_content());
                    continue;
                }
                Event::GeneralRef(reference) => {
                    let c = match reference.resolve_char_ref()? {
                        Some(c) => c,
                        None => match &*reference {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            other => return Err(DecodeError::UnknownEntity(other.to_string())),
                        },
                    };
                    self.text.push(c);
                    continue;
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => continue,
                Event::DocType(_) => return Err(DecodeError::DocType),
                Event::Start(tag) => Token::Open(tag.name().as_ref().to_string()),
                Event::End(tag) => Token::Close(tag.name().as_ref().to_string()),
                Event::Empty(tag) => Token::Empty(tag.name().as_ref().to_string()),
                Event::Eof => Token::End,
            };
            if self.text.is_empty() {
                return Ok(token);
            }
            self.after_text = Some(token);
            return Ok(Token::Text(std::mem::take(&mut self.text)));
        }
    }

    fn next(&mut self) -> Result<Token, DecodeError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lex(),
        }
    }

    fn peek(&mut self) -> Result<&Token, DecodeError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex()?);
        }
        Ok(self.peeked.as_ref().expect("just peeked"))
    }

    /// Skips whitespace-only text.
    fn skip_space(&mut self) -> Result<(), DecodeError> {
        while matches!(self.peek()?, Token::Text(t) if t.trim().is_empty()) {
            self.next()?;
        }
        Ok(())
    }

    fn peek_open(&mut self, name: &str) -> Result<bool, DecodeError> {
        self.skip_space()?;
        Ok(matches!(self.peek()?, Token::Open(n) if n == name))
    }

    fn peek_empty(&mut self, name: &str) -> Result<bool, DecodeError> {
        self.skip_space()?;
        Ok(matches!(self.peek()?, Token::Empty(n) if n == name))
    }

    fn open(&mut self, name: &str) -> Result<(), DecodeError> {
        self.expect(Token::Open(name.to_string()))
    }

    fn close(&mut self, name: &str) -> Result<(), DecodeError> {
        self.expect(Token::Close(name.to_string()))
    }

    /// Reads the next token after white space, which must be `wanted`.
    fn expect(&mut self, wanted: Token) -> Result<(), DecodeError> {
        self.skip_space()?;
        match self.next()? {
            found if found == wanted => Ok(()),
            other => Err(DecodeError::Shape(format!(
                "expected {wanted}, found {other}"
            ))),
        }
    }

    /// The text up to the next tag (empty when there is none).
    fn text(&mut self) -> Result<String, DecodeError> {
        if matches!(self.peek()?, Token::Text(_))
            && let Token::Text(text) = self.next()?
        {
            return Ok(text);
        }
        Ok(String::new())
    }

    /// One `<value>`, its arrays and structs read with an explicit stack
    /// at most [`MAX_DEPTH`] deep.
    fn value(&mut self) -> Result<Value, DecodeError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let mut done = self.value_start(&mut stack)?;
            loop {
                if let Some(value) = done.take() {
                    match stack.last_mut() {
                        None => return Ok(value),
                        Some(Frame::Array(items)) => items.push(value),
                        Some(Frame::Struct(map, name)) => {
                            map.insert(std::mem::take(name), value);
                            self.close("member")?;
                        }
                    }
                }
                // The innermost array or struct: another item, or its end.
                let more = match stack.last_mut() {
                    Some(Frame::Array(_)) => {
                        self.peek_open("value")? || self.peek_empty("value")?
                    }
                    Some(Frame::Struct(_, name)) => {
                        let member = self.peek_open("member")?;
                        if member {
                            self.open("member")?;
                            self.open("name")?;
                            *name = self.text()?;
                            self.close("name")?;
                        }
                        member
                    }
                    None => return Err(DecodeError::Shape("a value ended twice".into())),
                };
                if more {
                    break;
                }
                done = Some(match stack.pop() {
                    Some(Frame::Array(items)) => {
                        self.close("data")?;
                        self.close("array")?;
                        Value::Array(items)
                    }
                    Some(Frame::Struct(map, _)) => {
                        self.close("struct")?;
                        Value::Object(map)
                    }
                    None => return Err(DecodeError::Shape("a value ended twice".into())),
                });
                self.close("value")?;
            }
        }
    }

    /// Reads the start of a `<value>`: the whole of a scalar (or an empty
    /// array or struct), or the opening of an array or struct, pushed on
    /// `stack` for [`Parser::value`] to fill.
    fn value_start(&mut self, stack: &mut Vec<Frame>) -> Result<Option<Value>, DecodeError> {
        if self.peek_empty("value")? {
            self.next()?;
            return Ok(Some(Value::String(String::new())));
        }
        self.open("value")?;
        // A value without a type tag is a string.
        let text = self.text()?;
        let kind = match self.next()? {
            Token::Close(n) if n == "value" => return Ok(Some(Value::String(text))),
            Token::Empty(kind) => {
                let value = match kind.as_str() {
                    "nil" => Value::Null,
                    "string" | "base64" => Value::String(String::new()),
                    "array" | "data" => Value::Array(Vec::new()),
                    "struct" => Value::Object(Map::new()),
                    other => return Err(DecodeError::Shape(format!("unexpected <{other}/>"))),
                };
                self.close("value")?;
                return Ok(Some(value));
            }
            Token::Open(kind) => kind,
            other => {
                return Err(DecodeError::Shape(format!(
                    "expected a value, found {other}"
                )));
            }
        };
        if matches!(kind.as_str(), "array" | "struct") && stack.len() >= MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        match kind.as_str() {
            "array" => {
                self.skip_space()?;
                match self.peek()? {
                    // `<array><data/></array>` and `<array></array>`: empty.
                    Token::Empty(n) if n == "data" => {
                        self.next()?;
                        self.close("array")?;
                    }
                    Token::Close(n) if n == "array" => {
                        self.next()?;
                    }
                    _ => {
                        self.open("data")?;
                        stack.push(Frame::Array(Vec::new()));
                        return Ok(None);
                    }
                }
                self.close("value")?;
                Ok(Some(Value::Array(Vec::new())))
            }
            "struct" => {
                stack.push(Frame::Struct(Map::new(), String::new()));
                Ok(None)
            }
            scalar => {
                let value = self.scalar(scalar)?;
                self.close(scalar)?;
                self.close("value")?;
                Ok(Some(value))
            }
        }
    }

    /// The content of `<kind>…</kind>` for a scalar type.
    fn scalar(&mut self, kind: &str) -> Result<Value, DecodeError> {
        let bad = |what: &str, text: &str| {
            let shown: String = text.chars().take(40).collect();
            DecodeError::Shape(format!("invalid {what} {shown:?}"))
        };
        Ok(match kind {
            "int" | "i4" | "i8" => {
                let text = self.text()?;
                Value::from(
                    text.trim()
                        .parse::<i64>()
                        .map_err(|_| bad("integer", &text))?,
                )
            }
            "boolean" => Value::Bool(self.text()?.trim() == "1"),
            "double" => {
                let text = self.text()?;
                let f: f64 = text.trim().parse().map_err(|_| bad("double", &text))?;
                Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
            "string" | "base64" => Value::String(self.text()?),
            // 20260131T10:00:00 -> 2026-01-31 10:00:00, as Odoo writes datetimes.
            "dateTime.iso8601" => {
                let text = self.text()?;
                let t = text.trim();
                Value::String(match (t.get(..4), t.get(4..6), t.get(6..8), t.get(9..)) {
                    (Some(y), Some(m), Some(d), Some(time)) if !t.contains('-') => {
                        format!("{y}-{m}-{d} {time}")
                    }
                    _ => t.replacen('T', " ", 1),
                })
            }
            "nil" => Value::Null,
            other => {
                return Err(DecodeError::Shape(format!(
                    "unsupported XML-RPC type <{other}>"
                )));
            }
        })
    }
}
