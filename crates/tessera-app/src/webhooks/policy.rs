//! Where deliveries may go: `https://` outside loopback and private networks, unless the settings allow them
//! (tests, local development). Checked at registration on the URL, and at each delivery on the resolved
//! addresses.

use std::net::IpAddr;

use tessera_domain::FieldError;

use crate::{AppError, AppResult};

pub(super) fn check_url(
    raw: &str,
    settings: &tessera_config::WebhookSettings,
) -> AppResult<reqwest::Url> {
    let refuse = |code: &'static str, message: &str| {
        AppError::invalid("url", FieldError::new("", code, message))
    };
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| refuse("invalid_url", "not a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        _ => return Err(refuse("insecure_url", "the URL must start with https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(
            "invalid_url",
            "credentials in the URL are not accepted",
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| refuse("invalid_url", "the URL has no host"))?;
    if raw.len() > 2048 {
        return Err(refuse("too_long", "at most 2048 characters"));
    }
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    let local_name = host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost");
    if !settings.allow_private_networks && (local_name || literal.is_some_and(|ip| !is_public(ip)))
    {
        return Err(refuse(
            "private_address",
            "the URL points to a loopback or private network",
        ));
    }
    Ok(url)
}

/// True for addresses on the public internet.
pub(super) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
