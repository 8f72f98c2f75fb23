//! The one `bindgen!` site of the host, and the host's side of the WIT
//! imports: the ORM (forwarded to the call's [`OrmBackend`]) and the log.

use super::{AddonError, HostState, MAX_LOG_LINE, OrmBackend};
use wasmtime::component::{HasData, Linker};

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "pulse:addon/addon@0.1.0",
    imports: { default: async },
    exports: { default: async },
});

pub use pulse::addon::types::Error as WitError;

impl From<WitError> for AddonError {
    fn from(e: WitError) -> AddonError {
        match e {
            WitError::AccessError(m) => AddonError::Access(m),
            WitError::Validation(m) => AddonError::Validation(m),
            WitError::MissingRecord(m) => AddonError::Missing(m),
            WitError::UserError(m) => AddonError::User(m),
            WitError::Internal(m) => AddonError::Internal(m),
        }
    }
}

impl From<AddonError> for WitError {
    fn from(e: AddonError) -> WitError {
        match e {
            AddonError::Access(m) => WitError::AccessError(m),
            AddonError::Validation(m) => WitError::Validation(m),
            AddonError::Missing(m) => WitError::MissingRecord(m),
            AddonError::User(m) => WitError::UserError(m),
            AddonError::Internal(m) => WitError::Internal(m),
        }
    }
}

struct HostImports<B>(std::marker::PhantomData<B>);

impl<B: OrmBackend> HasData for HostImports<B> {
    type Data<'a> = &'a mut HostState<B>;
}

/// Adds the `pulse:addon` imports to `linker`.
pub fn add_to_linker<B: OrmBackend>(linker: &mut Linker<HostState<B>>) -> wasmtime::Result<()> {
    Addon::add_to_linker::<HostState<B>, HostImports<B>>(linker, |state| state)
}

impl<B: OrmBackend> pulse::addon::types::Host for HostState<B> {}

impl<B: OrmBackend> pulse::addon::orm::Host for HostState<B> {
    async fn search(
        &mut self,
        model: String,
        domain: String,
        offset: u32,
        limit: Option<u32>,
        order: Option<String>,
    ) -> Result<Vec<i64>, WitError> {
        let _busy = self.host_call();
        Ok(self
            .orm
            .search(&model, &domain, offset, limit, order.as_deref())
            .await?)
    }

    async fn search_count(&mut self, model: String, domain: String) -> Result<u64, WitError> {
        let _busy = self.host_call();
        Ok(self.orm.search_count(&model, &domain).await?)
    }

    async fn read(
        &mut self,
        model: String,
        ids: Vec<i64>,
        fields: Vec<String>,
    ) -> Result<String, WitError> {
        let _busy = self.host_call();
        Ok(self.orm.read(&model, &ids, &fields).await?)
    }

    async fn create(&mut self, model: String, rows: String) -> Result<Vec<i64>, WitError> {
        let _busy = self.host_call();
        Ok(self.orm.create(&model, &rows).await?)
    }

    async fn write(
        &mut self,
        model: String,
        ids: Vec<i64>,
        values: String,
    ) -> Result<(), WitError> {
        let _busy = self.host_call();
        Ok(self.orm.write(&model, &ids, &values).await?)
    }

    async fn unlink(&mut self, model: String, ids: Vec<i64>) -> Result<(), WitError> {
        let _busy = self.host_call();
        Ok(self.orm.unlink(&model, &ids).await?)
    }

    async fn call(
        &mut self,
        model: String,
        method: String,
        ids: Vec<i64>,
        args: String,
        kwargs: String,
    ) -> Result<String, WitError> {
        let _busy = self.host_call();
        Ok(self.orm.call(&model, &method, &ids, &args, &kwargs).await?)
    }

    async fn call_super(
        &mut self,
        ids: Vec<i64>,
        args: String,
        kwargs: String,
    ) -> Result<String, WitError> {
        let _busy = self.host_call();
        Ok(self.orm.call_super(&ids, &args, &kwargs).await?)
    }

    async fn sudo(&mut self, on: bool) -> Result<(), WitError> {
        let _busy = self.host_call();
        Ok(self.orm.sudo(on).await?)
    }
}

impl<B: OrmBackend> pulse::addon::http::Host for HostState<B> {
    async fn fetch(&mut self, request: String) -> Result<String, WitError> {
        let _busy = self.host_call();
        Ok(self.orm.http_fetch(&request).await?)
    }
}

impl<B: OrmBackend> pulse::addon::log::Host for HostState<B> {
    async fn log(&mut self, level: pulse::addon::log::Level, mut message: String) {
        use pulse::addon::log::Level;
        if !self.may_log() {
            return;
        }
        if message.len() > MAX_LOG_LINE {
            let total = message.len();
            let cut = (0..=MAX_LOG_LINE)
                .rev()
                .find(|i| message.is_char_boundary(*i))
                .unwrap_or(0);
            message.truncate(cut);
            message.push_str(&format!(
                "… (cut: {total} bytes, more than the {MAX_LOG_LINE} a line may hold)"
            ));
        }
        let addon = &*self.addon;
        match level {
            Level::Trace => tracing::trace!(addon, "{message}"),
            Level::Debug => tracing::debug!(addon, "{message}"),
            Level::Info => tracing::info!(addon, "{message}"),
            Level::Warn => tracing::warn!(addon, "{message}"),
            Level::Error => tracing::error!(addon, "{message}"),
        }
    }
}
