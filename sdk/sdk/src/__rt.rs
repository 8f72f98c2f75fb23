//! Glue used by the code that [`addon!`](crate::addon) and the derive macros
//! expand to. Not part of the public API.

use crate::{Env, Error, HookFn, Hooks, Method, MigrateFn, Result};
use pulse_schema::{CronSpec, Description, MethodSpec, ModelSpec, RouteAuth, RouteSpec};
use serde_json::{Map, Value};

/// The generated WIT bindings; only macro expansions name them.
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/0.2.0",
        world: "pulse:addon/addon@0.2.0",
        pub_export_macro: true,
        export_macro_name: "__export_pulse_addon",
        default_bindings_module: "pulse_sdk::__rt::bindings",
    });
}

pub use bindings::pulse::addon::types::{Context as WitContext, Error as WitError};

/// What `addon!` registered: a constant, so a fresh instance finds its
/// methods and routes without building anything (the model specs are
/// built only when the host asks for the description).
pub struct AddonDef {
    /// Builds the specs of the models the addon defines.
    pub models: fn() -> Vec<ModelSpec>,
    /// Methods the addon implements.
    pub methods: &'static [MethodEntry],
    /// HTTP routes the addon serves.
    pub routes: &'static [RouteEntry],
    /// Scheduled jobs the addon exports.
    pub crons: &'static [CronEntry],
    /// Lifecycle hooks.
    pub hooks: Hooks,
    /// Record-event handlers.
    pub events: &'static [EventEntry],
    /// The authentication policy, if the addon has one.
    pub auth_policy: Option<AuthPolicyFn>,
}

/// An authentication policy's function.
pub type AuthPolicyFn = fn(&Env, &crate::LoginAttempt) -> Result<crate::LoginDecision>;

/// One registered record-event handler.
pub struct EventEntry {
    name: &'static str,
    model: &'static str,
    on: &'static [crate::EventKind],
    domain: Option<&'static str>,
    fields: &'static [&'static str],
    handle: fn(&Env, &crate::RecordEvent) -> Result<()>,
}

impl EventEntry {
    /// The entry for an `#[event]` function.
    pub const fn of<E: crate::EventHandler>() -> EventEntry {
        EventEntry {
            name: E::NAME,
            model: E::MODEL,
            on: E::ON,
            domain: E::DOMAIN,
            fields: E::FIELDS,
            handle: E::handle,
        }
    }
}

use bindings::exports::pulse::addon::{auth_policy as wit_policy, events as wit_events};

/// Hands a record event from the host to its handler.
pub fn on_event(
    def: &AddonDef,
    context: WitContext,
    event: wit_events::RecordEvent,
) -> std::result::Result<(), WitError> {
    let entry = def
        .events
        .iter()
        .find(|e| e.name == event.handler)
        .ok_or_else(|| {
            WitError::Internal(format!(
                "this addon has no event handler '{}'",
                event.handler
            ))
        })?;
    let record_event = crate::RecordEvent {
        model: event.model,
        kind: match event.kind {
            wit_events::EventKind::Create => crate::EventKind::Create,
            wit_events::EventKind::Write => crate::EventKind::Write,
            wit_events::EventKind::Unlink => crate::EventKind::Unlink,
        },
        ids: event.ids,
        fields: event.fields,
        old_values: parse_json(&event.old_values, "old values", "[]")?,
        new_values: parse_json(&event.new_values, "new values", "[]")?,
        uid: event.uid,
    };
    let env = Env::new().with_context(context_of(context)?);
    (entry.handle)(&env, &record_event).map_err(WitError::from)
}

/// Asks the addon's authentication policy about a login.
pub fn check_login(
    def: &AddonDef,
    attempt: wit_policy::LoginAttempt,
) -> std::result::Result<wit_policy::Decision, WitError> {
    let Some(policy) = def.auth_policy else {
        return Err(WitError::Internal(
            "this addon has no authentication policy".into(),
        ));
    };
    let attempt = crate::LoginAttempt {
        login: attempt.login,
        uid: attempt.uid,
        groups: attempt.groups,
        address: attempt.address,
        door: attempt.door,
        second_factor: attempt.second_factor,
    };
    Ok(
        match policy(&Env::new(), &attempt).map_err(WitError::from)? {
            crate::LoginDecision::Allow => wit_policy::Decision::Allow,
            crate::LoginDecision::Refuse(why) => wit_policy::Decision::Refuse(why),
            crate::LoginDecision::SecondFactor(which) => wit_policy::Decision::SecondFactor(which),
        },
    )
}

