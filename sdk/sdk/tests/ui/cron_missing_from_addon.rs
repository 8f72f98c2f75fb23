//! A scheduled job left out of `addon!` does not compile.
use pulse_sdk::prelude::*;

#[cron(name = "Nightly close", interval = "1 days")]
pub fn nightly(_env: &Env, _scheduled: String) -> Result<()> {
    Ok(())
}

pulse_sdk::addon! {
    models: [],
}

fn main() {}
