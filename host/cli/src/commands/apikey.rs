//! `pulse apikey`: create, list and revoke the API keys RPC clients use.

use anyhow::Result;
use pulse_core::Host;

/// Arguments of `pulse apikey`: `LOGIN NAME` creates a key, `--list` and
/// `--revoke` do the rest.
#[derive(Debug, clap::Args)]
pub struct Apikey {
    /// The user's login.
    #[arg(required_unless_present_any = ["list", "revoke"], conflicts_with_all = ["list", "revoke"])]
    pub login: Option<String>,
    /// What the key is for (e.g. "nightly export").
    #[arg(required_unless_present_any = ["list", "revoke"])]
    pub name: Option<String>,
    /// When the key stops working: a date (2027-01-01), a datetime or a duration (90d).
    #[arg(long, conflicts_with_all = ["list", "revoke"])]
    pub expires: Option<String>,
    /// List the keys of this user.
    #[arg(long, value_name = "LOGIN", conflicts_with = "revoke")]
    pub list: Option<String>,
    /// Revoke the key with this id or name.
    #[arg(long, value_name = "NAME_OR_ID")]
    pub revoke: Option<String>,
}

/// `pulse apikey`.
pub async fn run(host: &Host, args: &Apikey) -> Result<()> {
    if let Some(login) = &args.list {
        for key in host.api_keys(login).await? {
            println!(
                "{}\t{}\tcreated {}\texpires {}",
                key.id,
                key.name,
                key.create_date.as_deref().unwrap_or("-"),
                key.expiration_date.as_deref().unwrap_or("never"),
            );
        }
    } else if let Some(name_or_id) = &args.revoke {
        let key = host.revoke_api_key(name_or_id).await?;
        println!(
            "revoked: API key {} ({}) of {}",
            key.id, key.name, key.login
        );
    } else if let (Some(login), Some(name)) = (&args.login, &args.name) {
        let key = host
            .create_api_key(login, name, args.expires.as_deref())
            .await?;
        println!("API key for {login} ({name}), shown once; keep it safe:\n{key}");
    }
    Ok(())
}