/// One registered route.
pub struct RouteEntry {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    auth: RouteAuth,
    max_body: Option<usize>,
    handle: fn(&Env, &crate::Request) -> Result<crate::Response>,
}

impl RouteEntry {
    /// The entry for a `#[route]` function.
    pub const fn of<R: crate::Route>() -> RouteEntry {
        RouteEntry {
            name: R::NAME,
            method: R::METHOD,
            path: R::PATH,
            auth: R::AUTH,
            max_body: R::MAX_BODY,
            handle: R::handle,
        }
    }
}

use bindings::exports::pulse::addon::routes as wit_routes;

/// Runs the route `name` for a request from the host.
pub fn handle_route(
    def: &AddonDef,
    name: &str,
    request: wit_routes::Request,
) -> std::result::Result<wit_routes::Response, WitError> {
    let entry = def
        .routes
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| WitError::Internal(format!("this addon has no route '{name}'")))?;
    let request = crate::Request {
        method: request.method,
        path: request.path,
        params: request.params,
        query: request.query,
        headers: request.headers,
        body: request.body,
        uid: request.uid,
    };
    let response = (entry.handle)(&Env::new(), &request).map_err(WitError::from)?;
    Ok(wit_routes::Response {
        status: response.status,
        headers: response.headers,
        body: response.body,
    })
}

/// One registered scheduled job.
pub struct CronEntry {
    job: &'static str,
    name: &'static str,
    interval_number: i64,
    interval_type: &'static str,
    run: fn(&Env, String) -> Result<()>,
}

impl CronEntry {
    /// The entry for a `#[cron]` function.
    pub const fn of<C: crate::Cron>() -> CronEntry {
        CronEntry {
            job: C::JOB,
            name: C::NAME,
            interval_number: C::INTERVAL_NUMBER,
            interval_type: C::INTERVAL_TYPE,
            run: C::run,
        }
    }
}

/// Runs the scheduled job `job`, due at `scheduled`, with the context the
/// host passed.
pub fn run_cron(
    def: &AddonDef,
    context: WitContext,
    job: &str,
    scheduled: String,
) -> std::result::Result<(), WitError> {
    let entry =
        def.crons.iter().find(|c| c.job == job).ok_or_else(|| {
            WitError::Internal(format!("this addon has no scheduled job '{job}'"))
        })?;
    let env = Env::new().with_context(context_of(context)?);
    (entry.run)(&env, scheduled).map_err(WitError::from)
}

/// The context the host passed, in the SDK's type.
fn context_of(context: WitContext) -> std::result::Result<crate::Context, WitError> {
    crate::Context::from_wire(pulse_schema::WireContext {
        lang: context.lang,
        tz: context.tz,
        active_test: context.active_test,
        company_id: context.company_id,
        extra: context.extra,
    })
    .map_err(|e| WitError::Internal(format!("bad context: {e}")))
}

type MethodFn = fn(&Env, &[i64], &[Value], &Map<String, Value>) -> Result<Value>;

/// One registered method.
pub struct MethodEntry {
    model: &'static str,
    name: &'static str,
    constrains: &'static [&'static str],
    call: MethodFn,
}

impl MethodEntry {
    /// The entry for a `#[method]` function.
    pub const fn of<M: Method>() -> MethodEntry {
        MethodEntry {
            model: M::MODEL,
            name: M::NAME,
            constrains: M::CONSTRAINS,
            call: M::call,
        }
    }
}

/// The addon's description as JSON.
pub fn describe(def: &AddonDef) -> String {
    let description = Description {
        models: (def.models)(),
        methods: def
            .methods
            .iter()
            .map(|m| MethodSpec {
                model: m.model.to_string(),
                name: m.name.to_string(),
                constrains: m.constrains.iter().map(|f| f.to_string()).collect(),
            })
            .collect(),
        routes: def
            .routes
            .iter()
            .map(|r| RouteSpec {
                name: r.name.to_string(),
                method: r.method.to_string(),
                path: r.path.to_string(),
                auth: r.auth,
                max_body: r.max_body,
            })
            .collect(),
        events: def
            .events
            .iter()
            .map(|e| pulse_schema::EventSpec {
                name: e.name.to_string(),
                model: e.model.to_string(),
                on: e.on.to_vec(),
                domain: e
                    .domain
                    .map(|d| serde_json::from_str(d).expect("checked when the addon was built")),
                fields: e.fields.iter().map(|f| f.to_string()).collect(),
            })
            .collect(),
        auth_policy: def.auth_policy.is_some(),
        crons: def
            .crons
            .iter()
            .map(|c| CronSpec {
                job: c.job.to_string(),
                name: c.name.to_string(),
                interval_number: c.interval_number,
                interval_type: c.interval_type.to_string(),
            })
            .collect(),
    };
    serde_json::to_string(&description).expect("a description always serializes")
}

