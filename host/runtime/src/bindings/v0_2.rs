//! `pulse:addon@0.2.0`, the current contract (`wit/0.2.0`): the context
//! travels with every ORM and method call, the ORM has `search-read`,
//! `read-group` and `name-search`, the caller's identity is an import and
//! outbound HTTP is typed.

use pulse_schema::{Context, WireContext};
use wasmtime::Store;
use wasmtime::component::Instance;

use super::super::{
    Exception, GroupQuery, HostState, HttpRequest, LoginAttempt, LoginDecision, MethodCall,
    NameQuery, OrmBackend, RecordEvent, RouteRequest, RouteResponse, SearchQuery,
};
use super::{Hook, LogLevel};

wasmtime::component::bindgen!({
    path: "../../wit/0.2.0",
    world: "pulse:addon/addon@0.2.0",
    imports: { default: async },
    exports: { default: async },
});

use exports::pulse::addon as guest;
use pulse::addon::types::{Context as WitContext, Error as WitError};

same_in_every_version!(
    method_context: (wit_context),
    added: {
        events: guest::events::GuestIndices,
        auth_policy: guest::auth_policy::GuestIndices,
        cron: guest::cron::GuestIndices,
    },
);

/// The context an addon passed, in the host's type.
fn context_of(ctx: WitContext) -> Result<Context, Exception> {
    Context::from_wire(WireContext {
        lang: ctx.lang,
        tz: ctx.tz,
        active_test: ctx.active_test,
        company_id: ctx.company_id,
        extra: ctx.extra,
    })
    .map_err(|e| Exception::User(e.to_string()))
}

/// The context a method is called with, in the WIT's type.
fn wit_context(ctx: &Context) -> WitContext {
    let wire = ctx.to_wire();
    WitContext {
        lang: wire.lang,
        tz: wire.tz,
        active_test: wire.active_test,
        company_id: wire.company_id,
        extra: wire.extra,
    }
}

orm_imports! {
    context(self, ctx: WitContext) = context_of(ctx)?;
    fn search_read(model: String, domain: String, fields: Vec<String>, offset: u32,
        limit: Option<u32>, order: Option<String>) -> String
        = |orm, context| orm.search_read(context, &model,
            &SearchQuery { domain: &domain, offset, limit, order: order.as_deref() }, &fields);
    fn read_group(model: String, domain: String, fields: Vec<String>, groupby: Vec<String>,
        offset: u32, limit: Option<u32>, orderby: Option<String>, lazy: bool) -> String
        = |orm, context| orm.read_group(context, &model, &GroupQuery { domain: &domain,
            fields: &fields, groupby: &groupby, offset, limit, orderby: orderby.as_deref(), lazy });
    fn name_search(model: String, name: String, domain: String, operator: String,
        limit: Option<u32>) -> Vec<(i64, String)>
        = |orm, context| orm.name_search(context, &model,
            &NameQuery { name: &name, domain: &domain, operator: &operator, limit });
}

impl<B: OrmBackend> pulse::addon::identity::Host for HostState<B> {
    async fn current_user(&mut self) -> Result<pulse::addon::identity::User, WitError> {
        let _busy = self.host_call();
        let user = self.orm.current_user().await?;
        Ok(pulse::addon::identity::User {
            uid: user.uid,
            groups: user.groups,
            company_id: user.company_id,
        })
    }
}

impl<B: OrmBackend> pulse::addon::http::Host for HostState<B> {
    async fn fetch(
        &mut self,
        request: pulse::addon::http::Request,
    ) -> Result<pulse::addon::http::Response, WitError> {
        let _busy = self.host_call();
        let request = HttpRequest {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
        };
        let response = self.orm.http_fetch(&request).await?;
        Ok(pulse::addon::http::Response {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }
}

/// The exports 0.2 added: record events, the authentication policy and
/// scheduled jobs (their indices are fields of [`Exports`]).
impl Exports {
    pub(super) async fn on_event<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        context: &Context,
        event: &RecordEvent,
    ) -> wasmtime::Result<Result<(), Exception>> {
        use guest::events::{EventKind as WitKind, RecordEvent as WitEvent};
        let event = WitEvent {
            handler: event.handler.clone(),
            model: event.model.clone(),
            kind: match event.kind {
                pulse_schema::EventKind::Create => WitKind::Create,
                pulse_schema::EventKind::Write => WitKind::Write,
                pulse_schema::EventKind::Unlink => WitKind::Unlink,
            },
            ids: event.ids.clone(),
            fields: event.fields.clone(),
            old_values: event.old_values.clone(),
            new_values: event.new_values.clone(),
            uid: event.uid,
        };
        self.events
            .load(&mut *store, instance)?
            .call_on_event(store, &wit_context(context), &event)
            .await
            .map(|r| r.map_err(Exception::from))
    }

    pub(super) async fn check_login<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        attempt: &LoginAttempt,
    ) -> wasmtime::Result<Result<LoginDecision, Exception>> {
        use guest::auth_policy::{Decision, LoginAttempt as WitAttempt};
        let attempt = WitAttempt {
            login: attempt.login.clone(),
            uid: attempt.uid,
            groups: attempt.groups.clone(),
            address: attempt.address.clone(),
            door: attempt.door.clone(),
            second_factor: attempt.second_factor.clone(),
        };
        let answer = self
            .auth_policy
            .load(&mut *store, instance)?
            .call_check(store, &attempt)
            .await?;
        Ok(answer
            .map(|decision| match decision {
                Decision::Allow => LoginDecision::Allow,
                Decision::Refuse(why) => LoginDecision::Refuse(why),
                Decision::SecondFactor(which) => LoginDecision::SecondFactor(which),
            })
            .map_err(Exception::from))
    }

    pub(super) async fn run_cron<B: OrmBackend>(
        &self,
        store: &mut Store<HostState<B>>,
        instance: &Instance,
        context: &Context,
        job: &str,
        scheduled: &str,
    ) -> wasmtime::Result<Result<(), Exception>> {
        self.cron
            .load(&mut *store, instance)?
            .call_run(store, &wit_context(context), job, scheduled)
            .await
            .map(|r| r.map_err(Exception::from))
    }
}
