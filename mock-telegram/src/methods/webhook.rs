//! setWebhook, deleteWebhook and getWebhookInfo: switching a bot between long polling and webhook delivery.
//!
//! The delivery itself lives in `crate::delivery`. Webhooks may only point at loopback: the mock never sends
//! traffic off this machine.

use super::{Call, Reply};
use crate::bot::{lock, Webhook};
use crate::error::ApiError;
use crate::wire::WebhookInfo;

pub fn set_webhook(call: Call<'_>) -> Result<Reply, ApiError> {
    let url = call.params.str("url").unwrap_or("").trim().to_owned();
    if url.is_empty() {
        return remove(&call);
    }
    let target = loopback_target(&url, call.server.config.webhook_https_to_http)?;
    let secret_token = call.params.str("secret_token").filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(secret) = &secret_token {
        if secret.len() > 256 {
            return Err(ApiError::bad_request("secret token is too long"));
        }
        if !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(ApiError::bad_request("secret token contains unallowed characters"));
        }
    }
    let max_connections = call.params.i64("max_connections")?.unwrap_or(40).clamp(1, 100) as u32;
    call.bot.updates.set_allowed(call.params.json("allowed_updates")?);
    if call.params.bool("drop_pending_updates")?.unwrap_or(false) {
        call.bot.updates.drop_all();
    }
    let webhook = Webhook { url, secret_token, max_connections };
    let generation = {
        let mut state = lock(&call.bot.webhook);
        if state.current.as_ref() == Some(&webhook) {
            return Ok(Reply::described("Webhook is already set"));
        }
        state.current = Some(webhook);
        state.generation += 1;
        state.last_error = None;
        state.generation
    };
    // A parked long poll ends with "terminated by setWebhook request".
    call.bot.updates.terminate_polls();
    crate::delivery::spawn(call.server.clone(), call.bot.clone(), generation, target);
    Ok(Reply::described("Webhook was set"))
}

pub fn delete_webhook(call: Call<'_>) -> Result<Reply, ApiError> {
    remove(&call)
}

fn remove(call: &Call<'_>) -> Result<Reply, ApiError> {
    if call.params.bool("drop_pending_updates")?.unwrap_or(false) {
        call.bot.updates.drop_all();
    }
    let mut state = lock(&call.bot.webhook);
    if state.current.take().is_none() {
        return Ok(Reply::described("Webhook is already deleted"));
    }
    state.generation += 1;
    drop(state);
    // Wakes the delivery task so it sees the change and stops.
    call.bot.updates.changed.notify_waiters();
    Ok(Reply::described("Webhook was deleted"))
}

pub fn get_webhook_info(call: Call<'_>) -> Result<Reply, ApiError> {
    let state = lock(&call.bot.webhook);
    let info = WebhookInfo {
        url: state.current.as_ref().map(|w| w.url.clone()).unwrap_or_default(),
        has_custom_certificate: false,
        pending_update_count: call.bot.updates.len(),
        last_error_date: state.last_error.as_ref().map(|(date, _)| *date),
        last_error_message: state.last_error.as_ref().map(|(_, message)| message.clone()),
        max_connections: state.current.as_ref().map(|w| w.max_connections),
        allowed_updates: call.bot.updates.allowed(),
    };
    Ok(Reply::json(&info))
}

/// The URL the mock will POST to: the registered one, checked to be on loopback, with https rewritten to http
/// when the mock is told to (it has no TLS listener to talk to).
pub fn loopback_target(url: &str, https_to_http: bool) -> Result<reqwest::Url, ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("bad webhook: {why}"));
    let mut target = reqwest::Url::parse(url).map_err(|_| bad("invalid URL"))?;
    let loopback = match target.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    if !loopback {
        return Err(bad("mock-telegram delivers webhooks to loopback addresses only"));
    }
    match target.scheme() {
        "http" => {}
        "https" if https_to_http => {
            let port = target.port_or_known_default();
            target.set_scheme("http").map_err(|()| bad("invalid URL"))?;
            target.set_port(port).map_err(|()| bad("invalid URL"))?;
        }
        "https" => return Err(bad("https webhooks need --webhook-https-to-http: the mock has no TLS listener")),
        _ => return Err(bad("unsupported URL protocol")),
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted() {
        let target = |url: &str| loopback_target(url, true).map(|u| u.to_string()).map_err(|e| e.description);
        assert_eq!(target("http://127.0.0.1:8080/hook").unwrap(), "http://127.0.0.1:8080/hook");
        assert_eq!(target("https://127.0.0.1:8443/x").unwrap(), "http://127.0.0.1:8443/x");
        assert_eq!(target("https://localhost/x").unwrap(), "http://localhost:443/x");
        assert!(target("http://10.0.0.1/hook").is_err());
        assert!(target("http://example.com/hook").is_err());
        assert!(target("ftp://127.0.0.1/hook").is_err());
        assert!(loopback_target("https://127.0.0.1/x", false).is_err());
    }
}