/// Runs an optional hook.
pub fn run_hook(hook: Option<HookFn>) -> std::result::Result<(), WitError> {
    match hook {
        Some(hook) => hook(&Env::new()).map_err(WitError::from),
        None => Ok(()),
    }
}

/// Runs the optional migrate hook.
pub fn run_migrate(
    hook: Option<MigrateFn>,
    from: &str,
    to: &str,
) -> std::result::Result<(), WitError> {
    match hook {
        Some(hook) => hook(&Env::new(), from, to).map_err(WitError::from),
        None => Ok(()),
    }
}

/// Dispatches a method call from the host, with the context it was made in.
pub fn call_method(
    def: &AddonDef,
    context: WitContext,
    model: &str,
    method: &str,
    ids: &[i64],
    args: &str,
    kwargs: &str,
) -> std::result::Result<String, WitError> {
    let entry = def
        .methods
        .iter()
        .find(|m| m.model == model && m.name == method)
        .ok_or_else(|| {
            WitError::from(Error::User(format!(
                "The method '{method}' does not exist on the model '{model}'"
            )))
        })?;
    let args: Vec<Value> = parse_json(args, "args", "[]")?;
    let kwargs: Map<String, Value> = parse_json(kwargs, "kwargs", "{}")?;
    let env = Env::new().with_context(context_of(context)?);
    let result = (entry.call)(&env, ids, &args, &kwargs).map_err(WitError::from)?;
    Ok(result.to_string())
}

fn parse_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &str,
    when_empty: &str,
) -> std::result::Result<T, WitError> {
    let text = if text.trim().is_empty() {
        when_empty
    } else {
        text
    };
    serde_json::from_str(text).map_err(|e| WitError::Internal(format!("bad {what}: {e}")))
}

/// Decodes the positional or keyword argument `index`/`name` of a method.
pub fn argument<T: serde::de::DeserializeOwned>(
    args: &[Value],
    kwargs: &Map<String, Value>,
    index: usize,
    name: &str,
) -> Result<T> {
    let value = args
        .get(index)
        .or_else(|| kwargs.get(name))
        .cloned()
        .unwrap_or(Value::Null);
    serde_json::from_value(value)
        .map_err(|e| Error::User(format!("argument '{name}' (position {index}): {e}")))
}

/// Encodes a method's result.
pub fn result_value<T: serde::Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(format!("result: {e}")))
}

/// Reads one field of a record for `#[derive(Model)]`.
pub fn field<T: crate::FieldValue>(
    record: &Map<String, Value>,
    model: &str,
    name: &str,
) -> Result<T> {
    let value = record.get(name).unwrap_or(&Value::Bool(false));
    T::from_json(value).map_err(|e| Error::Internal(format!("{model}.{name}: {e}")))
}

/// The JSON of a builder setter's value or of a `#[field(default = …)]`,
/// checked against the field's type when the addon compiles.
pub fn value_of<T: crate::FieldValue>(value: impl crate::IntoField<T>) -> Value {
    crate::field::json_of(value)
}

/// The error of a create builder that misses a required field.
pub fn missing_field(model: &str, builder: &str, field: &str) -> Error {
    Error::Validation(format!(
        "{model}: the required field '{field}' is not set; set it with {builder}.{field}(…)"
    ))
}

// What `addon!` implements for each item it lists, and what each item's
// own macro requires: an item left out fails to compile with the
// message of its kind. Written out (not generated by a macro) so the
// compiler's notes point at one plain line.

/// A model listed in `addon!`'s `models`.
#[diagnostic::on_unimplemented(
    message = "the model `{Self}` is not registered in `pulse_sdk::addon!`",
    label = "add `{Self}` to addon!'s `models: [...]`",
    note = "addon! lists every model, method, route, cron job, event handler and authentication policy of the crate"
)]
pub trait RegisteredModel {}

/// Compiles only if `T` is listed in `addon!`.
pub const fn registered_model<T: RegisteredModel>() {}

