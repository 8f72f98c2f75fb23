//! Unit tests of `pulse-api`, compiled into the end-to-end test binary
//! (`tests/e2e.rs`, module `units::api`): one binary to build and link
//! instead of the crate compiled a second time as its own test harness.

mod xmlrpc {
    use pulse_api::xmlrpc::{DecodeError, MAX_DEPTH, fault, parse_call, response};
    use serde_json::{Value, json};

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

    fn nested(depth: usize) -> String {
        format!(
            "<methodCall><methodName>x</methodName><params><param>{}<value><int>1</int></value>{}</param></params></methodCall>",
            "<value><array><data>".repeat(depth),
            "</data></array></value>".repeat(depth)
        )
    }

    #[test]
    fn nesting_stops_at_the_limit_without_recursing() {
        let (_, params) = parse_call(&nested(MAX_DEPTH)).unwrap();
        let mut value = &params[0];
        for _ in 0..MAX_DEPTH {
            value = &value[0];
        }
        assert_eq!(value, &json!(1));
        assert!(matches!(
            parse_call(&nested(MAX_DEPTH + 1)),
            Err(DecodeError::TooDeep)
        ));
        // The attack of issue 16: 200,000 levels, about 4 MB.
        assert!(matches!(
            parse_call(&nested(200_000)),
            Err(DecodeError::TooDeep)
        ));
        let structs = format!(
            "<methodCall><methodName>x</methodName><params><param>{}</param></params></methodCall>",
            "<value><struct><member><name>a</name>".repeat(MAX_DEPTH + 1)
        );
        assert!(matches!(parse_call(&structs), Err(DecodeError::TooDeep)));
    }

    #[test]
    fn deep_answers_are_written_without_recursing() {
        let mut value = json!(1);
        for _ in 0..100_000 {
            value = Value::Array(vec![value]);
        }
        let xml = response(&value);
        assert_eq!(xml.matches("<array><data>").count(), 100_000);
        // Dropping a value that deep would recurse in serde_json; unwind it here.
        while let Value::Array(mut items) = value {
            value = items.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn entities_never_expand_beyond_the_five_and_character_references() {
        let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\
<methodCall><methodName>x</methodName><params><param><value><string>&lol2;</string></value></param></params></methodCall>";
        assert!(matches!(parse_call(laughs), Err(DecodeError::DocType)));
        let undeclared = "<methodCall><methodName>x</methodName><params><param><value>&lol;</value></param></params></methodCall>";
        assert!(matches!(parse_call(undeclared), Err(DecodeError::UnknownEntity(e)) if e == "lol"));
        let refs = "<methodCall><methodName>x</methodName><params><param><value>&#65;&#x42;&amp;<![CDATA[<c>]]></value></param></params></methodCall>";
        assert_eq!(parse_call(refs).unwrap().1, vec![json!("AB&<c>")]);
    }

    #[test]
    fn truncated_and_mismatched_documents_are_errors() {
        let whole = nested(3);
        for end in [10, 40, whole.len() / 2, whole.len() - 1] {
            assert!(parse_call(&whole[..end]).is_err(), "{}", &whole[..end]);
        }
        for body in [
            "<methodCall><methodName>x</methodName></methodCall><methodCall>",
            "<methodCall><methodName>x</methodName><params><param><value><int>1</string></value></param></params></methodCall>",
            "<methodCall><methodName>x</methodName><params><param><value><array><data><value/></struct></array></value></param></params></methodCall>",
            "<methodCall><methodName>x</methodName><params><param><value><int>1</int></value></param></params>",
            "<methodCall><methodName>x</methodName><params><param><value>&#0;</value></param></params></methodCall>",
            "<methodCall><methodName>x</methodName><params><param><value>&#xD800;</value></param></params></methodCall>",
        ] {
            assert!(parse_call(body).is_err(), "{body}");
        }
    }
}

mod faults {
    use axum::http::StatusCode;
    use pulse_api::faults::{Exception, RpcError};
    use pulse_core::Kind;

    #[test]
    fn odoo_codes_and_statuses() {
        assert_eq!(Exception::Core(Kind::AccessDenied).fault_code(), 3);
        assert_eq!(Exception::Core(Kind::AccessError).fault_code(), 4);
        assert_eq!(Exception::Core(Kind::MissingError).fault_code(), 2);
        assert_eq!(Exception::Core(Kind::KeyError).fault_code(), 1);
        assert_eq!(Exception::Core(Kind::KeyError).short_name(), "KeyError");
        assert_eq!(
            Exception::Core(Kind::ValidationError).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            Exception::Core(Kind::AddonTrap).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(RpcError::session_expired().to_json()["code"], 100);
        assert_eq!(RpcError::access_denied().to_json()["code"], 0);
        assert_eq!(
            RpcError::new(Exception::NotFound, "x").to_json()["code"],
            404
        );
    }
}

mod fuzzing {
    /// Where the server decodes requests: a tokio worker's stack.
    const WORKER_STACK: usize = 2 << 20;

    /// The XML-RPC target's saved crashers (`fuzz/regressions/xmlrpc/`,
    /// arrays and structs nested 3,500 deep that overflowed a worker's
    /// stack) are refused by the nesting limit, on a stack the size of
    /// the server's.
    #[test]
    fn saved_xmlrpc_crashers_are_refused() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions/xmlrpc");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let body = std::fs::read_to_string(&path).unwrap();
            let outcome = std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn(move || pulse_api::fuzzing::parse_call(&body).map(|_| ()))
                .unwrap()
                .join()
                .unwrap();
            assert!(
                matches!(outcome, Err(pulse_api::xmlrpc::DecodeError::TooDeep)),
                "{}: {outcome:?}",
                path.display()
            );
            seen += 1;
        }
        assert_eq!(seen, 2, "the saved crashers of {dir}");
    }
}
