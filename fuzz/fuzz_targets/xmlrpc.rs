//! The XML-RPC decoder: any body `/xmlrpc/2/<service>` accepts (UTF-8) is
//! parsed as a `<methodCall>`; what parses is written back as a response
//! and the method name as a fault, as the server answers.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pulse_fuzz::on_worker_stack;
use pulse_api::fuzzing::{fault, parse_call, response};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    on_worker_stack(|| {
        if let Ok((method, params)) = parse_call(body) {
            let _ = response(&serde_json::Value::Array(params));
            let _ = fault(1, &method);
        }
    });
});