/// A method listed in `addon!`'s `methods`.
#[diagnostic::on_unimplemented(
    message = "the method `{Self}` is not registered in `pulse_sdk::addon!`",
    label = "add `{Self}` to addon!'s `methods: [...]`",
    note = "addon! lists every model, method, route, cron job, event handler and authentication policy of the crate"
)]
pub trait RegisteredMethod {}

/// Compiles only if `T` is listed in `addon!`.
pub const fn registered_method<T: RegisteredMethod>() {}

/// A route listed in `addon!`'s `routes`.
#[diagnostic::on_unimplemented(
    message = "the route `{Self}` is not registered in `pulse_sdk::addon!`",
    label = "add `{Self}` to addon!'s `routes: [...]`",
    note = "addon! lists every model, method, route, cron job, event handler and authentication policy of the crate"
)]
pub trait RegisteredRoute {}

/// Compiles only if `T` is listed in `addon!`.
pub const fn registered_route<T: RegisteredRoute>() {}

/// A scheduled job listed in `addon!`'s `crons`.
#[diagnostic::on_unimplemented(
    message = "the cron job `{Self}` is not registered in `pulse_sdk::addon!`",
    label = "add `{Self}` to addon!'s `crons: [...]`",
    note = "addon! lists every model, method, route, cron job, event handler and authentication policy of the crate"
)]
pub trait RegisteredCron {}

/// Compiles only if `T` is listed in `addon!`.
pub const fn registered_cron<T: RegisteredCron>() {}

/// An event handler listed in `addon!`'s `events`.
#[diagnostic::on_unimplemented(
    message = "the event handler `{Self}` is not registered in `pulse_sdk::addon!`",
    label = "add `{Self}` to addon!'s `events: [...]`",
    note = "addon! lists every model, method, route, cron job, event handler and authentication policy of the crate"
)]
pub trait RegisteredEvent {}

/// Compiles only if `T` is listed in `addon!`.
pub const fn registered_event<T: RegisteredEvent>() {}

/// The authentication policy named by `addon!`'s `auth_policy`.
#[diagnostic::on_unimplemented(
    message = "the authentication policy `{Self}` is not registered in `pulse_sdk::addon!`",
    label = "name it in addon!: `auth_policy: {Self}`",
    note = "addon! lists every model, method, route, cron job, event handler and authentication policy of the crate"
)]
pub trait RegisteredAuthPolicy {}

/// Compiles only if `T` is listed in `addon!`.
pub const fn registered_auth_policy<T: RegisteredAuthPolicy>() {}

/// Reads a `#[derive(Selection)]` enum from its stored value.
pub fn selection_from_json<S: crate::Selection>(value: &Value) -> std::result::Result<S, String> {
    let options = || {
        S::OPTIONS
            .iter()
            .map(|(v, _)| *v)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match value {
        Value::String(text) => S::from_value(text)
            .ok_or_else(|| format!("'{text}' is not one of the options ({})", options())),
        Value::Bool(false) | Value::Null => Err(format!(
            "no option is set (one of {}); read the field as an Option",
            options()
        )),
        other => Err(format!("expected one of {}, got {other}", options())),
    }
}

#[cfg(test)]
mod selection_tests {
    use super::selection_from_json;
    use serde_json::json;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum State {
        Draft,
        Posted,
    }

    impl crate::Selection for State {
        const OPTIONS: &'static [(&'static str, &'static str)] =
            &[("draft", "Draft"), ("posted", "Posted")];
        fn value(&self) -> &'static str {
            match self {
                State::Draft => "draft",
                State::Posted => "posted",
            }
        }
        fn from_value(value: &str) -> Option<Self> {
            match value {
                "draft" => Some(State::Draft),
                "posted" => Some(State::Posted),
                _ => None,
            }
        }
    }

    #[test]
    fn a_stored_value_outside_the_options_is_an_error_naming_them() {
        assert_eq!(
            selection_from_json::<State>(&json!("posted")),
            Ok(State::Posted)
        );
        let e = selection_from_json::<State>(&json!("Posted")).unwrap_err();
        assert!(e.contains("draft, posted"), "{e}");
        assert!(selection_from_json::<State>(&json!(false)).is_err());
        assert!(selection_from_json::<State>(&json!(1)).is_err());
    }

    #[test]
    fn a_missing_required_field_names_the_setter() {
        let e = super::missing_field("todo.task", "Task::create()", "name");
        assert_eq!(
            e.to_string(),
            "validation error: todo.task: the required field 'name' is not set; set it with Task::create().name(…)"
        );
    }
}
