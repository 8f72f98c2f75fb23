//! Authentication policies: on every login whose credentials are right,
//! the addons that declare a policy in their description are asked, in
//! load order, whether it may go on ([`Host::check_login`]). One refusal
//! refuses; otherwise one demand for a second factor asks for it. A
//! policy that fails (an error, a trap, a timeout, a missing component)
//! refuses: the door fails closed, and the failure is logged.

use std::net::IpAddr;
use std::sync::Arc;

use pulse_runtime::LoginAttempt;
pub use pulse_runtime::LoginDecision;

use crate::access::Access;
use crate::error::Error;
use crate::{Host, TxOrm};

/// Where a login happens, as a policy is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginDoor {
    /// `/web/session/authenticate`.
    Web,
    /// The XML-RPC and JSON-RPC services (a password or an API key).
    Rpc,
    /// A bearer API key (JSON-2).
    ApiKey,
}

impl LoginDoor {
    /// The name a policy sees: `web`, `rpc` or `api-key`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginDoor::Web => "web",
            LoginDoor::Rpc => "rpc",
            LoginDoor::ApiKey => "api-key",
        }
    }
}

impl Host {
    /// Whether any installed addon has an authentication policy.
    pub fn has_login_policies(&self) -> bool {
        !self.snapshot().auth_policies.is_empty()
    }

    /// Asks the authentication policies about the login `login` of user
    /// `uid` from `address` at `door` (with the second factor the client
    /// sent, if any). Each policy runs in a transaction of its own, with
    /// its addon's rights, committed when it answers (what it recorded
    /// about the attempt stays) and rolled back when it fails.
    #[crate::boxed]
    pub async fn check_login(
        &self,
        login: &str,
        uid: i64,
        address: IpAddr,
        door: LoginDoor,
        second_factor: Option<&str>,
    ) -> Result<LoginDecision, Error> {
        self.refresh().await?;
        let snapshot = self.snapshot();
        if snapshot.auth_policies.is_empty() {
            return Ok(LoginDecision::Allow);
        }
        let groups = {
            let mut conn = self.db.pool.acquire().await?;
            let access = Access::of_user(&mut conn, uid).await?;
            crate::access::user_of(&mut conn, &access, None)
                .await?
                .groups
        };
        let attempt = LoginAttempt {
            login: login.to_string(),
            uid,
            groups,
            address: address.to_string(),
            door: door.as_str().to_string(),
            second_factor: second_factor.map(str::to_string),
        };
        let mut decision = LoginDecision::Allow;
        for addon in &snapshot.auth_policies {
            let answer = self.ask_policy(&snapshot, addon, &attempt).await;
            let said = match answer {
                Ok(said) => said,
                Err(why) => {
                    tracing::error!(addon = %addon, login = %shown(login), %address, error = %why, "an authentication policy failed; the login is refused");
                    LoginDecision::Refuse(format!(
                        "the authentication policy of addon '{addon}' failed"
                    ))
                }
            };
            match said {
                LoginDecision::Allow => {}
                LoginDecision::Refuse(why) => {
                    tracing::warn!(addon = %addon, login = %shown(login), %address, reason = %why, "login refused by an authentication policy");
                    return Ok(LoginDecision::Refuse(why));
                }
                second @ LoginDecision::SecondFactor(_) => {
                    if decision == LoginDecision::Allow {
                        decision = second;
                    }
                }
            }
        }
        Ok(decision)
    }

    /// One policy's answer, or why it has none.
    async fn ask_policy(
        &self,
        snapshot: &Arc<crate::Snapshot>,
        addon: &str,
        attempt: &LoginAttempt,
    ) -> Result<LoginDecision, String> {
        let (Some(component), Some(scope)) =
            (snapshot.addons.get(addon), snapshot.scopes.get(addon))
        else {
            return Err("its component is not available".into());
        };
        let tx = self.db.pool.begin().await.map_err(|e| e.to_string())?;
        let orm = pulse_orm::Orm::new(self.db.dialect, snapshot.registry.clone());
        let session = TxOrm::new(tx, orm, Some(snapshot.clone()))
            .acting_as(scope.clone(), "auth_policy")
            .await
            .map_err(|e| e.to_string())?;
        let span = tracing::info_span!("auth_policy", addon = %addon);
        let (answer, session) =
            tracing::Instrument::instrument(component.check_login(session, attempt), span).await;
        crate::metrics::metrics().addon_call(addon, crate::metrics::outcome(&answer));
        let decision = answer.map_err(|e| e.to_string())?;
        session.commit().await.map_err(|e| e.to_string())?;
        Ok(decision)
    }
}

/// The most of a login a log line shows.
fn shown(login: &str) -> String {
    login.chars().take(64).collect()
}
